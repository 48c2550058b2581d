//! Replaying one vector file: fill each request, send it, decode the answer, compare.

use std::future::Future;
use std::path::Path;

use kmip_codec::enums::Operation;
use kmip_codec::limits::Limits;
use kmip_codec::tags::Tag;
use kmip_codec::ttlv::{Bytes, ItemType, Ttlv, Value, decode::decode, encode::encode};

use super::compare::{Difference, Session};
use super::scope::{Scope, classify};
use super::template::{Node, Placeholder};
use super::{Vector, unix_now};
use crate::error::Error;

/// Sends one encoded KMIP request and returns the encoded response (a fresh connection per call
/// is fine).
pub trait Transport {
    /// One request/response exchange.
    fn send_raw(&self, request: &[u8]) -> impl Future<Output = Result<Vec<u8>, Error>> + Send;
}

/// Why a file failed.
#[derive(Debug)]
pub enum Failure {
    /// The server's answer differs from the vector's.
    Differs {
        /// 1-based step (request/response pair).
        step: usize,
        /// The operation of the step's first batch item.
        operation: String,
        /// The first difference.
        difference: Difference,
    },
    /// The file could not be replayed (unreadable vector, connection failure, undecodable
    /// answer, a placeholder no response defined).
    Broken {
        /// 1-based step, 0 before the first.
        step: usize,
        /// What went wrong.
        error: Error,
    },
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Differs {
                step,
                operation,
                difference,
            } => write!(f, "step {step} ({operation}): {difference}"),
            Failure::Broken { step, error } => write!(f, "step {step}: {error}"),
        }
    }
}

/// The result of one file.
#[derive(Debug)]
pub enum Outcome {
    /// Every response matched.
    Passed {
        /// Number of request/response pairs.
        steps: usize,
    },
    /// A response differed or the replay broke.
    Failed(Failure),
    /// Not replayed, for this reason.
    Skipped(&'static str),
}

/// Replays a vector file unless it is skipped ([`classify`]): files in scope and files not yet
/// in scope alike. `None` for a path without a file name.
pub async fn replay_file(path: &Path, transport: &impl Transport) -> Option<Outcome> {
    let name = path.file_name()?.to_str()?;
    match classify(name) {
        Scope::Skipped(reason) => Some(Outcome::Skipped(reason)),
        Scope::In | Scope::NotYetInScope => Some(match Vector::load(path) {
            Ok(vector) => replay(&vector, transport).await,
            Err(error) => Outcome::Failed(Failure::Broken { step: 0, error }),
        }),
    }
}

/// Replays every step of `vector` in order and stops at the first difference.
pub async fn replay(vector: &Vector, transport: &impl Transport) -> Outcome {
    let mut session = Session::new(vector.steps.iter().map(|s| &s.request), unix_now());
    for (i, step) in vector.steps.iter().enumerate() {
        let number = i + 1;
        if is_harness_control(&step.request) {
            continue;
        }
        let broken = |error| {
            Outcome::Failed(Failure::Broken {
                step: number,
                error,
            })
        };
        let request = match session.request(&step.request, unix_now()) {
            Ok(r) => r,
            Err(e) => return broken(e),
        };
        let answer = match transport.send_raw(&encode(&request)).await {
            Ok(a) => a,
            Err(e) => return broken(e),
        };
        let got = match decode(&answer, &Limits::DEFAULT) {
            Ok(g) => g,
            Err(e) => return broken(Error::Decode(e)),
        };
        if let Err(difference) = session.check(&request, &step.response, &got, unix_now()) {
            return Outcome::Failed(Failure::Differs {
                step: number,
                operation: operation_name(&request),
                difference,
            });
        }
    }
    Outcome::Passed {
        steps: vector.steps.len(),
    }
}

/// True for a request made only of Interop batch items. Interop (KMIP 2.1 section 6.1.26) tells
/// a test server that a test case begins, ends or resets; the section says it "SHALL NOT be
/// available in a production server", so a conforming production server refuses it and the
/// vectors' Success answer to it cannot be a conformance target. Such steps carry no object
/// and feed no placeholder; they are not sent.
fn is_harness_control(request: &Node) -> bool {
    let Node::Structure { children, .. } = request else {
        return false;
    };
    let mut items = children
        .iter()
        .filter(|c| c.tag() == Tag::BATCH_ITEM)
        .peekable();
    items.peek().is_some()
        && items.all(|item| {
            matches!(
                item.child(Tag::OPERATION),
                Some(Node::Literal(Ttlv { value: Value::Enumeration(op), .. }))
                    if *op == Operation::INTEROP.0
            )
        })
}

/// The name of the first batch item's operation.
fn operation_name(request: &Ttlv) -> String {
    match request
        .child(Tag::BATCH_ITEM)
        .and_then(|b| b.child(Tag::OPERATION))
        .map(|o| &o.value)
    {
        Some(Value::Enumeration(op)) => format!("{:?}", Operation(*op))
            .trim_start_matches("Operation::")
            .to_owned(),
        _ => "?".to_owned(),
    }
}

/// Replays a vector offline against its own expected responses: each request is answered by
/// the next expected response with placeholders filled as a server might (fresh identifiers,
/// the current time). Useful to check the runner itself.
#[derive(Debug)]
pub struct Echo {
    responses: std::sync::Mutex<std::collections::VecDeque<Node>>,
}

impl Echo {
    /// An echo of `vector`'s expected responses.
    pub fn new(vector: &Vector) -> Self {
        Self {
            responses: std::sync::Mutex::new(
                vector
                    .steps
                    .iter()
                    .filter(|s| !is_harness_control(&s.request))
                    .map(|s| s.response.clone())
                    .collect(),
            ),
        }
    }
}

impl Transport for Echo {
    fn send_raw(&self, _request: &[u8]) -> impl Future<Output = Result<Vec<u8>, Error>> + Send {
        let next = self
            .responses
            .lock()
            .map(|mut q| q.pop_front())
            .unwrap_or(None);
        async move {
            let node = next.ok_or(Error::UnpairedRequest)?;
            let item = node
                .instantiate(&mut |placeholder, ty| Ok(echo_value(placeholder, ty, unix_now())))?;
            Ok(encode(&item))
        }
    }
}

/// What [`Echo`] answers for a placeholder: the same value for the same name, the current time
/// for `$NOW`.
fn echo_value(placeholder: &Placeholder, ty: ItemType, now: i64) -> Value {
    match (placeholder, ty) {
        (Placeholder::Now { offset }, ItemType::DateTimeExtended) => {
            Value::DateTimeExtended((now + offset).saturating_mul(1_000_000))
        }
        (Placeholder::Now { offset }, _) => Value::DateTime(now + offset),
        (Placeholder::Named(name), ItemType::ByteString) => {
            Value::ByteString(Bytes::new(name.as_bytes().to_vec()))
        }
        (Placeholder::Named(name), ItemType::DateTime) => Value::DateTime(now + name.len() as i64),
        (Placeholder::Named(name), _) => Value::TextString(format!("echo-{name}")),
    }
}
