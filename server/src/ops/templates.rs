//! Templates (KMIP 1.0-1.4 section 2.2.6; deprecated in 1.3, withdrawn in 2.0): "a named Managed
//! Object containing the client-settable attributes of a Managed Cryptographic Object". Register
//! stores one (its Name comes from the Register's Template-Attribute, like any object's); a
//! Create or Register whose 1.x Template-Attribute names templates (its Name fields) gets their
//! attributes, in the order the templates are named, and then its own: an attribute of which an
//! object has one instance is the request's when both give it, instances of a multi-instance
//! attribute add up. Get returns a template as registered; Locate, Get Attributes and Destroy
//! treat it as any object. KMIP 2.x has no templates: its codec reads neither the object nor
//! template names.

use hsm::KeyBytes;
use kmip_codec::enums::{ObjectType, Operation};
use kmip_codec::limits::Limits;
use kmip_codec::model::{Attribute, Attributes, ManagedObject, Name, Object};
use kmip_codec::ttlv::Ttlv;
use kmip_codec::ttlv::decode::decode;
use kmip_codec::ttlv::encode::encode;
use kmip_codec::version::ProtocolVersion;

use super::attribute_model::{self, Kind};
use super::{Ctx, OpError};

/// The bytes a Template being registered is stored as (the object's TTLV, returned whole by
/// Get), after checking that it holds only attributes a client may set at creation.
pub(super) fn prepare(object: &Ttlv, version: ProtocolVersion) -> Result<KeyBytes, OpError> {
    let template = attributes_of(object, version)?;
    if template.iter().any(|a| {
        attribute_model::kind(&a.name) == Kind::ServerOnly
            || a.tag() == Some(kmip_codec::tags::Tag::NAME)
    }) {
        return Err(OpError::InvalidField(
            "a template holds only attributes a client may set on a new object",
        ));
    }
    Ok(KeyBytes::copy_from(encode(object).as_slice()))
}

/// The attributes of a Template object's TTLV.
fn attributes_of(object: &Ttlv, version: ProtocolVersion) -> Result<Attributes, OpError> {
    match ManagedObject::Other(object.clone()).to_object(version) {
        Ok(Object::Template(t)) => Ok(t.attributes),
        _ => Err(OpError::InvalidField("not a template")),
    }
}

/// The attributes of a new object whose Template-Attribute names `names` and gives `own`.
pub(super) async fn expand(
    ctx: &Ctx<'_>,
    names: &[Name],
    own: &Attributes,
) -> Result<Attributes, OpError> {
    let mut merged: Vec<Attribute> = Vec::new();
    for name in names {
        for a in named_template(ctx, name).await?.0 {
            add(&mut merged, a);
        }
    }
    for a in own.iter() {
        add(&mut merged, a.clone());
    }
    Ok(Attributes(merged))
}

/// Adds `a`, replacing the instance of a single-instance attribute already there.
fn add(list: &mut Vec<Attribute>, a: Attribute) {
    if attribute_model::kind(&a.name) != Kind::Multi {
        list.retain(|x| x.name != a.name);
    }
    list.push(a);
}

/// The attributes of the tenant's template named `name`.
async fn named_template(ctx: &Ctx<'_>, name: &Name) -> Result<Attributes, OpError> {
    let not_a_template = OpError::InvalidField("a template name names no template");
    let uid = ctx
        .kms
        .store
        .object_named(ctx.tenant_id()?, &name.value)?
        .ok_or(OpError::ObjectNotFound)?;
    let record = ctx.object(&uid, Operation::GET)?;
    if record.object_type != ObjectType::TEMPLATE.0 {
        return Err(not_a_template);
    }
    let tenant = ctx.tenant()?;
    let bytes = ctx.kms.keys.material(&tenant, &record).await?;
    let object = decode(bytes.expose(), &Limits::DEFAULT).map_err(|_| not_a_template)?;
    attributes_of(&object, ProtocolVersion::V1_4)
}
