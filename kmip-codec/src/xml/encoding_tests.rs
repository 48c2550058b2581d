use super::*;
use crate::enums::{CryptographicAlgorithm, CryptographicUsageMask, ObjectType};
use crate::error::ErrorKind;
use crate::tags::Tag;
use crate::ttlv::{Bytes, ItemType, Ttlv, Value};

fn attr(name: &str, value: Value) -> Ttlv {
    Ttlv::structure(
        Tag::ATTRIBUTE,
        vec![
            Ttlv::new(Tag::ATTRIBUTE_NAME, Value::TextString(name.into())),
            Ttlv::new(Tag::ATTRIBUTE_VALUE, value),
        ],
    )
}

#[test]
fn attribute_value_names_resolve_through_attribute_name() {
    let xml = r#"<TemplateAttribute>
      <Attribute>
        <AttributeName type="TextString" value="Cryptographic Algorithm"/>
        <AttributeValue type="Enumeration" value="AES"/>
      </Attribute>
      <Attribute>
        <AttributeName type="TextString" value="Cryptographic Usage Mask"/>
        <AttributeValue type="Integer" value="Decrypt   Encrypt"/>
      </Attribute>
    </TemplateAttribute>"#;
    let item = from_xml(xml).unwrap();
    let mask = CryptographicUsageMask::ENCRYPT | CryptographicUsageMask::DECRYPT;
    let expected = Ttlv::structure(
        Tag::TEMPLATE_ATTRIBUTE,
        vec![
            attr(
                "Cryptographic Algorithm",
                Value::Enumeration(CryptographicAlgorithm::AES.0),
            ),
            attr("Cryptographic Usage Mask", Value::Integer(mask.0 as i32)),
        ],
    );
    assert_eq!(item, expected);
    let text = to_xml(&item);
    assert!(
        text.contains(r#"<AttributeValue type="Enumeration" value="AES"/>"#),
        "{text}"
    );
    assert!(text.contains(r#"value="Encrypt Decrypt""#), "{text}");
    assert_eq!(from_xml(&text).unwrap(), item);
}

#[test]
fn every_primitive_type_round_trips() {
    let item = Ttlv::structure(
        Tag::REQUEST_PAYLOAD,
        vec![
            Ttlv::new(
                Tag::OBJECT_TYPE,
                Value::Enumeration(ObjectType::SYMMETRIC_KEY.0),
            ),
            Ttlv::new(Tag::OBJECT_TYPE, Value::Enumeration(0x8000_0001)),
            Ttlv::new(Tag::CRYPTOGRAPHIC_LENGTH, Value::Integer(-5)),
            Ttlv::new(Tag::ITERATION_COUNT, Value::LongInteger(i64::MIN)),
            Ttlv::new(
                Tag::MODULUS,
                Value::BigInteger(vec![0, 0, 0, 0, 0, 0, 1, 0xFF].into()),
            ),
            Ttlv::new(Tag::SENSITIVE, Value::Boolean(true)),
            Ttlv::new(Tag::NAME_VALUE, Value::TextString("a \"<&>\" b".into())),
            Ttlv::new(
                Tag::KEY_MATERIAL,
                Value::ByteString(Bytes::new(vec![0xDE, 0xAD])),
            ),
            Ttlv::new(Tag::KEY_MATERIAL, Value::ByteString(Bytes::new(vec![]))),
            Ttlv::new(Tag::ACTIVATION_DATE, Value::DateTime(1_335_514_341)),
            Ttlv::new(Tag::ACTIVATION_DATE, Value::DateTime(i64::MAX)),
            Ttlv::new(Tag::LEASE_TIME, Value::Interval(3600)),
            Ttlv::new(
                Tag::ACTIVATION_DATE,
                Value::DateTimeExtended(1_335_514_341_123_456),
            ),
            Ttlv::new(Tag(0x54_0001), Value::TextString("vendor".into())),
            Ttlv::structure(Tag(0x54_0002), vec![]),
            Ttlv::new(
                Tag::ATTRIBUTE_REFERENCE,
                Value::Enumeration(Tag::OBJECT_TYPE.0),
            ),
        ],
    );
    let text = to_xml(&item);
    assert!(text.contains(r#"<ObjectType type="Enumeration" value="SymmetricKey"/>"#));
    assert!(text.contains(r#"value="0x80000001""#));
    assert!(
        text.contains(r#"value="2012-04-27T08:12:21+00:00""#),
        "{text}"
    );
    assert!(text.contains(r#"<TTLV tag="0x540001" type="TextString" value="vendor"/>"#));
    assert!(text.contains(r#"<AttributeReference type="Enumeration" value="ObjectType"/>"#));
    assert_eq!(from_xml(&text).unwrap(), item, "{text}");
}

#[test]
fn placeholders_go_to_the_hook() {
    let xml = r#"<KMIP><!-- c --><ResponseMessage>
        <UniqueIdentifier type="TextString" value="$UNIQUE_IDENTIFIER_0"/>
        <TimeStamp type="DateTime" value="$NOW"/>
    </ResponseMessage></KMIP>"#;
    assert!(parse_document(xml).is_err());
    let mut seen = Vec::new();
    let items = parse_document_with(xml, &mut |p: &str, ty| {
        seen.push((p.to_owned(), ty));
        match ty {
            ItemType::DateTime => Some(Value::DateTime(7)),
            _ => Some(Value::TextString("uid-1".into())),
        }
    })
    .unwrap();
    assert_eq!(
        seen,
        vec![
            ("$UNIQUE_IDENTIFIER_0".to_owned(), ItemType::TextString),
            ("$NOW".to_owned(), ItemType::DateTime)
        ]
    );
    assert_eq!(items.len(), 1);
    assert_eq!(
        items[0].child(Tag::TIME_STAMP).map(|t| &t.value),
        Some(&Value::DateTime(7))
    );
}

fn kind(xml: &str) -> ErrorKind {
    match from_xml(xml) {
        Ok(item) => panic!("accepted {item:?}"),
        Err(e) => {
            let e = format!("{e}");
            assert!(!e.is_empty());
            // Re-parse to get the kind by value.
            match from_xml(xml) {
                Err(e) => match e.kind() {
                    ErrorKind::XmlShape(s) => ErrorKind::XmlShape(*s),
                    ErrorKind::UnknownTagName => ErrorKind::UnknownTagName,
                    ErrorKind::UnknownEnumName { tag } => ErrorKind::UnknownEnumName { tag: *tag },
                    ErrorKind::InvalidXmlValue { item_type } => ErrorKind::InvalidXmlValue {
                        item_type: *item_type,
                    },
                    ErrorKind::TooDeep { limit } => ErrorKind::TooDeep { limit: *limit },
                    other => panic!("unexpected {other:?}"),
                },
                Ok(_) => unreachable!(),
            }
        }
    }
}

#[test]
fn bad_input_is_a_typed_error() {
    assert!(matches!(kind("<Bogus/>"), ErrorKind::UnknownTagName));
    assert!(matches!(
        kind(r#"<ObjectType type="Enumeration" value="Nope"/>"#),
        ErrorKind::UnknownEnumName { tag } if tag == Tag::OBJECT_TYPE
    ));
    assert!(matches!(
        kind(r#"<BatchCount type="Integer" value="x1"/>"#),
        ErrorKind::InvalidXmlValue {
            item_type: ItemType::Integer
        }
    ));
    assert!(matches!(
        kind(r#"<BatchCount type="Integer" value="4294967296"/>"#),
        ErrorKind::InvalidXmlValue { .. }
    ));
    assert!(matches!(
        kind(r#"<KeyMaterial type="ByteString" value="abc"/>"#),
        ErrorKind::InvalidXmlValue { .. }
    ));
    assert!(matches!(
        kind(r#"<BatchCount type="Float" value="1"/>"#),
        ErrorKind::XmlShape(XmlShape::UnknownType)
    ));
    assert!(matches!(
        kind(r#"<BatchCount type="Integer"/>"#),
        ErrorKind::XmlShape(XmlShape::MissingValue)
    ));
    assert!(matches!(
        kind("<BatchItem>text</BatchItem>"),
        ErrorKind::XmlShape(XmlShape::UnexpectedText)
    ));
    assert!(matches!(
        kind(r#"<BatchCount type="Integer" value="1"><BatchItem/></BatchCount>"#),
        ErrorKind::XmlShape(XmlShape::ChildOfPrimitive)
    ));
    assert!(matches!(
        kind("<BatchItem/><BatchItem/>"),
        ErrorKind::XmlShape(XmlShape::SeveralElements)
    ));
    assert!(matches!(
        kind("<!-- only -->"),
        ErrorKind::XmlShape(XmlShape::NoElement)
    ));
    assert!(matches!(
        kind("<TTLV type=\"Integer\" value=\"1\"/>"),
        ErrorKind::XmlShape(XmlShape::MissingTag)
    ));
    let deep = "<BatchItem>".repeat(40) + &"</BatchItem>".repeat(40);
    assert!(matches!(kind(&deep), ErrorKind::TooDeep { .. }));
    assert!(from_xml("<BatchItem>").is_err());
    assert!(from_xml("<BatchItem></RequestMessage>").is_err());
}

#[test]
fn from_xml_with_applies_the_limits() {
    use crate::limits::Limits;
    let xml = "<RequestMessage><BatchCount type=\"Integer\" value=\"1\"/>\
               <BatchCount type=\"Integer\" value=\"1\"/></RequestMessage>";
    let small = Limits::default().with_max_message_size(32);
    assert!(matches!(
        from_xml_with(xml, &small).unwrap_err().kind(),
        ErrorKind::MessageTooLarge { .. }
    ));
    let one_item = Limits {
        max_items_per_structure: 1,
        ..Limits::default()
    };
    assert!(matches!(
        from_xml_with(xml, &one_item).unwrap_err().kind(),
        ErrorKind::TooManyItems { limit: 1 }
    ));
    let shallow = Limits {
        max_depth: 1,
        ..Limits::default()
    };
    let nested = "<RequestMessage><RequestHeader/></RequestMessage>";
    assert!(matches!(
        from_xml_with(nested, &shallow).unwrap_err().kind(),
        ErrorKind::TooDeep { limit: 1 }
    ));
    assert!(from_xml_with(xml, &Limits::default()).is_ok());
}
