//! Create Key Pair (KMIP 1.4 section 4.2, KMIP 2.1 section 6.1.9): an RSA 2048 / 3072 / 4096 or
//! EC P-256 / P-384 key pair generated in software (`kms-crypto`, RustCrypto) from a DRBG seeded
//! by the HSM's RNG, its private key sealed under the tenant's Domain Key like every key
//! material, as DER: PKCS#1 for RSA (the format the OASIS AKLC vectors report for a generated
//! pair), PKCS#8 for EC; the public key kept the same way (public, but one storage path for
//! every key), as PKCS#1 (RSA) or SubjectPublicKeyInfo (EC). The two objects name each other (Link: Public Key Link
//! on the private key, Private Key Link on the public key) and are written by one command, so
//! either both exist or neither does.

use hsm::KeyBytes;
use kmip_codec::enums::{CryptographicAlgorithm, KeyFormatType, LinkType, ObjectType};
use kmip_codec::model::{
    Attribute, AttributeValue, Attributes, CreateKeyPairRequest, CreateKeyPairResponse,
    CryptographicDomainParameters, TemplateAttribute,
};
use kmip_codec::tags::Tag;
use kms_crypto::asymmetric::{
    KeyAlgorithm, KeyFacts, KeySpec, PrivateKey, PrivateKeyFormat, PublicKeyFormat,
};

use super::create::{Material, link, new_object, new_uid, settle_new};
use super::{Ctx, OpError, attribute_model, drbg};
use crate::store::Command;
use crate::store::records::ObjectRecord;

/// Create Key Pair: both objects of the principal's tenant, made and stored together. The ID
/// Placeholder becomes the private key's UID (KMIP 1.4 section 4.2).
pub(super) async fn create_key_pair(
    ctx: &mut Ctx<'_>,
    r: &CreateKeyPairRequest,
) -> Result<CreateKeyPairResponse, OpError> {
    let groups = &r.attributes;
    let empty = TemplateAttribute::default();
    let common = groups.common.as_ref().unwrap_or(&empty);
    let private = groups.private_key.as_ref().unwrap_or(&empty);
    let public = groups.public_key.as_ref().unwrap_or(&empty);
    if [common, private, public]
        .iter()
        .any(|t| !t.names.is_empty())
    {
        return Err(OpError::FeatureNotSupported("templates"));
    }
    let spec = key_spec(&[&common.attributes, &private.attributes, &public.attributes])?;
    let tenant = ctx.tenant()?;

    let mut rng = drbg::from_hsm(ctx).await?;
    let key = tokio::task::spawn_blocking(move || PrivateKey::generate(spec, &mut rng))
        .await
        .map_err(|_| OpError::CryptographicFailure)??;
    let facts = key.facts();
    // RSA keys are kept in PKCS#1, as the OASIS AKLC vectors expect of a generated pair (their
    // Key Format Type and Digest attributes); EC keys in PKCS#8 and SubjectPublicKeyInfo.
    let (private_format, public_format) = match facts.algorithm {
        KeyAlgorithm::Rsa => (PrivateKeyFormat::Pkcs1, PublicKeyFormat::Pkcs1),
        KeyAlgorithm::Ec => (PrivateKeyFormat::Pkcs8, PublicKeyFormat::Spki),
    };
    let algorithm = Some(facts.cryptographic_algorithm().0);
    let private_kmip = generated_format(ObjectType::PRIVATE_KEY, algorithm)
        .ok_or(OpError::CryptographicFailure)?;
    let public_kmip =
        generated_format(ObjectType::PUBLIC_KEY, algorithm).ok_or(OpError::CryptographicFailure)?;
    let private_der = KeyBytes::copy_from(key.to_der(private_format)?.as_slice());
    let public_der = KeyBytes::new(key.public_key().to_der(public_format)?);
    drop(key);

    let (private_uid, public_uid) = (new_uid(), new_uid());
    let private_record = half(
        ctx,
        &tenant,
        Half {
            uid: &private_uid,
            object_type: ObjectType::PRIVATE_KEY,
            material: Material::new(private_der, private_kmip.0, None),
            other: link(LinkType::PUBLIC_KEY_LINK, &public_uid),
            templates: [&common.attributes, &private.attributes],
        },
        facts,
    )
    .await?;
    let public_record = half(
        ctx,
        &tenant,
        Half {
            uid: &public_uid,
            object_type: ObjectType::PUBLIC_KEY,
            material: Material::new(public_der, public_kmip.0, None),
            other: link(LinkType::PRIVATE_KEY_LINK, &private_uid),
            templates: [&common.attributes, &public.attributes],
        },
        facts,
    )
    .await?;

    ctx.commit(Command::Batch(vec![
        Command::PutObject {
            expected_revision: None,
            record: Box::new(private_record),
        },
        Command::PutObject {
            expected_revision: None,
            record: Box::new(public_record),
        },
    ]))
    .await??;
    ctx.journal(&private_uid, None);
    ctx.journal(&public_uid, None);
    ctx.placeholder = Some(private_uid.clone());
    Ok(CreateKeyPairResponse {
        private_key_unique_identifier: private_uid,
        public_key_unique_identifier: public_uid,
        private_key_template_attribute: None,
        public_key_template_attribute: None,
    })
}

/// One object of the pair.
struct Half<'a> {
    uid: &'a str,
    object_type: ObjectType,
    material: Material,
    /// The link to the other object.
    other: Attribute,
    /// Common, then this object's own attributes (the later wins for single-valued ones).
    templates: [&'a Attributes; 2],
}

/// The new record of one object of the pair: the key's facts, the link, the client's
/// attributes, and for an EC key its curve (Cryptographic Domain Parameters) unless the client
/// gave them.
async fn half(
    ctx: &Ctx<'_>,
    tenant: &crate::store::records::TenantRecord,
    h: Half<'_>,
    facts: KeyFacts,
) -> Result<ObjectRecord, OpError> {
    let other = h.other;
    let mut record = new_object(
        ctx,
        tenant,
        h.uid,
        h.object_type,
        h.material,
        |record| {
            record.attributes.cryptographic_algorithm = Some(facts.cryptographic_algorithm().0);
            record.attributes.cryptographic_length = Some(facts.cryptographic_length());
            attribute_model::set_others(record, &[other])
        },
        None,
    )
    .await?;
    for template in h.templates {
        // A 2.x Recommended Curve named the key to make; the object keeps the curve as its
        // Cryptographic Domain Parameters (the attribute both 1.x and 2.x define).
        let kept: Attributes = template
            .iter()
            .filter(|a| a.tag() != Some(Tag::RECOMMENDED_CURVE))
            .cloned()
            .collect();
        attribute_model::apply_template(&mut record, &kept)?;
    }
    // The template may restate the algorithm (EC or ECDSA) but not change the key's size.
    if record.attributes.cryptographic_length != Some(facts.cryptographic_length()) {
        return Err(OpError::InvalidField("cryptographic length"));
    }
    if let Some(curve) = facts.recommended_curve() {
        let mut list = attribute_model::others(&record);
        if !list
            .iter()
            .any(|a| a.tag() == Some(Tag::CRYPTOGRAPHIC_DOMAIN_PARAMETERS))
        {
            list.push(Attribute::new(
                Tag::CRYPTOGRAPHIC_DOMAIN_PARAMETERS,
                AttributeValue::CryptographicDomainParameters(CryptographicDomainParameters {
                    qlength: None,
                    recommended_curve: Some(curve),
                }),
            ));
            attribute_model::set_others(&mut record, &list)?;
        }
    }
    settle_new(ctx, &mut record, true)?;
    Ok(record)
}

/// What to generate, from the three groups of attributes: the Cryptographic Algorithm, Length
/// and Recommended Curve, wherever the client put them (KMIP lets any group carry them; they must
/// not disagree).
fn key_spec(groups: &[&Attributes]) -> Result<KeySpec, OpError> {
    let one = |get: &dyn Fn(&Attributes) -> Option<u32>| -> Result<Option<u32>, OpError> {
        let mut found = None;
        for value in groups.iter().filter_map(|g| get(g)) {
            if found.is_some_and(|f| f != value) {
                return Err(OpError::InvalidField("key pair attributes disagree"));
            }
            found = Some(value);
        }
        Ok(found)
    };
    let algorithm = one(&|a| a.cryptographic_algorithm().map(|x| x.0))?
        .map(CryptographicAlgorithm)
        .ok_or(OpError::MissingData("cryptographic algorithm"))?;
    let length = one(&|a| a.cryptographic_length().and_then(|n| u32::try_from(n).ok()))?
        .and_then(|n| i32::try_from(n).ok());
    let curve = one(&|a| {
        a.get(Tag::RECOMMENDED_CURVE)
            .and_then(|v| v.as_enumeration())
            .or_else(|| match a.get(Tag::CRYPTOGRAPHIC_DOMAIN_PARAMETERS) {
                Some(AttributeValue::CryptographicDomainParameters(p)) => {
                    p.recommended_curve.map(|c| c.0)
                }
                _ => None,
            })
    })?
    .map(kmip_codec::enums::RecommendedCurve);
    Ok(KeySpec::from_kmip(algorithm, length, curve)?)
}

/// The Key Format Type Create Key Pair keeps a key of `object_type` and `algorithm` in: PKCS#1
/// for RSA, PKCS#8 (private) and X.509 (public) for EC. Also what Get Attributes reports for
/// such a key once its material is destroyed.
pub(super) fn generated_format(
    object_type: ObjectType,
    algorithm: Option<u32>,
) -> Option<KeyFormatType> {
    let private = object_type == ObjectType::PRIVATE_KEY;
    if !private && object_type != ObjectType::PUBLIC_KEY {
        return None;
    }
    match algorithm.map(CryptographicAlgorithm) {
        Some(CryptographicAlgorithm::RSA) => Some(KeyFormatType::PKCS1),
        Some(CryptographicAlgorithm::EC | CryptographicAlgorithm::ECDSA) if private => {
            Some(KeyFormatType::PKCS8)
        }
        Some(CryptographicAlgorithm::EC | CryptographicAlgorithm::ECDSA) => {
            Some(KeyFormatType::X_509)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use kmip_codec::enums::RecommendedCurve;
    use kms_crypto::asymmetric::Curve;

    use super::*;

    fn attrs(list: &[(Tag, AttributeValue)]) -> Attributes {
        list.iter()
            .fold(Attributes::new(), |a, (t, v)| a.with(*t, v.clone()))
    }

    fn alg(a: CryptographicAlgorithm) -> (Tag, AttributeValue) {
        (
            Tag::CRYPTOGRAPHIC_ALGORITHM,
            AttributeValue::Enumeration(a.0),
        )
    }

    fn len(n: i32) -> (Tag, AttributeValue) {
        (Tag::CRYPTOGRAPHIC_LENGTH, AttributeValue::Integer(n))
    }

    #[test]
    fn the_groups_name_the_key_together_and_must_agree() {
        let common = attrs(&[alg(CryptographicAlgorithm::RSA)]);
        let private = attrs(&[len(3072)]);
        let public = attrs(&[len(3072)]);
        assert_eq!(
            key_spec(&[&common, &private, &public]).ok(),
            Some(KeySpec::Rsa(3072))
        );
        let public = attrs(&[len(2048)]);
        assert!(matches!(
            key_spec(&[&common, &private, &public]),
            Err(OpError::InvalidField(_))
        ));
        assert!(matches!(
            key_spec(&[&Attributes::new(), &private, &public]),
            Err(OpError::MissingData(_))
        ));
    }

    #[test]
    fn an_ec_curve_comes_from_either_attribute_form() {
        let by_curve = attrs(&[
            alg(CryptographicAlgorithm::EC),
            (
                Tag::RECOMMENDED_CURVE,
                AttributeValue::Enumeration(RecommendedCurve::P_384.0),
            ),
        ]);
        assert_eq!(key_spec(&[&by_curve]).ok(), Some(KeySpec::Ec(Curve::P384)));
        let by_domain = attrs(&[
            alg(CryptographicAlgorithm::ECDSA),
            (
                Tag::CRYPTOGRAPHIC_DOMAIN_PARAMETERS,
                AttributeValue::CryptographicDomainParameters(CryptographicDomainParameters {
                    qlength: None,
                    recommended_curve: Some(RecommendedCurve::P_256),
                }),
            ),
        ]);
        assert_eq!(key_spec(&[&by_domain]).ok(), Some(KeySpec::Ec(Curve::P256)));
        let unsupported = attrs(&[
            alg(CryptographicAlgorithm::EC),
            (
                Tag::RECOMMENDED_CURVE,
                AttributeValue::Enumeration(RecommendedCurve::P_521.0),
            ),
        ]);
        assert!(matches!(key_spec(&[&unsupported]), Err(OpError::Crypto(_))));
    }

    #[test]
    fn generated_formats_are_pkcs1_for_rsa_and_pkcs8_spki_for_ec() {
        let rsa = Some(CryptographicAlgorithm::RSA.0);
        let ec = Some(CryptographicAlgorithm::EC.0);
        assert_eq!(
            generated_format(ObjectType::PRIVATE_KEY, rsa),
            Some(KeyFormatType::PKCS1)
        );
        assert_eq!(
            generated_format(ObjectType::PUBLIC_KEY, rsa),
            Some(KeyFormatType::PKCS1)
        );
        assert_eq!(
            generated_format(ObjectType::PRIVATE_KEY, ec),
            Some(KeyFormatType::PKCS8)
        );
        assert_eq!(
            generated_format(ObjectType::PUBLIC_KEY, ec),
            Some(KeyFormatType::X_509)
        );
        assert_eq!(generated_format(ObjectType::SYMMETRIC_KEY, rsa), None);
        assert_eq!(
            generated_format(ObjectType::PUBLIC_KEY, Some(CryptographicAlgorithm::DSA.0)),
            None
        );
    }
}
