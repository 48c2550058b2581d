//! Known mistakes in the OASIS vector files, corrected when a file is loaded. Each entry names
//! the file, the step, the message and the exact value it replaces; loading fails when the value
//! is not there, so the table cannot drift from the files.

use kmip_codec::tags::Tag;
use kmip_codec::ttlv::{Bytes, Ttlv, Value};

use super::Step;
use super::template::Node;
use crate::error::Error;

/// Which message of a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// The request.
    Request,
    /// The expected response.
    Response,
}

/// A value as the table writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Literal {
    /// An Integer.
    Integer(i32),
    /// A Byte String, in hex.
    Hex(&'static str),
}

impl Literal {
    fn value(self) -> Option<Value> {
        Some(match self {
            Literal::Integer(i) => Value::Integer(i),
            Literal::Hex(h) => Value::ByteString(Bytes::new(hex(h)?)),
        })
    }
}

/// One correction.
#[derive(Clone, Copy, Debug)]
pub struct Erratum {
    /// File name.
    pub file: &'static str,
    /// 1-based step.
    pub step: usize,
    /// Which message of the step.
    pub part: Part,
    /// The item's tag.
    pub tag: Tag,
    /// The value the file has.
    pub wrong: Literal,
    /// The value a conforming exchange has.
    pub right: Literal,
    /// Why.
    pub why: &'static str,
}

/// Why CS-BC-M-6-13 is corrected.
const CS_BC_M_6_13: &str = "the 1.3 file gives the ciphertext of CS-BC-M-1 (a random key); \
    AES-128-ECB of 0102...16 under the registered key 0123456789abcdef0123456789abcdef is \
    d9bcce11b0b437b90239552df3a360c9, as the 1.4, 2.0 and 2.1 files of the same case say";

/// The corrections.
pub const ERRATA: [Erratum; 3] = [
    Erratum {
        file: "OMOS-O-1-14.xml",
        step: 2,
        part: Part::Response,
        tag: Tag::PROTOCOL_VERSION_MINOR,
        wrong: Literal::Integer(3),
        right: Literal::Integer(4),
        why: "the Destroy response header says KMIP 1.3 for a 1.4 request; every other \
              response of the file, and KMIP 1.4 section 7.1, answer in the request's version",
    },
    Erratum {
        file: "CS-BC-M-6-13.xml",
        step: 2,
        part: Part::Response,
        tag: Tag::DATA,
        wrong: Literal::Hex("fd912d102dbb482f6f6e91bd57119095"),
        right: Literal::Hex("d9bcce11b0b437b90239552df3a360c9"),
        why: CS_BC_M_6_13,
    },
    Erratum {
        file: "CS-BC-M-6-13.xml",
        step: 3,
        part: Part::Request,
        tag: Tag::DATA,
        wrong: Literal::Hex("fd912d102dbb482f6f6e91bd57119095"),
        right: Literal::Hex("d9bcce11b0b437b90239552df3a360c9"),
        why: CS_BC_M_6_13,
    },
];

/// Applies the errata of file `name` to its steps.
pub fn apply(name: &str, steps: &mut [Step]) -> Result<(), Error> {
    for e in ERRATA.iter().filter(|e| e.file == name) {
        let not_found = || Error::ErratumNotFound {
            file: e.file,
            step: e.step,
        };
        let (Some(wrong), Some(right)) = (e.wrong.value(), e.right.value()) else {
            return Err(not_found());
        };
        let step = e
            .step
            .checked_sub(1)
            .and_then(|i| steps.get_mut(i))
            .ok_or_else(not_found)?;
        let node = match e.part {
            Part::Request => &mut step.request,
            Part::Response => &mut step.response,
        };
        if !replace(node, e.tag, &wrong, &right) {
            return Err(not_found());
        }
    }
    Ok(())
}

/// Replaces the first literal `tag` holding `wrong`.
fn replace(node: &mut Node, tag: Tag, wrong: &Value, right: &Value) -> bool {
    match node {
        Node::Literal(item) if item.tag == tag && item.value == *wrong => {
            *item = Ttlv::new(tag, right.clone());
            true
        }
        Node::Structure { children, .. } => {
            children.iter_mut().any(|c| replace(c, tag, wrong, right))
        }
        _ => false,
    }
}

fn hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}
