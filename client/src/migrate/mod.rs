//! Inbound migration: pulls every object a foreign KMIP server shows this client (Locate, then
//! Get) and registers each here with KMIP 2.1 Import under the foreign Unique Identifier, its
//! Names and creation attributes kept and its origin recorded in [`ORIGIN_ATTRIBUTE`]
//! (`"<host:port> <foreign uid>"`).
//!
//! Symmetric keys and secret data travel wrapped where the foreign server can: under a
//! [`TransferKey`] created here and copied there, the foreign server wraps (NIST key wrap) and
//! this server unwraps inside its process, so the plaintext never crosses this client. Where
//! the foreign server refuses the wrapping (an object type, a length its key wrap does not
//! take, no key wrapping at all), the object is fetched plain and a warning says so, unless
//! [`PullOptions::require_wrapping`] makes that a failure of the object.
//!
//! Re-running a pull is idempotent: an object already here under its UID with this origin is
//! reported as present and not fetched again. A UID taken here by anything else is a failure
//! of that object, and never says which tenant holds it (the Import answers Object Already
//! Exists for every tenant alike).

mod attributes;
mod transfer_key;

use std::fmt;

use kmip_codec::enums::{ObjectType, ResultReason};
use kmip_codec::model::{
    AttributeValue, Attributes, GetRequest, ImportRequest, KeyBlock, ManagedObject, ResponsePayload,
};
use kmip_codec::tags::Tag;
use kmip_codec::version::ProtocolVersion;

pub use attributes::{ORIGIN_ATTRIBUTE, origin, recorded_origin};
pub use transfer_key::{MARK_ATTRIBUTE, NAME_PREFIX, TransferKey};

use crate::connection::Connection;
use crate::error::{ClientError, Result};

/// Locate page size on the foreign server (KMIP 1.3+ pages with Offset Items).
const PAGE: i32 = 500;

/// Most objects one pull takes (a foreign server that keeps answering pages is cut off).
const MAX_OBJECTS: usize = 1_000_000;

/// What a pull is asked to do.
#[derive(Clone, Debug)]
pub struct PullOptions {
    /// The foreign server as recorded in the origin attribute (its `host:port`).
    pub source: String,
    /// Fail an object the foreign server will not wrap instead of fetching it plain.
    pub require_wrapping: bool,
}

/// How an object's key material travelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// Wrapped under the transfer key, unwrapped by this server.
    Wrapped,
    /// In the clear inside the TLS sessions, through this client.
    Plain,
}

/// Why one object was not pulled.
#[derive(Debug)]
pub enum Failure {
    /// The UID is in use here (by this tenant with another origin, or by another tenant: the
    /// two are told apart only when the object is this tenant's).
    UidTaken,
    /// The UID is this tenant's here, with another origin (or none).
    OtherOrigin(Option<String>),
    /// The foreign server refused to wrap it and wrapping is required.
    WrappingRefused(String),
    /// The foreign server failed a Get or Get Attributes.
    Foreign(ClientError),
    /// This server failed the Import or the presence check.
    Local(ClientError),
    /// The object is a transfer key an interrupted pull left on the foreign server: not
    /// pulled, to be destroyed there.
    LeftoverTransferKey,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UidTaken => f.write_str("the UID is already in use on this server"),
            Self::OtherOrigin(Some(o)) => write!(
                f,
                "the UID is already in use here by an object pulled from {o}"
            ),
            Self::OtherOrigin(None) => {
                f.write_str("the UID is already in use here by an object not pulled from there")
            }
            Self::WrappingRefused(why) => write!(
                f,
                "the foreign server would not wrap it ({why}) and --require-wrapping is set"
            ),
            Self::Foreign(e) => write!(f, "foreign server: {e}"),
            Self::Local(e) => write!(f, "this server: {e}"),
            Self::LeftoverTransferKey => f.write_str(
                "a transfer key an interrupted pull left on the foreign server: destroy it there",
            ),
        }
    }
}

/// What happened to one object.
#[derive(Debug)]
pub enum Outcome {
    /// Imported here.
    Pulled(Transport),
    /// Already here from an earlier pull of the same object.
    AlreadyPresent,
    /// Not pulled.
    Failed(Failure),
}

/// One foreign object's line of the report.
#[derive(Debug)]
pub struct Item {
    /// Its UID on the foreign server (and here).
    pub uid: String,
    /// Its Object Type, once known.
    pub object_type: Option<ObjectType>,
    /// What happened.
    pub outcome: Outcome,
}

/// Counts of a finished pull.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// Objects the foreign server showed.
    pub found: usize,
    /// Imported wrapped.
    pub wrapped: usize,
    /// Imported plain.
    pub plain: usize,
    /// Already here from an earlier pull.
    pub already_present: usize,
    /// Not pulled.
    pub failed: usize,
}

/// Where a pull reports as it goes.
pub trait Progress {
    /// A warning (plain fallback, transfer key trouble).
    fn warn(&mut self, text: &str);
    /// One object done.
    fn item(&mut self, item: &Item);
}

/// The transfer key, made on first need.
enum Wrapping {
    NotYet,
    Ready(TransferKey),
    Unavailable(String),
}

/// Pulls every object `foreign` shows into `local` (a KMIP 2.1 connection here). Fails only
/// when the foreign server cannot be listed, or when wrapping is required and no transfer key
/// could be set up; an object's failure is reported through `progress` and counted.
pub async fn pull(
    foreign: &mut Connection,
    local: &mut Connection,
    options: &PullOptions,
    progress: &mut dyn Progress,
) -> Result<Summary> {
    if local.protocol_version() < ProtocolVersion::V2_1 {
        return Err(ClientError::Usage(
            "a pull imports with KMIP 2.1: connect to this server with protocol 2.1",
        ));
    }
    let uids = locate_all(foreign).await?;
    let mut summary = Summary {
        found: uids.len(),
        ..Summary::default()
    };
    let mut wrapping = Wrapping::NotYet;
    let mut result = Ok(());
    for uid in uids {
        let outcome = match pull_one(foreign, local, options, &uid, &mut wrapping, progress).await {
            Ok(o) => o,
            Err(e) => {
                result = Err(e);
                break;
            }
        };
        match &outcome.outcome {
            Outcome::Pulled(Transport::Wrapped) => summary.wrapped += 1,
            Outcome::Pulled(Transport::Plain) => summary.plain += 1,
            Outcome::AlreadyPresent => summary.already_present += 1,
            Outcome::Failed(_) => summary.failed += 1,
        }
        progress.item(&outcome);
    }
    if let Wrapping::Ready(key) = wrapping {
        let (here, there) = (key.local_uid.clone(), key.foreign_uid.clone());
        if let Err(e) = key.retire(local, foreign).await {
            progress.warn(&format!(
                "the transfer key was not destroyed everywhere ({e}): destroy {here} here and \
                 {there} on the foreign server"
            ));
        }
    }
    result.map(|()| summary)
}

/// Every UID the foreign server's Locate gives, in its order.
async fn locate_all(foreign: &mut Connection) -> Result<Vec<String>> {
    if foreign.protocol_version() < ProtocolVersion::V1_3 {
        return Ok(foreign
            .locate(Attributes::new(), None, None)
            .await?
            .unique_identifiers);
    }
    let mut all = Vec::new();
    loop {
        let offset = i32::try_from(all.len()).unwrap_or(i32::MAX);
        let page = foreign
            .locate(Attributes::new(), Some(PAGE), Some(offset))
            .await?
            .unique_identifiers;
        let last = page.len() < usize::try_from(PAGE).unwrap_or(usize::MAX);
        all.extend(page);
        if last || all.len() >= MAX_OBJECTS {
            return Ok(all);
        }
    }
}

/// Pulls one object. `Err` only for a failure that ends the whole pull (wrapping required
/// and no transfer key).
async fn pull_one(
    foreign: &mut Connection,
    local: &mut Connection,
    options: &PullOptions,
    uid: &str,
    wrapping: &mut Wrapping,
    progress: &mut dyn Progress,
) -> Result<Item> {
    let origin = origin(&options.source, uid);
    let mut item = Item {
        uid: uid.to_owned(),
        object_type: None,
        outcome: Outcome::AlreadyPresent,
    };
    // Already here? Only this tenant's objects are visible: another tenant's UID is Item Not
    // Found here and refused by the Import below.
    match local.get_attributes(uid, Vec::new()).await {
        Ok(here) => {
            item.object_type = object_type(&here);
            let recorded = recorded_origin(&here);
            if recorded != Some(origin.as_str()) {
                item.outcome = Outcome::Failed(Failure::OtherOrigin(recorded.map(str::to_owned)));
            }
            return Ok(item);
        }
        Err(e)
            if matches!(
                e.result_reason(),
                Some(ResultReason::ITEM_NOT_FOUND | ResultReason::OBJECT_NOT_FOUND)
            ) => {}
        Err(e) => {
            item.outcome = Outcome::Failed(Failure::Local(e));
            return Ok(item);
        }
    }
    let there = match foreign.get_attributes(uid, Vec::new()).await {
        Ok(a) => a,
        Err(e) => {
            item.outcome = Outcome::Failed(Failure::Foreign(e));
            return Ok(item);
        }
    };
    item.object_type = object_type(&there);
    if is_transfer_key(&there) {
        item.outcome = Outcome::Failed(Failure::LeftoverTransferKey);
        return Ok(item);
    }
    let fetched = fetch(foreign, local, options, &mut item, wrapping, progress).await?;
    let Some((object, transport)) = fetched else {
        return Ok(item);
    };
    let object_type = object.object_type();
    item.object_type = Some(object_type);
    let request = ImportRequest {
        unique_identifier: uid.to_owned(),
        object_type: Some(object_type),
        replace_existing: None,
        key_wrap_type: None,
        attributes: attributes::for_import(&there, origin),
        object,
    };
    let imported = local
        .call(request, |p| match p {
            ResponsePayload::Import(r) => Some(r),
            _ => None,
        })
        .await;
    item.outcome = match imported {
        Ok(_) => Outcome::Pulled(transport),
        Err(e) if e.result_reason() == Some(ResultReason::OBJECT_ALREADY_EXISTS) => {
            Outcome::Failed(Failure::UidTaken)
        }
        Err(e) => Outcome::Failed(Failure::Local(e)),
    };
    Ok(item)
}

/// The object, wrapped under the transfer key where the foreign server does it, else plain
/// (with a warning) unless wrapping is required. `None` when the object failed (recorded in
/// `item`).
async fn fetch(
    foreign: &mut Connection,
    local: &mut Connection,
    options: &PullOptions,
    item: &mut Item,
    wrapping: &mut Wrapping,
    progress: &mut dyn Progress,
) -> Result<Option<(ManagedObject, Transport)>> {
    let wrappable = item
        .object_type
        .is_none_or(|t| t == ObjectType::SYMMETRIC_KEY || t == ObjectType::SECRET_DATA);
    let why_plain = if wrappable {
        if let Wrapping::NotYet = wrapping {
            *wrapping = match TransferKey::establish(local, foreign, &options.source).await {
                Ok(key) => Wrapping::Ready(key),
                Err(e) if options.require_wrapping => {
                    return Err(ClientError::TransferKey(Box::new(e)));
                }
                Err(e) => {
                    let why = format!("no transfer key could be set up: {e}");
                    progress.warn(&format!("{why}; every object travels plain"));
                    Wrapping::Unavailable(why)
                }
            };
        }
        match wrapping {
            Wrapping::Ready(key) => match wrapped_get(foreign, key, &item.uid).await {
                Ok(object) => return Ok(Some((object, Transport::Wrapped))),
                Err(why) => why,
            },
            Wrapping::Unavailable(why) => why.clone(),
            Wrapping::NotYet => "no transfer key".to_owned(),
        }
    } else {
        "this server imports wrapped symmetric keys and secret data only".to_owned()
    };
    if options.require_wrapping {
        item.outcome = Outcome::Failed(Failure::WrappingRefused(why_plain));
        return Ok(None);
    }
    progress.warn(&format!(
        "{}: fetched PLAIN, not wrapped: {why_plain}",
        item.uid
    ));
    match foreign.get(&item.uid, None).await {
        Ok(got) => Ok(Some((got.object, Transport::Plain))),
        Err(e) => {
            item.outcome = Outcome::Failed(Failure::Foreign(e));
            Ok(None)
        }
    }
}

/// A Get of `uid` wrapped under the transfer key, its Key Wrapping Data pointed at the copy
/// here; the reason as text when the foreign server refused or answered otherwise.
async fn wrapped_get(
    foreign: &mut Connection,
    key: &TransferKey,
    uid: &str,
) -> std::result::Result<ManagedObject, String> {
    let request = GetRequest {
        unique_identifier: Some(uid.to_owned()),
        key_wrapping_specification: Some(key.specification()),
        ..GetRequest::default()
    };
    let got = foreign
        .call(request, |p| match p {
            ResponsePayload::Get(r) => Some(r),
            _ => None,
        })
        .await
        .map_err(|e| e.to_string())?;
    let mut object = got.object;
    let readdressed = block_of(&mut object).is_some_and(|b| key.readdress(b));
    if readdressed {
        Ok(object)
    } else {
        Err("the answer was not wrapped under the transfer key".to_owned())
    }
}

fn block_of(object: &mut ManagedObject) -> Option<&mut KeyBlock> {
    match object {
        ManagedObject::SymmetricKey(k) => Some(&mut k.key_block),
        ManagedObject::SecretData(s) => Some(&mut s.key_block),
        _ => None,
    }
}

/// True when a Name of the object starts with [`NAME_PREFIX`].
fn is_transfer_key(attributes: &Attributes) -> bool {
    attributes.iter().any(|a| match &a.value {
        AttributeValue::Name(n) => a.tag() == Some(Tag::NAME) && n.value.starts_with(NAME_PREFIX),
        _ => false,
    })
}

fn object_type(attributes: &Attributes) -> Option<ObjectType> {
    attributes
        .iter()
        .find(|a| a.tag() == Some(Tag::OBJECT_TYPE))
        .and_then(|a| a.value.as_enumeration())
        .map(ObjectType)
}
