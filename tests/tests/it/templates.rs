//! Templates (KMIP 1.0-1.4 section 2.2.6, as SASED-M-2-13 uses them): a Template registered under
//! a Name gives its attributes to the objects whose Template-Attribute names it, the request's
//! own single-instance attributes winning; Get returns it as registered; Query Objects lists
//! Template in 1.x only; a template holding a server-only attribute, and a template name that
//! names no template, are refused.

use client::{ClientError, Connection};
use kmip_codec::enums::{
    CryptographicAlgorithm, CryptographicUsageMask, KeyFormatType, NameType, ObjectType,
    QueryFunction, ResultReason, SecretDataType,
};
use kmip_codec::model::{
    Attribute, AttributeName, AttributeValue, Attributes, CreateRequest, KeyBlock, KeyMaterial,
    KeyValue, ManagedObject, Name, Object, RegisterRequest, ResponsePayload, SecretData, Template,
};
use kmip_codec::tags::Tag;
use kmip_codec::ttlv::Bytes;
use kmip_codec::version::ProtocolVersion;

use crate::attributes::connect;

fn name(text: &str) -> Name {
    Name {
        value: text.to_owned(),
        name_type: NameType::UNINTERPRETED_TEXT_STRING,
    }
}

fn text(s: &str) -> AttributeValue {
    AttributeValue::TextString(s.to_owned())
}

fn template(attributes: Vec<Attribute>) -> ManagedObject {
    ManagedObject::from_object(
        Object::Template(Template {
            attributes: Attributes(attributes),
        }),
        ProtocolVersion::V1_4,
    )
}

fn secret() -> ManagedObject {
    ManagedObject::SecretData(SecretData {
        secret_data_type: SecretDataType::PASSWORD,
        key_block: KeyBlock {
            key_format_type: KeyFormatType::OPAQUE,
            key_compression_type: None,
            key_value: Some(KeyValue::Plain {
                key_material: KeyMaterial::Bytes(Bytes::from(&[0x2a; 32][..])),
                attributes: Attributes::new(),
            }),
            cryptographic_algorithm: None,
            cryptographic_length: None,
            key_wrapping_data: None,
        },
    })
}

/// Register with template names.
async fn register(
    conn: &mut Connection,
    object: ManagedObject,
    attributes: Vec<Attribute>,
    templates: &[&str],
) -> Result<String, ClientError> {
    let request = RegisterRequest {
        object_type: object.object_type(),
        attributes: Attributes(attributes),
        template_names: templates.iter().map(|t| name(t)).collect(),
        object,
        protection_storage_masks: None,
    };
    conn.call(request, |p| match p {
        ResponsePayload::Register(r) => Some(r.unique_identifier),
        _ => None,
    })
    .await
}

async fn attribute(conn: &mut Connection, uid: &str, name: AttributeName) -> Vec<AttributeValue> {
    let got = conn
        .get_attributes(uid, vec![name.clone()])
        .await
        .expect("get attributes");
    got.iter()
        .filter(|a| a.name == name)
        .map(|a| a.value.clone())
        .collect()
}

kms_tests::server_test! {
    async fn a_registered_template_gives_its_attributes_to_the_objects_that_name_it(server) {
        let mut conn = connect(server, ProtocolVersion::V1_4).await;
        let group = |g: &str| Attribute::new(Tag::OBJECT_GROUP, text(g));
        let body = vec![
            group("drives"),
            Attribute::custom("x-rack", text("r1")),
            Attribute::custom("x-slot", text("from the template")),
        ];
        let tpl = register(
            &mut conn,
            template(body.clone()),
            vec![Attribute::new(Tag::NAME, AttributeValue::Name(name("tpl-1")))],
            &[],
        )
        .await
        .expect("register a template");

        // A secret naming it: the template's attributes, then its own (x-slot is multi-instance
        // as every custom attribute, so both instances stay).
        let uid = register(
            &mut conn,
            secret(),
            vec![Attribute::custom("x-slot", text("own")), group("mine")],
            &["tpl-1"],
        )
        .await
        .expect("register through the template");
        assert_eq!(attribute(&mut conn, &uid, Attribute::custom("x-rack", text("")).name).await, vec![text("r1")]);
        assert_eq!(
            attribute(&mut conn, &uid, Attribute::custom("x-slot", text("")).name).await,
            vec![text("from the template"), text("own")]
        );
        // Object Group is multi-instance too: both groups, and Locate finds it by the template's.
        assert_eq!(
            attribute(&mut conn, &uid, AttributeName::Standard(Tag::OBJECT_GROUP)).await,
            vec![text("drives"), text("mine")]
        );
        let found = conn
            .locate(Attributes::new().with(Tag::OBJECT_GROUP, text("drives")), None, None)
            .await
            .expect("locate");
        assert_eq!(found.unique_identifiers, vec![uid.clone()]);

        // A Create naming a template with a usage mask: a single-instance attribute, the
        // request's own wins.
        let mask = |m: CryptographicUsageMask| {
            Attribute::new(
                Tag::CRYPTOGRAPHIC_USAGE_MASK,
                AttributeValue::Integer(i32::from_be_bytes(m.0.to_be_bytes())),
            )
        };
        register(
            &mut conn,
            template(vec![mask(CryptographicUsageMask::ENCRYPT)]),
            vec![Attribute::new(Tag::NAME, AttributeValue::Name(name("tpl-2")))],
            &[],
        )
        .await
        .expect("register a second template");
        let create = |own: Vec<Attribute>| CreateRequest {
            object_type: ObjectType::SYMMETRIC_KEY,
            attributes: Attributes(
                [
                    Attribute::new(Tag::CRYPTOGRAPHIC_ALGORITHM, AttributeValue::Enumeration(CryptographicAlgorithm::AES.0)),
                    Attribute::new(Tag::CRYPTOGRAPHIC_LENGTH, AttributeValue::Integer(256)),
                ]
                .into_iter()
                .chain(own)
                .collect(),
            ),
            template_names: vec![name("tpl-2")],
            protection_storage_masks: None,
        };
        for (own, want) in [
            (Vec::new(), CryptographicUsageMask::ENCRYPT),
            (vec![mask(CryptographicUsageMask::DECRYPT)], CryptographicUsageMask::DECRYPT),
        ] {
            let key = conn
                .call(create(own), |p| match p {
                    ResponsePayload::Create(r) => Some(r.unique_identifier),
                    _ => None,
                })
                .await
                .expect("create through the template");
            assert_eq!(
                attribute(&mut conn, &key, AttributeName::Standard(Tag::CRYPTOGRAPHIC_USAGE_MASK)).await,
                vec![AttributeValue::Integer(i32::from_be_bytes(want.0.to_be_bytes()))]
            );
        }

        // Get returns the template as registered; Query Objects lists Template in 1.4 only.
        let got = conn.get(&tpl, None).await.expect("get the template");
        assert_eq!(got.object_type, ObjectType::TEMPLATE);
        match got.object.to_object(ProtocolVersion::V1_4) {
            Ok(Object::Template(t)) => assert_eq!(t.attributes.0, body),
            other => panic!("not a template: {other:?}"),
        }
        let objects = conn.query(&[QueryFunction::QUERY_OBJECTS]).await.expect("query");
        assert!(objects.object_types.contains(&ObjectType::TEMPLATE));
        let mut conn_21 = connect(server, ProtocolVersion::V2_1).await;
        let objects = conn_21.query(&[QueryFunction::QUERY_OBJECTS]).await.expect("query");
        assert!(!objects.object_types.contains(&ObjectType::TEMPLATE));
        assert!(objects.object_types.contains(&ObjectType::SECRET_DATA));

        // Refusals: a name that names no template, a name of nothing, a server-only attribute.
        let reason = |r: Result<String, ClientError>| r.expect_err("refused").result_reason();
        register(&mut conn, secret(), vec![Attribute::new(Tag::NAME, AttributeValue::Name(name("a-secret")))], &[])
            .await
            .expect("a named secret");
        assert_eq!(reason(register(&mut conn, secret(), Vec::new(), &["a-secret"]).await), Some(ResultReason::INVALID_FIELD));
        assert_eq!(reason(register(&mut conn, secret(), Vec::new(), &["no-such"]).await), Some(ResultReason::ITEM_NOT_FOUND));
        assert_eq!(
            reason(register(&mut conn, template(vec![Attribute::new(Tag::STATE, AttributeValue::Enumeration(2))]), Vec::new(), &[]).await),
            Some(ResultReason::INVALID_FIELD)
        );

        // A template is destroyed like any object; naming it afterwards fails.
        conn.destroy(&tpl).await.expect("destroy the template");
        assert!(register(&mut conn, secret(), Vec::new(), &["tpl-1"]).await.is_err());
    }
}
