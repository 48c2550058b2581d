//! KMIP operations: the dispatch table ([`dispatch`]: one batch item to its operation), one
//! file per group of operations, and one error mapping (`error.rs`). The message pipeline
//! (decode, identity, batch items with ID Placeholder and Batch Error Continuation, encode in
//! the request's version) is `pipeline.rs`.

mod attribute_ops;
pub(crate) mod attrs;
mod audit;
mod budget;
mod check;
mod context;
mod create;
mod crypto;
mod discover;
pub mod error;
mod get;
mod lifecycle;
mod locate;
pub mod on_behalf;
pub mod pipeline;
mod pki;
pub(crate) mod protection;
pub(crate) mod state;
mod stream;

use kmip_codec::model::{RequestBatchItem, RequestPayload, ResponsePayload};

pub(crate) use context::Ctx;
pub use error::OpError;

/// The dispatch table: runs one batch item's operation (called by the pipeline, `pipeline.rs`,
/// once per item, in the item's audit scope).
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
    Ok(match &item.payload {
        P::DiscoverVersions(r) => discover::discover_versions(r).into(),
        P::Query(r) => discover::query(ctx, r).into(),
        P::Create(r) => create::create(ctx, r).await?.into(),
        P::Register(r) => create::register(ctx, r).await?.into(),
        P::ReKey(r) => create::rekey(ctx, r).await?.into(),
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
        P::RngRetrieve(r) => crypto::rng_retrieve(ctx, r).await?.into(),
        P::RngSeed(_) => return Err(OpError::PermissionDenied),
        // Check and Log read their payload as TTLV.
        P::Check(_) => check::check(ctx, &item.payload.to_ttlv(ctx.version))?,
        P::Log(_) => check::log(ctx, &item.payload.to_ttlv(ctx.version))?,
        // Typed by the codec, not performed by the server: answered as unknown operations are.
        P::CreateKeyPair(_)
        | P::ReKeyKeyPair(_)
        | P::DeriveKey(_)
        | P::Certify(_)
        | P::ReCertify(_)
        | P::Validate(_)
        | P::GetUsageAllocation(_)
        | P::ObtainLease(_)
        | P::Archive(_)
        | P::Recover(_)
        | P::AdjustAttribute(_)
        | P::Sign(_)
        | P::SignatureVerify(_)
        | P::Mac(_)
        | P::MacVerify(_)
        | P::Hash(_)
        | P::Export(_)
        | P::Import(_)
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
