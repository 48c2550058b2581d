//! One request of a battery client: sent, timed, its answer turned into the model's terms and
//! recorded.

use std::time::Instant;

use client::{ClientError, Connection};
use kmip_codec::enums::{ResultReason, RevocationReasonCode, State};
use kmip_codec::model::{AttributeName, AttributeValue, KeyMaterial, KeyValue, ManagedObject};
use kmip_codec::tags::Tag;

use super::{KeyOp, Recorder};
use crate::linearizability::{Answer, Call, Lifecycle, Op};
use crate::testbed::create_aes_key;

/// Answers that say nothing was done, so the client may try again: no leader reached in time,
/// and a read-modify-write that lost to other writers of the object 8 times in a row
/// (docs/OPERATIONS.md, Limits and timeouts).
const NOTHING_DONE: [&str; 2] = ["cluster has no quorum; try again", "try again"];

/// What a request came to.
enum Fate {
    /// Answered; with the new key's UID for a Create.
    Answered(Answer, Option<String>),
    /// Refused with one of [`NOTHING_DONE`].
    Refused(String),
    /// Sent, and no answer the model knows.
    Unknown(String),
}

/// Sends `call` (on key `uid`, except a Create) over `conn` to node `node` and records it.
/// Returns whether the connection is still usable.
pub(super) async fn send(
    conn: &mut Connection,
    call: Call,
    uid: Option<String>,
    node: u64,
    recorder: &Recorder,
) -> bool {
    let invoked = recorder.nanos(Instant::now());
    let (fate, usable) = match ask(conn, call, uid.as_deref(), recorder).await {
        Ok(fate) => (fate, true),
        Err(e) => {
            let usable = matches!(e, ClientError::Kmip { .. });
            (judge(&e), usable)
        }
    };
    let answered = recorder.nanos(Instant::now());
    let read = matches!(call, Call::Get | Call::GetState);
    let record = |uid: String, op: Op| {
        recorder.push(KeyOp {
            uid,
            node,
            sweep: false,
            op,
        });
    };
    match fate {
        Fate::Answered(answer, created) => {
            if let Some(uid) = created.or(uid) {
                record(uid, Op::answered(call, invoked, answered, answer));
            }
        }
        Fate::Refused(what) => {
            let mut r = recorder.lock();
            if read {
                r.unanswered_reads += 1;
            } else {
                r.refused += 1;
            }
            drop(r);
            recorder.trouble(node, what);
        }
        Fate::Unknown(what) => {
            match (read, uid) {
                (true, _) => recorder.lock().unanswered_reads += 1,
                (false, Some(uid)) => record(uid, Op::unknown(call, invoked)),
                (false, None) => recorder.lock().unknown_creates += 1,
            }
            recorder.trouble(node, what);
        }
    }
    usable
}

/// A read of key `uid` on `conn` for the end-of-run sweep: its State, or why there is none.
pub(super) async fn state(conn: &mut Connection, uid: &str) -> Result<Answer, String> {
    let recorder = Recorder::default();
    match ask(conn, Call::GetState, Some(uid), &recorder).await {
        Ok(Fate::Answered(answer, _)) => Ok(answer),
        Ok(Fate::Refused(e) | Fate::Unknown(e)) => Err(e),
        Err(e) => match judge(&e) {
            Fate::Answered(answer, _) => Ok(answer),
            Fate::Refused(e) | Fate::Unknown(e) => Err(e),
        },
    }
}

async fn ask(
    conn: &mut Connection,
    call: Call,
    uid: Option<&str>,
    recorder: &Recorder,
) -> Result<Fate, ClientError> {
    let uid = uid.unwrap_or_default();
    Ok(match call {
        Call::Create { .. } => Fate::Answered(Answer::Ok, Some(create_aes_key(conn).await?)),
        Call::Revoke => {
            conn.revoke(uid, RevocationReasonCode::CESSATION_OF_OPERATION, None)
                .await?;
            Fate::Answered(Answer::Ok, None)
        }
        Call::Destroy => {
            conn.destroy(uid).await?;
            Fate::Answered(Answer::Ok, None)
        }
        Call::Get => {
            let got = conn.get(uid, None).await?;
            match material(&got.object) {
                Some(bytes) => Fate::Answered(Answer::Material(recorder.material(bytes)), None),
                None => Fate::Unknown("Get: no plain symmetric key in the answer".to_owned()),
            }
        }
        Call::GetState => {
            let attributes = conn
                .get_attributes(uid, vec![AttributeName::Standard(Tag::STATE)])
                .await?;
            let value = attributes
                .iter()
                .find(|a| a.tag() == Some(Tag::STATE))
                .map(|a| a.value.clone());
            match value.and_then(lifecycle) {
                Some(s) => Fate::Answered(Answer::State(s), None),
                None => Fate::Unknown("Get Attributes: no State the model knows".to_owned()),
            }
        }
    })
}

fn material(object: &ManagedObject) -> Option<&[u8]> {
    let ManagedObject::SymmetricKey(key) = object else {
        return None;
    };
    match &key.key_block.key_value {
        Some(KeyValue::Plain {
            key_material: KeyMaterial::Bytes(b),
            ..
        }) => Some(b.as_slice()),
        _ => None,
    }
}

fn lifecycle(value: AttributeValue) -> Option<Lifecycle> {
    let AttributeValue::Enumeration(v) = value else {
        return None;
    };
    match State(v) {
        State::PRE_ACTIVE => Some(Lifecycle::PreActive),
        State::ACTIVE => Some(Lifecycle::Active),
        State::DEACTIVATED => Some(Lifecycle::Deactivated),
        State::DESTROYED => Some(Lifecycle::Destroyed),
        _ => None,
    }
}

/// An error in the model's terms: the KMIP answers the model knows, a refusal that says
/// nothing was done, and everything else of unknown outcome.
fn judge(e: &ClientError) -> Fate {
    if let ClientError::Kmip {
        reason, message, ..
    } = e
    {
        match *reason {
            Some(ResultReason::OBJECT_NOT_FOUND) => return Fate::Answered(Answer::NotFound, None),
            Some(ResultReason::WRONG_KEY_LIFECYCLE_STATE) => {
                return Fate::Answered(Answer::WrongState, None);
            }
            Some(ResultReason::OBJECT_DESTROYED) => return Fate::Answered(Answer::Destroyed, None),
            _ if message
                .as_deref()
                .is_some_and(|m| NOTHING_DONE.contains(&m)) =>
            {
                return Fate::Refused(e.to_string());
            }
            _ => {}
        }
    }
    Fate::Unknown(e.to_string())
}
