//! Replaying the OASIS KMIP profile test vectors (`shared/kmip-vectors/`, KMIP XML encoding)
//! against a running server and comparing every response with the vector's.
//!
//! - [`Vector::load`] reads a file into request/response template pairs ([`template`]).
//! - [`replay`] sends each request in order over a [`Transport`], decodes the answer and
//!   compares it with [`compare::Session`] (the tolerance rules are documented there).
//! - [`scope`] sorts the files by profile family and says which must pass, which are replayed
//!   without being required yet, and why the few skipped ones are skipped; [`errata`] corrects
//!   the known mistakes of the files.
//! - [`report`] prints one line per file, the counts per family and the summary.

pub mod compare;
pub mod errata;
pub mod replay;
pub mod report;
pub mod scope;
pub mod template;

use std::path::{Path, PathBuf};

use kmip_codec::tags::Tag;

use crate::error::Error;
pub use compare::{Difference, Session};
pub use replay::{Failure, Outcome, Transport, replay};
pub use report::{FamilySummary, FileReport, Summary};
pub use template::{Node, Placeholder};

/// One request and the response the vector expects for it.
#[derive(Clone, Debug)]
pub struct Step {
    /// The Request Message, placeholders unfilled.
    pub request: Node,
    /// The expected Response Message.
    pub response: Node,
}

/// A parsed vector file.
#[derive(Clone, Debug)]
pub struct Vector {
    /// The file name (`SKLC-M-1-10.xml`).
    pub name: String,
    /// Its request/response pairs in order.
    pub steps: Vec<Step>,
}

impl Vector {
    /// Reads and parses a vector file.
    pub fn load(path: &Path) -> Result<Vector, Error> {
        let xml = std::fs::read_to_string(path).map_err(|source| Error::File {
            what: "reading",
            path: path.to_owned(),
            source,
        })?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Vector::from_xml(name, &xml)
    }

    /// Parses a vector document: Request Message, Response Message, alternating.
    pub fn from_xml(name: String, xml: &str) -> Result<Vector, Error> {
        let nodes = template::parse(xml)?;
        let mut steps = Vec::with_capacity(nodes.len() / 2);
        let mut items = nodes.into_iter().enumerate();
        while let Some((index, request)) = items.next() {
            expect_tag(index, &request, Tag::REQUEST_MESSAGE)?;
            let (index, response) = items.next().ok_or(Error::UnpairedRequest)?;
            expect_tag(index, &response, Tag::RESPONSE_MESSAGE)?;
            steps.push(Step { request, response });
        }
        errata::apply(&name, &mut steps)?;
        Ok(Vector { name, steps })
    }
}

fn expect_tag(index: usize, node: &Node, expected: Tag) -> Result<(), Error> {
    if node.tag() == expected {
        Ok(())
    } else {
        Err(Error::VectorShape {
            index,
            expected,
            found: node.tag(),
        })
    }
}

/// The shared directory: `KMS_SHARED_DIR`, else `shared/` beside the checkout.
pub fn shared_dir() -> PathBuf {
    std::env::var_os("KMS_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"))
}

/// Every vector file under `<shared>/kmip-vectors/<version>/XML/{mandatory,optional}/`, sorted
/// by path.
pub fn discover(shared: &Path) -> Result<Vec<PathBuf>, Error> {
    let root = shared.join("kmip-vectors");
    let mut files = Vec::new();
    for version in read_dir(&root)? {
        for kind in ["mandatory", "optional"] {
            let dir = version.join("XML").join(kind);
            if !dir.is_dir() {
                continue;
            }
            files.extend(
                read_dir(&dir)?
                    .into_iter()
                    .filter(|p| p.extension().is_some_and(|e| e == "xml")),
            );
        }
    }
    files.sort();
    Ok(files)
}

fn read_dir(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let io = |source| Error::File {
        what: "listing",
        path: dir.to_owned(),
        source,
    };
    std::fs::read_dir(dir)
        .map_err(io)?
        .map(|e| e.map(|e| e.path()).map_err(io))
        .collect()
}

/// The current time in Unix seconds.
pub fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[cfg(test)]
mod runner_tests;
