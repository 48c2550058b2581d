//! KMIP operations: the dispatch table ([`dispatch`]: one batch item to its operation), one
//! file per group of operations, and one error mapping (`error.rs`). The message pipeline
//! (decode, identity, batch items with ID Placeholder and Batch Error Continuation, encode in
//! the request's version) is `pipeline.rs`.

mod asymmetric_keys;
pub(crate) mod attribute_model;
mod attribute_ops;
mod audit;
mod budget;
mod check;
mod cipher;
mod context;
mod create;
mod crypto;
mod derive;
mod discover_versions;
mod drbg;
pub mod error;
mod get;
mod key_pair;
mod key_wrap;
mod lease;
mod lifecycle;
mod locate;
mod log;
mod mac;
pub mod migration;
mod oaep;
pub mod on_behalf;
pub mod pipeline;
mod pki;
pub(crate) mod protection;
mod quantum_safe;
mod query;
mod signing;
pub(crate) mod state;
mod stream;
mod templates;
mod transfer;
pub(crate) mod wrap_trust;

use kmip_codec::enums::Operation;
use kmip_codec::model::{RequestBatchItem, RequestPayload, ResponsePayload};

pub(crate) use context::Ctx;
pub use error::OpError;

/// The dispatch table: every operation the server performs, in the order Query lists them
/// (Query lists those the policy allows to some role: all but RNG Seed), each with a row in
/// the policy's `policy::kmip::TABLE`. Every other operation is answered Operation Not
/// Supported.
pub const OPERATIONS: [Operation; 35] = [
    Operation::CREATE,
    Operation::CREATE_KEY_PAIR,
    Operation::REGISTER,
    Operation::RE_KEY,
    Operation::LOCATE,
    Operation::CHECK,
    Operation::GET,
    Operation::GET_ATTRIBUTES,
    Operation::GET_ATTRIBUTE_LIST,
    Operation::ADD_ATTRIBUTE,
    Operation::MODIFY_ATTRIBUTE,
    Operation::DELETE_ATTRIBUTE,
    Operation::SET_ATTRIBUTE,
    Operation::ACTIVATE,
    Operation::REVOKE,
    Operation::DESTROY,
    Operation::QUERY,
    Operation::DISCOVER_VERSIONS,
    Operation::ENCRYPT,
    Operation::DECRYPT,
    Operation::SIGN,
    Operation::SIGNATURE_VERIFY,
    Operation::MAC,
    Operation::MAC_VERIFY,
    Operation::HASH,
    Operation::RNG_RETRIEVE,
    Operation::LOG,
    Operation::RNG_SEED,
    Operation::EXPORT,
    Operation::IMPORT,
    Operation::DERIVE_KEY,
    Operation::OBTAIN_LEASE,
    Operation::GET_USAGE_ALLOCATION,
    Operation::ARCHIVE,
    Operation::RECOVER,
];

/// Runs one batch item (called by the pipeline, `pipeline.rs`, once per item, in the item's
/// audit scope): the operation must be one the server performs ([`OPERATIONS`]) in the
/// request's version, and the policy must allow it to the principal, before it runs.
pub(crate) async fn dispatch(
    ctx: &mut Ctx<'_>,
    item: &RequestBatchItem,
) -> Result<ResponsePayload, OpError> {
    use RequestPayload as P;
    if item.payload.operation() != Some(item.operation) && !item.payload.is_raw() {
        return Err(OpError::InvalidMessage("payload does not match operation"));
    }
    // An operation the request's version does not define is not performed in it: the answer
    // could not carry its payload.
    if !item.operation.is_defined_in(ctx.version) {
        return Err(OpError::OperationNotSupported);
    }
    if !OPERATIONS.contains(&item.operation) || item.payload.is_raw() {
        return Err(OpError::OperationNotSupported);
    }
    crate::policy::kmip::authorize(ctx.principal, item.operation)?;
    Ok(match &item.payload {
        P::DiscoverVersions(r) => discover_versions::discover_versions(r).into(),
        P::Query(r) => query::query(ctx, r).into(),
        P::Create(r) => create::create(ctx, r).await?.into(),
        P::CreateKeyPair(r) => key_pair::create_key_pair(ctx, r).await?.into(),
        P::Register(r) => create::register(ctx, r).await?.into(),
        P::ReKey(r) => create::rekey(ctx, r).await?.into(),
        P::Export(r) => transfer::export(ctx, r).await?.into(),
        P::Import(r) => transfer::import(ctx, r).await?.into(),
        P::DeriveKey(r) => derive::derive_key(ctx, r).await?.into(),
        P::ObtainLease(r) => lease::obtain_lease(ctx, r)?.into(),
        P::GetUsageAllocation(r) => lease::get_usage_allocation(ctx, r).await?.into(),
        P::Archive(r) => lease::archive(ctx, r)?.into(),
        P::Recover(r) => lease::recover(ctx, r)?.into(),
        P::Get(r) => get::get(ctx, r).await?.into(),
        P::GetAttributes(r) => attribute_ops::get_attributes(ctx, r)?.into(),
        P::GetAttributeList(r) => attribute_ops::get_attribute_list(ctx, r)?.into(),
        P::AddAttribute(r) => attribute_ops::add_attribute(ctx, r).await?.into(),
        P::ModifyAttribute(r) => attribute_ops::modify_attribute(ctx, r).await?.into(),
        P::DeleteAttribute(r) => attribute_ops::delete_attribute(ctx, r).await?.into(),
        P::SetAttribute(r) => attribute_ops::set_attribute(ctx, r).await?.into(),
        P::Locate(r) => locate::locate(ctx, r).await?.into(),
        P::Activate(r) => lifecycle::activate(ctx, r).await?.into(),
        P::Revoke(r) => lifecycle::revoke(ctx, r).await?.into(),
        P::Destroy(r) => lifecycle::destroy(ctx, r).await?.into(),
        P::Encrypt(r) => crypto::encrypt(ctx, r).await?.into(),
        P::Decrypt(r) => crypto::decrypt(ctx, r).await?.into(),
        P::Sign(r) => signing::sign(ctx, r).await?.into(),
        P::SignatureVerify(r) => signing::signature_verify(ctx, r).await?.into(),
        P::Mac(r) => mac::mac(ctx, r).await?.into(),
        P::MacVerify(r) => mac::mac_verify(ctx, r).await?.into(),
        P::Hash(r) => mac::hash(r)?.into(),
        P::RngRetrieve(r) => crypto::rng_retrieve(ctx, r).await?.into(),
        // The policy refuses Seed to every role (the HSM's RNG takes no seed): never reached.
        P::RngSeed(_) => return Err(OpError::OperationNotSupported),
        // Check and Log read their payload as TTLV.
        P::Check(_) => check::check(ctx, &item.payload.to_ttlv(ctx.version))?,
        P::Log(_) => log::log(ctx, &item.payload.to_ttlv(ctx.version))?,
        // Typed by the codec, not performed by the server: answered as unknown operations are.
        P::ReKeyKeyPair(_)
        | P::Certify(_)
        | P::ReCertify(_)
        | P::Validate(_)
        | P::AdjustAttribute(_)
        | P::Interop(_)
        | P::SetEndpointRole(_)
        | P::Cancel(_)
        | P::Pkcs11(_)
        | P::Raw(_) => return Err(OpError::OperationNotSupported),
    })
}

/// Current time, Unix seconds.
pub(crate) fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}
