//! A vector's messages as templates: TTLV trees whose leaves may be placeholders
//! (`$UNIQUE_IDENTIFIER_0`, `$NOW-3600`, `$DATA_25`...) still to be filled in (requests) or
//! matched (expected responses).
//!
//! The codec's XML reader offers every `$...` value to a hook while it parses. The hook answers
//! with a sentinel value of the declared type that indexes a table of placeholders; the tree is
//! then converted to [`Node`]s, turning each sentinel back into a [`Node::Hole`]. Sentinels never
//! leave this module.

use kmip_codec::tags::Tag;
use kmip_codec::ttlv::{Bytes, ItemType, Ttlv, Value};

use crate::error::Error;

/// A placeholder named in a vector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Placeholder {
    /// `$NOW`, `$NOW-3600`, `$NOW+3600`: the current time plus an offset in seconds.
    Now {
        /// Seconds added to the current time.
        offset: i64,
    },
    /// Any other name, with its `$` (`$UNIQUE_IDENTIFIER_0`): a value the server chooses,
    /// captured from a response and substituted into later requests.
    Named(String),
}

impl Placeholder {
    /// Reads the text of a `value="$..."` attribute.
    pub fn parse(text: &str) -> Placeholder {
        let now = text.strip_prefix("$NOW").and_then(|rest| {
            if rest.is_empty() {
                return Some(0);
            }
            let (sign, digits) = match rest.split_at_checked(1)? {
                ("-", d) => (-1, d),
                ("+", d) => (1, d),
                _ => return None,
            };
            digits.parse::<i64>().ok().map(|d| sign * d)
        });
        match now {
            Some(offset) => Placeholder::Now { offset },
            None => Placeholder::Named(text.to_owned()),
        }
    }

    /// The name without a trailing `_<digits>` index (`$DATA_25` -> `$DATA`).
    pub fn base_name(name: &str) -> &str {
        match name.rsplit_once('_') {
            Some((base, index))
                if !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit()) =>
            {
                base
            }
            _ => name,
        }
    }
}

impl std::fmt::Display for Placeholder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Placeholder::Now { offset: 0 } => f.write_str("$NOW"),
            Placeholder::Now { offset } => write!(f, "$NOW{offset:+}"),
            Placeholder::Named(n) => f.write_str(n),
        }
    }
}

/// One node of a template tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    /// A structure and its children, in order.
    Structure {
        /// Its tag.
        tag: Tag,
        /// Its children.
        children: Vec<Node>,
    },
    /// A literal primitive item.
    Literal(Ttlv),
    /// A placeholder of a declared type.
    Hole {
        /// Its tag.
        tag: Tag,
        /// The type the vector declares.
        item_type: ItemType,
        /// What it stands for.
        placeholder: Placeholder,
    },
}

impl Node {
    /// The node's tag.
    pub fn tag(&self) -> Tag {
        match self {
            Node::Structure { tag, .. } | Node::Hole { tag, .. } => *tag,
            Node::Literal(item) => item.tag,
        }
    }

    /// Children of a structure (empty otherwise).
    pub fn children(&self) -> &[Node] {
        match self {
            Node::Structure { children, .. } => children,
            _ => &[],
        }
    }

    /// First child with `tag`.
    pub fn child(&self, tag: Tag) -> Option<&Node> {
        self.children().iter().find(|c| c.tag() == tag)
    }

    /// The item type of the node.
    pub fn item_type(&self) -> ItemType {
        match self {
            Node::Structure { .. } => ItemType::Structure,
            Node::Literal(item) => item.value.item_type(),
            Node::Hole { item_type, .. } => *item_type,
        }
    }

    /// Visits every literal primitive of the tree.
    pub fn literals(&self, visit: &mut impl FnMut(&Ttlv)) {
        match self {
            Node::Structure { children, .. } => children.iter().for_each(|c| c.literals(visit)),
            Node::Literal(item) => visit(item),
            Node::Hole { .. } => {}
        }
    }

    /// Fills every hole with `fill`'s answer, producing a plain TTLV tree.
    pub fn instantiate(
        &self,
        fill: &mut impl FnMut(&Placeholder, ItemType) -> Result<Value, Error>,
    ) -> Result<Ttlv, Error> {
        Ok(match self {
            Node::Structure { tag, children } => Ttlv::structure(
                *tag,
                children
                    .iter()
                    .map(|c| c.instantiate(fill))
                    .collect::<Result<_, _>>()?,
            ),
            Node::Literal(item) => item.clone(),
            Node::Hole {
                tag,
                item_type,
                placeholder,
            } => {
                let value = fill(placeholder, *item_type)?;
                if value.item_type() != *item_type {
                    return Err(Error::PlaceholderType {
                        placeholder: placeholder.to_string(),
                        declared: *item_type,
                    });
                }
                Ttlv::new(*tag, value)
            }
        })
    }

    /// A tree without holes (every literal kept as is).
    pub fn from_ttlv(item: &Ttlv) -> Node {
        match &item.value {
            Value::Structure(children) => Node::Structure {
                tag: item.tag,
                children: children.iter().map(Node::from_ttlv).collect(),
            },
            _ => Node::Literal(item.clone()),
        }
    }
}

/// Prefix of a sentinel in a Text String or Byte String.
const SENTINEL_TEXT: &str = "\u{1}kms-vector-placeholder:";
/// Base of a sentinel Date-Time (far outside any real date, which the XML reader limits to
/// years 0000-9999).
const SENTINEL_TIME: i64 = i64::MIN / 2;

/// Parses a vector document into templates, top-level items in order.
pub fn parse(xml: &str) -> Result<Vec<Node>, Error> {
    let mut table: Vec<Placeholder> = Vec::new();
    let items = kmip_codec::xml::parse_document_with(xml, &mut |text, ty| {
        let index = table.len();
        let value = match ty {
            ItemType::TextString => Value::TextString(format!("{SENTINEL_TEXT}{index}")),
            ItemType::ByteString => {
                Value::ByteString(Bytes::new(format!("{SENTINEL_TEXT}{index}").into_bytes()))
            }
            ItemType::DateTime => Value::DateTime(SENTINEL_TIME + index as i64),
            ItemType::DateTimeExtended => Value::DateTimeExtended(SENTINEL_TIME + index as i64),
            // No vector uses a placeholder of another type; let the reader reject it.
            _ => return None,
        };
        table.push(Placeholder::parse(text));
        Some(value)
    })
    .map_err(Error::Xml)?;
    Ok(items.iter().map(|i| to_node(i, &table)).collect())
}

fn to_node(item: &Ttlv, table: &[Placeholder]) -> Node {
    let index = match &item.value {
        Value::Structure(children) => {
            return Node::Structure {
                tag: item.tag,
                children: children.iter().map(|c| to_node(c, table)).collect(),
            };
        }
        Value::TextString(s) => s.strip_prefix(SENTINEL_TEXT).and_then(|i| i.parse().ok()),
        Value::ByteString(b) => std::str::from_utf8(b.as_slice())
            .ok()
            .and_then(|s| s.strip_prefix(SENTINEL_TEXT))
            .and_then(|i| i.parse().ok()),
        Value::DateTime(t) | Value::DateTimeExtended(t) => usize::try_from(t - SENTINEL_TIME)
            .ok()
            .filter(|i| *i < table.len()),
        _ => None,
    };
    match index.and_then(|i: usize| table.get(i)) {
        Some(placeholder) => Node::Hole {
            tag: item.tag,
            item_type: item.value.item_type(),
            placeholder: placeholder.clone(),
        },
        None => Node::Literal(normalized(item)),
    }
}

/// Undoes the one transcription artifact of the vector files: the XML of the older profiles
/// was converted from documents and carries runs of spaces inside Attribute Names
/// (`"Cryptographic   Usage Mask"`, 461 occurrences). No KMIP attribute name has two spaces in
/// a row (KMIP 1.4 section 3), so runs collapse to one space, in requests and in expected
/// responses alike. Nothing else is rewritten.
fn normalized(item: &Ttlv) -> Ttlv {
    match &item.value {
        Value::TextString(s) if item.tag == Tag::ATTRIBUTE_NAME && s.contains("  ") => Ttlv::new(
            item.tag,
            Value::TextString(s.split_whitespace().collect::<Vec<_>>().join(" ")),
        ),
        _ => item.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_parse_with_offsets() {
        assert_eq!(Placeholder::parse("$NOW"), Placeholder::Now { offset: 0 });
        assert_eq!(
            Placeholder::parse("$NOW-3600"),
            Placeholder::Now { offset: -3600 }
        );
        assert_eq!(
            Placeholder::parse("$NOW+3600"),
            Placeholder::Now { offset: 3600 }
        );
        assert_eq!(
            Placeholder::parse("$NOWHERE"),
            Placeholder::Named("$NOWHERE".into())
        );
        assert_eq!(Placeholder::base_name("$DATA_25"), "$DATA");
        assert_eq!(
            Placeholder::base_name("$IV_COUNTER_NONCE"),
            "$IV_COUNTER_NONCE"
        );
    }

    #[test]
    fn holes_replace_placeholders_and_keep_literals() {
        let xml = r#"<KMIP><ResponseMessage><ResponseHeader>
            <TimeStamp type="DateTime" value="$NOW"/></ResponseHeader>
            <BatchItem><ResponsePayload>
            <UniqueIdentifier type="TextString" value="$UNIQUE_IDENTIFIER_3"/>
            <Data type="ByteString" value="$DATA_0"/>
            <IVCounterNonce type="ByteString" value="0102"/>
            </ResponsePayload></BatchItem></ResponseMessage></KMIP>"#;
        let nodes = parse(xml).expect("parses");
        let [message] = nodes.as_slice() else {
            panic!("one message, got {}", nodes.len());
        };
        let header = message.child(Tag::RESPONSE_HEADER).expect("header");
        assert_eq!(
            header.child(Tag::TIME_STAMP),
            Some(&Node::Hole {
                tag: Tag::TIME_STAMP,
                item_type: ItemType::DateTime,
                placeholder: Placeholder::Now { offset: 0 },
            })
        );
        let payload = message
            .child(Tag::BATCH_ITEM)
            .and_then(|b| b.child(Tag::RESPONSE_PAYLOAD))
            .expect("payload");
        assert!(matches!(
            payload.child(Tag::UNIQUE_IDENTIFIER),
            Some(Node::Hole { placeholder: Placeholder::Named(n), .. }) if n == "$UNIQUE_IDENTIFIER_3"
        ));
        assert!(matches!(
            payload.child(Tag::DATA),
            Some(Node::Hole {
                item_type: ItemType::ByteString,
                ..
            })
        ));
        assert_eq!(
            payload.child(Tag::IV_COUNTER_NONCE),
            Some(&Node::Literal(Ttlv::new(
                Tag::IV_COUNTER_NONCE,
                Value::ByteString(Bytes::new(vec![1, 2]))
            )))
        );
    }

    #[test]
    fn attribute_names_lose_runs_of_spaces_and_nothing_else_does() {
        let xml = r#"<KMIP><RequestMessage>
            <AttributeName type="TextString" value="Cryptographic   Usage Mask"/>
            <NameValue type="TextString" value="two  spaces"/>
            </RequestMessage></KMIP>"#;
        let nodes = parse(xml).expect("parses");
        let children = nodes.first().map(Node::children).unwrap_or_default();
        assert_eq!(
            children,
            [
                Node::Literal(Ttlv::new(
                    Tag::ATTRIBUTE_NAME,
                    Value::TextString("Cryptographic Usage Mask".into())
                )),
                Node::Literal(Ttlv::new(
                    Tag::NAME_VALUE,
                    Value::TextString("two  spaces".into())
                )),
            ]
        );
    }

    #[test]
    fn instantiate_checks_the_filled_type() {
        let node = Node::Hole {
            tag: Tag::UNIQUE_IDENTIFIER,
            item_type: ItemType::TextString,
            placeholder: Placeholder::Named("$UNIQUE_IDENTIFIER_0".into()),
        };
        let ok = node.instantiate(&mut |_, _| Ok(Value::TextString("abc".into())));
        assert_eq!(ok.expect("fills").value, Value::TextString("abc".into()));
        let bad = node.instantiate(&mut |_, _| Ok(Value::Integer(1)));
        assert!(matches!(bad, Err(Error::PlaceholderType { .. })));
    }
}
