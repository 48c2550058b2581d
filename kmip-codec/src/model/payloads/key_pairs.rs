//! Operations that make an asymmetric key pair: Create Key Pair (KMIP 1.4 section 4.2, KMIP 2.1
//! section 6.1.9) and Re-key Key Pair (4.5 / 6.1.47).
//!
//! The attributes come in three groups. KMIP 1.x carries them as Common / Private Key / Public
//! Key Template-Attribute structures; KMIP 2.x as Common / Private Key / Public Key Attributes,
//! plus three Protection Storage Masks (2.1). Responses name both new keys; in 1.x they may
//! echo the attributes the server set implicitly.

use super::Payload;
use crate::error::Result;
use crate::model::attributes::{TemplateAttribute, forms};
use crate::model::capabilities::ProtectionStorageMasks;
use crate::model::fields::{Fields, Out};
use crate::tags::Tag;
use crate::version::ProtocolVersion;

/// The three attribute groups of a key pair request, in both forms: Common / Private Key /
/// Public Key Template-Attribute (KMIP 1.4 section 2.1.8), Common / Private Key / Public Key
/// Attributes and their Protection Storage Masks (KMIP 2.1 sections 5.2-5.4 and 7.33).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyPairAttributes {
    /// Common Template-Attribute (1.x) / Common Attributes (2.x): for both keys.
    pub common: Option<TemplateAttribute>,
    /// Private Key Template-Attribute (1.x) / Private Key Attributes (2.x).
    pub private_key: Option<TemplateAttribute>,
    /// Public Key Template-Attribute (1.x) / Public Key Attributes (2.x).
    pub public_key: Option<TemplateAttribute>,
    /// Common Protection Storage Masks (2.1).
    pub common_protection_storage_masks: Option<ProtectionStorageMasks>,
    /// Private Protection Storage Masks (2.1).
    pub private_protection_storage_masks: Option<ProtectionStorageMasks>,
    /// Public Protection Storage Masks (2.1).
    pub public_protection_storage_masks: Option<ProtectionStorageMasks>,
}

impl KeyPairAttributes {
    fn read(f: &mut Fields<'_>, v: ProtocolVersion) -> Result<Self> {
        let masks = |f: &mut Fields<'_>, tag| f.opt_with(tag, ProtectionStorageMasks::decode);
        Ok(Self {
            common: forms::read_template_as(
                f,
                v,
                Tag::COMMON_TEMPLATE_ATTRIBUTE,
                Tag::COMMON_ATTRIBUTES,
            )?,
            private_key: forms::read_template_as(
                f,
                v,
                Tag::PRIVATE_KEY_TEMPLATE_ATTRIBUTE,
                Tag::PRIVATE_KEY_ATTRIBUTES,
            )?,
            public_key: forms::read_template_as(
                f,
                v,
                Tag::PUBLIC_KEY_TEMPLATE_ATTRIBUTE,
                Tag::PUBLIC_KEY_ATTRIBUTES,
            )?,
            common_protection_storage_masks: masks(f, Tag::COMMON_PROTECTION_STORAGE_MASKS)?,
            private_protection_storage_masks: masks(f, Tag::PRIVATE_PROTECTION_STORAGE_MASKS)?,
            public_protection_storage_masks: masks(f, Tag::PUBLIC_PROTECTION_STORAGE_MASKS)?,
        })
    }

    fn write(&self, out: &mut Out, v: ProtocolVersion) {
        let groups = [
            (
                &self.common,
                Tag::COMMON_TEMPLATE_ATTRIBUTE,
                Tag::COMMON_ATTRIBUTES,
            ),
            (
                &self.private_key,
                Tag::PRIVATE_KEY_TEMPLATE_ATTRIBUTE,
                Tag::PRIVATE_KEY_ATTRIBUTES,
            ),
            (
                &self.public_key,
                Tag::PUBLIC_KEY_TEMPLATE_ATTRIBUTE,
                Tag::PUBLIC_KEY_ATTRIBUTES,
            ),
        ];
        for (t, tag_1x, tag_2x) in groups {
            if let Some(t) = t {
                forms::write_template_as(out, t, v, tag_1x, tag_2x);
            }
        }
        let masks = [
            (
                &self.common_protection_storage_masks,
                Tag::COMMON_PROTECTION_STORAGE_MASKS,
            ),
            (
                &self.private_protection_storage_masks,
                Tag::PRIVATE_PROTECTION_STORAGE_MASKS,
            ),
            (
                &self.public_protection_storage_masks,
                Tag::PUBLIC_PROTECTION_STORAGE_MASKS,
            ),
        ];
        for (m, tag) in masks {
            out.push_opt(m.as_ref().map(|m| m.encode(tag)));
        }
    }
}

/// Create Key Pair request (KMIP 1.4 section 4.2, KMIP 2.1 section 6.1.9).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CreateKeyPairRequest {
    /// The attributes of the new keys.
    pub attributes: KeyPairAttributes,
}

impl Payload for CreateKeyPairRequest {
    fn read(f: &mut Fields<'_>, v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            attributes: KeyPairAttributes::read(f, v)?,
        })
    }
    fn write(&self, out: &mut Out, v: ProtocolVersion) {
        self.attributes.write(out, v);
    }
}

/// Defines a Create Key Pair / Re-key Key Pair response (KMIP 1.4 sections 4.2 and 4.5, KMIP
/// 2.1 sections 6.1.9 and 6.1.47): the same fields, two types (one per operation).
macro_rules! key_pair_response {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Clone, Debug, Default, PartialEq, Eq)]
        pub struct $name {
            /// Private Key Unique Identifier.
            pub private_key_unique_identifier: String,
            /// Public Key Unique Identifier.
            pub public_key_unique_identifier: String,
            /// 1.x only: Private Key Template-Attribute, attributes the server set implicitly.
            pub private_key_template_attribute: Option<TemplateAttribute>,
            /// 1.x only: Public Key Template-Attribute, attributes the server set implicitly.
            pub public_key_template_attribute: Option<TemplateAttribute>,
        }

        impl Payload for $name {
            fn read(f: &mut Fields<'_>, v: ProtocolVersion) -> Result<Self> {
                let (private_key_unique_identifier, public_key_unique_identifier, private, public) =
                    read_pair_response(f, v)?;
                Ok(Self {
                    private_key_unique_identifier,
                    public_key_unique_identifier,
                    private_key_template_attribute: private,
                    public_key_template_attribute: public,
                })
            }
            fn write(&self, out: &mut Out, v: ProtocolVersion) {
                write_pair_response(
                    out,
                    v,
                    &self.private_key_unique_identifier,
                    &self.public_key_unique_identifier,
                    self.private_key_template_attribute.as_ref(),
                    self.public_key_template_attribute.as_ref(),
                );
            }
        }
    };
}

/// The fields of a key pair response: both identifiers and, in 1.x, both templates.
type PairResponse = (
    String,
    String,
    Option<TemplateAttribute>,
    Option<TemplateAttribute>,
);

fn read_pair_response(f: &mut Fields<'_>, v: ProtocolVersion) -> Result<PairResponse> {
    let private = f.req_text(Tag::PRIVATE_KEY_UNIQUE_IDENTIFIER)?;
    let public = f.req_text(Tag::PUBLIC_KEY_UNIQUE_IDENTIFIER)?;
    if v.is_2x() {
        return Ok((private, public, None, None));
    }
    Ok((
        private,
        public,
        forms::read_template_as(
            f,
            v,
            Tag::PRIVATE_KEY_TEMPLATE_ATTRIBUTE,
            Tag::PRIVATE_KEY_ATTRIBUTES,
        )?,
        forms::read_template_as(
            f,
            v,
            Tag::PUBLIC_KEY_TEMPLATE_ATTRIBUTE,
            Tag::PUBLIC_KEY_ATTRIBUTES,
        )?,
    ))
}

fn write_pair_response(
    out: &mut Out,
    v: ProtocolVersion,
    private: &str,
    public: &str,
    private_template: Option<&TemplateAttribute>,
    public_template: Option<&TemplateAttribute>,
) {
    out.text(Tag::PRIVATE_KEY_UNIQUE_IDENTIFIER, private)
        .text(Tag::PUBLIC_KEY_UNIQUE_IDENTIFIER, public);
    if v.is_2x() {
        return;
    }
    if let Some(t) = private_template {
        forms::write_template_as(
            out,
            t,
            v,
            Tag::PRIVATE_KEY_TEMPLATE_ATTRIBUTE,
            Tag::PRIVATE_KEY_ATTRIBUTES,
        );
    }
    if let Some(t) = public_template {
        forms::write_template_as(
            out,
            t,
            v,
            Tag::PUBLIC_KEY_TEMPLATE_ATTRIBUTE,
            Tag::PUBLIC_KEY_ATTRIBUTES,
        );
    }
}

key_pair_response!(
    /// Create Key Pair response (KMIP 1.4 section 4.2, KMIP 2.1 section 6.1.9).
    CreateKeyPairResponse
);
key_pair_response!(
    /// Re-key Key Pair response (KMIP 1.4 section 4.5, KMIP 2.1 section 6.1.47).
    ReKeyKeyPairResponse
);

/// Re-key Key Pair request (KMIP 1.4 section 4.5, KMIP 2.1 section 6.1.47).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReKeyKeyPairRequest {
    /// Private Key Unique Identifier of the pair to replace (ID Placeholder when absent).
    pub private_key_unique_identifier: Option<String>,
    /// Offset, seconds, between the new keys' Initial Date and Activation Date.
    pub offset: Option<u32>,
    /// The attributes of the new keys.
    pub attributes: KeyPairAttributes,
}

impl Payload for ReKeyKeyPairRequest {
    fn read(f: &mut Fields<'_>, v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            private_key_unique_identifier: f.opt_text(Tag::PRIVATE_KEY_UNIQUE_IDENTIFIER)?,
            offset: f.opt_interval(Tag::OFFSET)?,
            attributes: KeyPairAttributes::read(f, v)?,
        })
    }
    fn write(&self, out: &mut Out, v: ProtocolVersion) {
        out.opt_text(
            Tag::PRIVATE_KEY_UNIQUE_IDENTIFIER,
            self.private_key_unique_identifier.as_deref(),
        )
        .opt_interval(Tag::OFFSET, self.offset);
        self.attributes.write(out, v);
    }
}
