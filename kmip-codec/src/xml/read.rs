//! Reading the KMIP XML encoding into TTLV items.

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use super::XmlShape;
use super::value::{BadValue, item_type_from_name, names_for, parse_value};
use crate::error::{Error, ErrorKind, Result};
use crate::limits::Limits;
use crate::tags::Tag;
use crate::ttlv::{ItemType, Ttlv, Value};

/// Parses one element (with its children) into an item. Comments and the XML declaration are
/// ignored; anything else besides the one element is an error.
pub fn from_xml(xml: &str) -> Result<Ttlv> {
    from_xml_with(xml, &Limits::DEFAULT)
}

/// Like [`from_xml`], under `limits`: a text larger than [`Limits::max_message_size`] is
/// refused before it is read, structures deeper than [`Limits::max_depth`] or with more than
/// [`Limits::max_items_per_structure`] items when they are met. For XML bodies read from the
/// network (the MSGENC-XML profile).
pub fn from_xml_with(xml: &str, limits: &Limits) -> Result<Ttlv> {
    if xml.len() > limits.max_message_size {
        return Err(Error::new(ErrorKind::MessageTooLarge {
            size: xml.len(),
            limit: limits.max_message_size,
        })
        .at_offset(0));
    }
    let mut items = parse(xml, &mut |_, _| None, false, limits)?;
    match (items.pop(), items.is_empty()) {
        (Some(item), true) => Ok(item),
        (None, _) => Err(shape(XmlShape::NoElement)),
        (Some(_), false) => Err(shape(XmlShape::SeveralElements)),
    }
}

/// Parses a test-vector file: a root element that is not a tag (`<KMIP>`, `<KmipTestCase>`)
/// holding items (Request Message / Response Message), or a bare sequence of items. Values
/// starting with `$` (placeholders such as `$NOW`, `$UNIQUE_IDENTIFIER_0`) are errors here; use
/// [`parse_document_with`] to substitute them.
pub fn parse_document(xml: &str) -> Result<Vec<Ttlv>> {
    parse(xml, &mut |_, _| None, true, &Limits::DEFAULT)
}

/// Like [`parse_document`], but a `value` starting with `$` is first offered to `placeholder`
/// with the item's declared type; `Some(value)` replaces it, `None` parses the text as usual
/// (which then fails for most types). The value's type should match the declared type.
pub fn parse_document_with(
    xml: &str,
    placeholder: &mut impl FnMut(&str, ItemType) -> Option<Value>,
) -> Result<Vec<Ttlv>> {
    parse(xml, placeholder, true, &Limits::DEFAULT)
}

fn shape(s: XmlShape) -> Error {
    Error::new(ErrorKind::XmlShape(s))
}

fn syntax(e: impl Into<quick_xml::Error>) -> Error {
    Error::new(ErrorKind::XmlSyntax(e.into()))
}

/// An element being read: a structure collecting children, or a primitive waiting for its end.
struct Open {
    tag: Tag,
    children: Vec<Ttlv>,
    primitive: Option<Ttlv>,
}

fn parse(
    xml: &str,
    placeholder: &mut dyn FnMut(&str, ItemType) -> Option<Value>,
    allow_wrapper: bool,
    limits: &Limits,
) -> Result<Vec<Ttlv>> {
    let mut reader = Reader::from_str(xml);
    reader.config_mut().trim_text(true);
    let mut stack: Vec<Open> = Vec::new();
    let mut roots: Vec<Ttlv> = Vec::new();
    // Depth of the wrapper root element, when one is open.
    let mut in_wrapper = false;
    loop {
        let path = || stack.iter().map(|o| o.tag).collect::<Vec<_>>();
        match reader.read_event().map_err(syntax)? {
            Event::Start(e) => {
                if allow_wrapper
                    && !in_wrapper
                    && stack.is_empty()
                    && roots.is_empty()
                    && is_wrapper(&e)
                {
                    in_wrapper = true;
                    continue;
                }
                let siblings = stack.last().map_or(&roots[..], |o| &o.children[..]);
                let (tag, primitive) =
                    open(&e, siblings, placeholder).map_err(|err| err.with_path(path()))?;
                if stack.len() >= limits.max_depth {
                    return Err(Error::new(ErrorKind::TooDeep {
                        limit: limits.max_depth,
                    })
                    .with_path(path()));
                }
                if stack.last().is_some_and(|o| o.primitive.is_some()) {
                    return Err(shape(XmlShape::ChildOfPrimitive).with_path(path()));
                }
                stack.push(Open {
                    tag,
                    children: Vec::new(),
                    primitive,
                });
            }
            Event::Empty(e) => {
                if stack.last().is_some_and(|o| o.primitive.is_some()) {
                    return Err(shape(XmlShape::ChildOfPrimitive).with_path(path()));
                }
                let siblings = stack.last().map_or(&roots[..], |o| &o.children[..]);
                let (tag, primitive) =
                    open(&e, siblings, placeholder).map_err(|err| err.with_path(path()))?;
                // An empty structure is a level of nesting too.
                if primitive.is_none() && stack.len() >= limits.max_depth {
                    return Err(Error::new(ErrorKind::TooDeep {
                        limit: limits.max_depth,
                    })
                    .with_path(path()));
                }
                let item = primitive.unwrap_or_else(|| Ttlv::structure(tag, Vec::new()));
                push(&mut stack, &mut roots, item, limits)?;
            }
            Event::End(_) => match stack.pop() {
                Some(open) => {
                    let item = match open.primitive {
                        Some(p) => p,
                        None => Ttlv::structure(open.tag, open.children),
                    };
                    push(&mut stack, &mut roots, item, limits)?;
                }
                None if in_wrapper => in_wrapper = false,
                // quick-xml reports a stray end tag itself; be defensive anyway.
                None => return Err(shape(XmlShape::Unclosed)),
            },
            Event::Text(t) => {
                if !t.iter().all(u8::is_ascii_whitespace) {
                    return Err(shape(XmlShape::UnexpectedText).with_path(path()));
                }
            }
            Event::CData(_) | Event::GeneralRef(_) => {
                return Err(shape(XmlShape::UnexpectedText).with_path(path()));
            }
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() || in_wrapper {
        return Err(shape(XmlShape::Unclosed));
    }
    Ok(roots)
}

/// Adds a finished item to its parent (or the top level).
fn push(stack: &mut [Open], roots: &mut Vec<Ttlv>, item: Ttlv, limits: &Limits) -> Result<()> {
    let list = match stack.last_mut() {
        Some(parent) => &mut parent.children,
        None => roots,
    };
    if list.len() >= limits.max_items_per_structure {
        return Err(Error::new(ErrorKind::TooManyItems {
            limit: limits.max_items_per_structure,
        }));
    }
    list.push(item);
    Ok(())
}

/// A document root that is not an item: no known tag name and no attributes.
fn is_wrapper(e: &BytesStart<'_>) -> bool {
    let name = e.name();
    let name = std::str::from_utf8(name.as_ref()).unwrap_or("");
    name != "TTLV" && Tag::from_xml_name(name).is_none() && e.attributes().next().is_none()
}

/// Reads an element's tag and, for a primitive, its value.
fn open(
    e: &BytesStart<'_>,
    siblings: &[Ttlv],
    placeholder: &mut dyn FnMut(&str, ItemType) -> Option<Value>,
) -> Result<(Tag, Option<Ttlv>)> {
    let mut tag_attr = None;
    let mut type_attr = None;
    let mut value_attr = None;
    for attr in e.attributes() {
        let attr = attr.map_err(syntax)?;
        let text = attr.unescape_value().map_err(syntax)?;
        match attr.key.as_ref() {
            b"tag" => tag_attr = Some(text),
            b"type" => type_attr = Some(text),
            b"value" => value_attr = Some(text),
            // Other attributes (e.g. a `name` beside `tag`) carry no item data.
            _ => {}
        }
    }
    let name = e.name();
    let name =
        std::str::from_utf8(name.as_ref()).map_err(|_| Error::new(ErrorKind::UnknownTagName))?;
    let tag = if name == "TTLV" {
        let t = tag_attr.ok_or_else(|| shape(XmlShape::MissingTag))?;
        parse_hex_tag(&t).ok_or_else(|| shape(XmlShape::MissingTag))?
    } else {
        Tag::from_xml_name(name)
            .or_else(|| parse_hex_tag(name))
            .ok_or_else(|| Error::new(ErrorKind::UnknownTagName))?
    };
    let located = |err: Error| err.in_tag(tag);
    let ty = match type_attr.as_deref() {
        None => ItemType::Structure,
        Some(t) => item_type_from_name(t).ok_or_else(|| located(shape(XmlShape::UnknownType)))?,
    };
    if ty == ItemType::Structure {
        return Ok((tag, None));
    }
    let text = value_attr.ok_or_else(|| located(shape(XmlShape::MissingValue)))?;
    if text.starts_with('$')
        && let Some(v) = placeholder(&text, ty)
    {
        return Ok((tag, Some(Ttlv::new(tag, v))));
    }
    let names = names_for(tag, siblings);
    let value = parse_value(ty, &text, names).map_err(|bad| {
        located(Error::new(match bad {
            BadValue::Syntax => ErrorKind::InvalidXmlValue { item_type: ty },
            BadValue::UnknownName => ErrorKind::UnknownEnumName { tag: names.tag },
        }))
    })?;
    Ok((tag, Some(Ttlv::new(tag, value))))
}

/// A tag written as hex, `0x540001` (or `540001`): three bytes.
fn parse_hex_tag(text: &str) -> Option<Tag> {
    let hex = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    if hex.is_empty() || hex.len() > 6 {
        return None;
    }
    u32::from_str_radix(hex, 16).ok().map(Tag)
}
