//! Known mistakes in the OASIS vector files, corrected when a file is loaded. Each entry names
//! the file, the step, the message and the exact value it replaces (or, for [`LIST_ERRATA`],
//! the attribute entries it moves or inserts); loading fails when the value is not there, so
//! the tables cannot drift from the files.

use kmip_codec::tags::Tag;
use kmip_codec::ttlv::{Bytes, Ttlv, Value};

use super::Step;
use super::template::Node;
use crate::error::Error;

/// Which message of a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// The request.
    Request,
    /// The expected response.
    Response,
}

/// A value as the table writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Literal {
    /// An Integer.
    Integer(i32),
    /// A Byte String, in hex.
    Hex(&'static str),
    /// An Enumeration.
    Enumeration(u32),
    /// A Boolean.
    Boolean(bool),
}

impl Literal {
    fn value(self) -> Option<Value> {
        Some(match self {
            Literal::Integer(i) => Value::Integer(i),
            Literal::Hex(h) => Value::ByteString(Bytes::new(hex(h)?)),
            Literal::Enumeration(e) => Value::Enumeration(e),
            Literal::Boolean(b) => Value::Boolean(b),
        })
    }
}

/// One correction.
#[derive(Clone, Copy, Debug)]
pub struct Erratum {
    /// File name.
    pub file: &'static str,
    /// 1-based step.
    pub step: usize,
    /// Which message of the step.
    pub part: Part,
    /// The item's tag.
    pub tag: Tag,
    /// The value the file has.
    pub wrong: Literal,
    /// The value a conforming exchange has.
    pub right: Literal,
    /// Why.
    pub why: &'static str,
}

/// Why CS-BC-M-6-13 is corrected.
const CS_BC_M_6_13: &str = "the 1.3 file gives the ciphertext of CS-BC-M-1 (a random key); \
    AES-128-ECB of 0102...16 under the registered key 0123456789abcdef0123456789abcdef is \
    d9bcce11b0b437b90239552df3a360c9, as the 1.4, 2.0 and 2.1 files of the same case say";

/// Why CS-BC-M-14-20 is corrected.
const CS_BC_M_14_20: &str = "the 2.0 run answers Permission Denied where the 2.1 run of the same \
    case answers Wrong Key Lifecycle State (Encrypt after the Protect Stop Date, Decrypt before \
    the Process Start Date); KMIP 2.0 sections 6.1.17.1 and 6.1.11.1 allow both, the server \
    answers the precise one in every 2.x version (1.x lacks it and gets Permission Denied)";

/// Why AKLC-M-2-20 and AKLC-M-3-20 are corrected.
const AKLC_20: &str = "the 2.0 run answers Permission Denied where the 2.1 run of the same \
    case answers Wrong Key Lifecycle State (Destroy of an Active private key, Modify Attribute \
    of an Active key's Activation Date); as for CS-BC-M-14-20, the server answers the precise \
    reason in every 2.x version";

/// Why CS-AC-M-8-20 is corrected.
const CS_AC_M_8_20: &str = "the 2.0 run answers Permission Denied where the 2.1 run of the same \
    case answers Wrong Key Lifecycle State (Sign after the Protect Stop Date, Signature Verify \
    before the Process Start Date); as for CS-BC-M-14-20";

/// The corrections.
pub const ERRATA: [Erratum; 9] = [
    Erratum {
        file: "OMOS-O-1-14.xml",
        step: 2,
        part: Part::Response,
        tag: Tag::PROTOCOL_VERSION_MINOR,
        wrong: Literal::Integer(3),
        right: Literal::Integer(4),
        why: "the Destroy response header says KMIP 1.3 for a 1.4 request; every other \
              response of the file, and KMIP 1.4 section 7.1, answer in the request's version",
    },
    Erratum {
        file: "CS-BC-M-6-13.xml",
        step: 2,
        part: Part::Response,
        tag: Tag::DATA,
        wrong: Literal::Hex("fd912d102dbb482f6f6e91bd57119095"),
        right: Literal::Hex("d9bcce11b0b437b90239552df3a360c9"),
        why: CS_BC_M_6_13,
    },
    Erratum {
        file: "CS-BC-M-6-13.xml",
        step: 3,
        part: Part::Request,
        tag: Tag::DATA,
        wrong: Literal::Hex("fd912d102dbb482f6f6e91bd57119095"),
        right: Literal::Hex("d9bcce11b0b437b90239552df3a360c9"),
        why: CS_BC_M_6_13,
    },
    Erratum {
        file: "CS-BC-M-14-20.xml",
        step: 2,
        part: Part::Response,
        tag: Tag::RESULT_REASON,
        wrong: Literal::Enumeration(0xC),
        right: Literal::Enumeration(0x43),
        why: CS_BC_M_14_20,
    },
    Erratum {
        file: "CS-BC-M-14-20.xml",
        step: 3,
        part: Part::Response,
        tag: Tag::RESULT_REASON,
        wrong: Literal::Enumeration(0xC),
        right: Literal::Enumeration(0x43),
        why: CS_BC_M_14_20,
    },
    Erratum {
        file: "AKLC-M-2-20.xml",
        step: 6,
        part: Part::Response,
        tag: Tag::RESULT_REASON,
        wrong: Literal::Enumeration(0xC),
        right: Literal::Enumeration(0x43),
        why: AKLC_20,
    },
    Erratum {
        file: "AKLC-M-3-20.xml",
        step: 5,
        part: Part::Response,
        tag: Tag::RESULT_REASON,
        wrong: Literal::Enumeration(0xC),
        right: Literal::Enumeration(0x43),
        why: AKLC_20,
    },
    Erratum {
        file: "CS-AC-M-8-20.xml",
        step: 3,
        part: Part::Response,
        tag: Tag::RESULT_REASON,
        wrong: Literal::Enumeration(0xC),
        right: Literal::Enumeration(0x43),
        why: CS_AC_M_8_20,
    },
    Erratum {
        file: "CS-AC-M-8-20.xml",
        step: 4,
        part: Part::Response,
        tag: Tag::RESULT_REASON,
        wrong: Literal::Enumeration(0xC),
        right: Literal::Enumeration(0x43),
        why: CS_AC_M_8_20,
    },
];

/// A correction of a response's list of attributes: the Attribute Names of Get Attribute List,
/// or the Attribute structures of Get Attributes (KMIP 1.x forms), each found by its name.
#[derive(Clone, Copy, Debug)]
pub enum ListEdit {
    /// Moves the entry of attribute `name` to just after the entry of `after`.
    Move {
        /// The attribute moved.
        name: &'static str,
        /// The attribute it follows afterwards.
        after: &'static str,
    },
    /// Inserts an entry for attribute `name` just after the entry of `after`; in a list of
    /// Attribute structures its Attribute Value is a structure of `value`, or the one literal
    /// of a `value` that names [`Tag::ATTRIBUTE_VALUE`] itself.
    Insert {
        /// The attribute inserted.
        name: &'static str,
        /// The attribute it follows.
        after: &'static str,
        /// The fields of its value (Attribute structures only).
        value: &'static [(Tag, Literal)],
    },
}

/// One correction of an attribute list, in the Response Payload of a step's response (of the
/// first batch item whose list holds the entries the edit names).
#[derive(Clone, Copy, Debug)]
pub struct ListErratum {
    /// File name.
    pub file: &'static str,
    /// 1-based step.
    pub step: usize,
    /// What changes.
    pub edit: ListEdit,
    /// Why.
    pub why: &'static str,
}

/// Why the Original Creation Date moves.
const ORIGINAL_CREATION_DATE_ORDER: &str = "the vendor listed Original Creation Date last in these \
    runs only; in the same exchange of SKFF-M-9-12 and SKFF-M-9-13, in SKLC-O-1-12/-13 and in \
    every 1.4, 2.0 and 2.1 file it stands in name order between Name and Revocation Reason, the \
    order the server follows (KMIP leaves the order open, so the vectors fix it)";

/// Why the 1.3 files gain a Random Number Generator.
const RNG_IS_MANDATORY_IN_1_3: &str = "KMIP 1.3 section 3.44: the Random Number Generator \
    attribute \"is mandatory for an object created on the server as a result of a Create\" and \
    SHALL be set by the server (and Create Key Pair's keys are made as a Create's); the 1.3 \
    runs list none for a created key, the 1.4, 2.0 and 2.1 runs of the same cases do";

/// The RNG Parameters inserted for the 1.3 files (the values are not compared, see
/// `compare` rule 6).
const RNG_VALUE: &[(Tag, Literal)] = &[(Tag::RNG_ALGORITHM, Literal::Enumeration(1))];

/// Why TL-M-3-14's Get Attributes gains the four protection attributes.
const TL_M_3_14_PROTECTIONS: &str = "Get Attributes naming no attribute returns all of them \
    (KMIP 1.4 section 4.14); the same file's Get Attribute List, one step earlier, lists Always \
    Sensitive, Extractable, Never Extractable and Sensitive for this key, and the 2.0 and 2.1 runs \
    of the case return them (false, true, false, false) from Get Attributes";

/// A Boolean Attribute Value.
const FALSE: &[(Tag, Literal)] = &[(Tag::ATTRIBUTE_VALUE, Literal::Boolean(false))];
const TRUE: &[(Tag, Literal)] = &[(Tag::ATTRIBUTE_VALUE, Literal::Boolean(true))];

/// The attribute-list corrections.
pub const LIST_ERRATA: [ListErratum; 17] = [
    ListErratum {
        file: "TL-M-3-13.xml",
        step: 2,
        edit: ListEdit::Insert {
            name: "Random Number Generator",
            after: "Original Creation Date",
            value: &[],
        },
        why: RNG_IS_MANDATORY_IN_1_3,
    },
    ListErratum {
        file: "TL-M-3-13.xml",
        step: 3,
        edit: ListEdit::Insert {
            name: "Random Number Generator",
            after: "Original Creation Date",
            value: RNG_VALUE,
        },
        why: RNG_IS_MANDATORY_IN_1_3,
    },
    ListErratum {
        file: "TL-M-3-14.xml",
        step: 3,
        edit: ListEdit::Insert {
            name: "Always Sensitive",
            after: "Alternative Name",
            value: FALSE,
        },
        why: TL_M_3_14_PROTECTIONS,
    },
    ListErratum {
        file: "TL-M-3-14.xml",
        step: 3,
        edit: ListEdit::Insert {
            name: "Extractable",
            after: "Digest",
            value: TRUE,
        },
        why: TL_M_3_14_PROTECTIONS,
    },
    ListErratum {
        file: "TL-M-3-14.xml",
        step: 3,
        edit: ListEdit::Insert {
            name: "Never Extractable",
            after: "Name",
            value: FALSE,
        },
        why: TL_M_3_14_PROTECTIONS,
    },
    ListErratum {
        file: "TL-M-3-14.xml",
        step: 3,
        edit: ListEdit::Insert {
            name: "Sensitive",
            after: "Random Number Generator",
            value: FALSE,
        },
        why: TL_M_3_14_PROTECTIONS,
    },
    ListErratum {
        file: "SKFF-M-10-12.xml",
        step: 9,
        edit: ListEdit::Move {
            name: "Original Creation Date",
            after: "Name",
        },
        why: ORIGINAL_CREATION_DATE_ORDER,
    },
    ListErratum {
        file: "SKFF-M-11-12.xml",
        step: 9,
        edit: ListEdit::Move {
            name: "Original Creation Date",
            after: "Name",
        },
        why: ORIGINAL_CREATION_DATE_ORDER,
    },
    ListErratum {
        file: "SKFF-M-10-13.xml",
        step: 9,
        edit: ListEdit::Move {
            name: "Original Creation Date",
            after: "Name",
        },
        why: ORIGINAL_CREATION_DATE_ORDER,
    },
    ListErratum {
        file: "SKFF-M-11-13.xml",
        step: 9,
        edit: ListEdit::Move {
            name: "Original Creation Date",
            after: "Name",
        },
        why: ORIGINAL_CREATION_DATE_ORDER,
    },
    ListErratum {
        file: "SKFF-M-9-13.xml",
        step: 9,
        edit: ListEdit::Insert {
            name: "Random Number Generator",
            after: "Original Creation Date",
            value: RNG_VALUE,
        },
        why: RNG_IS_MANDATORY_IN_1_3,
    },
    ListErratum {
        file: "SKFF-M-10-13.xml",
        step: 9,
        edit: ListEdit::Insert {
            name: "Random Number Generator",
            after: "Original Creation Date",
            value: RNG_VALUE,
        },
        why: RNG_IS_MANDATORY_IN_1_3,
    },
    ListErratum {
        file: "SKFF-M-11-13.xml",
        step: 9,
        edit: ListEdit::Insert {
            name: "Random Number Generator",
            after: "Original Creation Date",
            value: RNG_VALUE,
        },
        why: RNG_IS_MANDATORY_IN_1_3,
    },
    ListErratum {
        file: "SKLC-O-1-13.xml",
        step: 4,
        edit: ListEdit::Insert {
            name: "Random Number Generator",
            after: "Original Creation Date",
            value: RNG_VALUE,
        },
        why: RNG_IS_MANDATORY_IN_1_3,
    },
    ListErratum {
        file: "AKLC-O-1-13.xml",
        step: 4,
        edit: ListEdit::Insert {
            name: "Random Number Generator",
            after: "Original Creation Date",
            value: RNG_VALUE,
        },
        why: RNG_IS_MANDATORY_IN_1_3,
    },
    ListErratum {
        file: "AKLC-O-1-13.xml",
        step: 5,
        edit: ListEdit::Insert {
            name: "Random Number Generator",
            after: "Original Creation Date",
            value: RNG_VALUE,
        },
        why: RNG_IS_MANDATORY_IN_1_3,
    },
    ListErratum {
        file: "AKLC-O-1-13.xml",
        step: 7,
        edit: ListEdit::Insert {
            name: "Random Number Generator",
            after: "Original Creation Date",
            value: RNG_VALUE,
        },
        why: RNG_IS_MANDATORY_IN_1_3,
    },
];

/// Applies the errata of file `name` to its steps.
pub fn apply(name: &str, steps: &mut [Step]) -> Result<(), Error> {
    for e in ERRATA.iter().filter(|e| e.file == name) {
        let not_found = || Error::ErratumNotFound {
            file: e.file,
            step: e.step,
        };
        let (Some(wrong), Some(right)) = (e.wrong.value(), e.right.value()) else {
            return Err(not_found());
        };
        let step = e
            .step
            .checked_sub(1)
            .and_then(|i| steps.get_mut(i))
            .ok_or_else(not_found)?;
        let node = match e.part {
            Part::Request => &mut step.request,
            Part::Response => &mut step.response,
        };
        if !replace(node, e.tag, &wrong, &right) {
            return Err(not_found());
        }
    }
    for e in LIST_ERRATA.iter().filter(|e| e.file == name) {
        let not_found = || Error::ErratumNotFound {
            file: e.file,
            step: e.step,
        };
        let step = e
            .step
            .checked_sub(1)
            .and_then(|i| steps.get_mut(i))
            .ok_or_else(not_found)?;
        let list = payloads(&mut step.response)
            .into_iter()
            .find(|list| applies(list, e.edit))
            .ok_or_else(not_found)?;
        if edit_list(list, e.edit).is_none() {
            return Err(not_found());
        }
    }
    Ok(())
}

/// The children of each batch item's Response Payload, in order.
fn payloads(response: &mut Node) -> Vec<&mut Vec<Node>> {
    let Node::Structure { children, .. } = response else {
        return Vec::new();
    };
    children
        .iter_mut()
        .filter(|c| c.tag() == Tag::BATCH_ITEM)
        .filter_map(|item| match child_mut(item, Tag::RESPONSE_PAYLOAD)? {
            Node::Structure { children, .. } => Some(children),
            _ => None,
        })
        .collect()
}

fn child_mut(node: &mut Node, tag: Tag) -> Option<&mut Node> {
    match node {
        Node::Structure { children, .. } => children.iter_mut().find(|c| c.tag() == tag),
        _ => None,
    }
}

/// True when `list` holds the entries `edit` needs (and, for an insert, not the new one yet).
fn applies(list: &[Node], edit: ListEdit) -> bool {
    match edit {
        ListEdit::Move { name, after } => {
            position(list, name).is_some() && position(list, after).is_some()
        }
        ListEdit::Insert { name, after, .. } => {
            position(list, name).is_none() && position(list, after).is_some()
        }
    }
}

/// The 1.x attribute name an entry stands for: an Attribute Name literal, or an Attribute
/// structure's Attribute Name.
fn entry_name(node: &Node) -> Option<&str> {
    let name = match node {
        Node::Literal(_) => node,
        Node::Structure { tag, .. } if *tag == Tag::ATTRIBUTE => node.child(Tag::ATTRIBUTE_NAME)?,
        _ => return None,
    };
    match name {
        Node::Literal(Ttlv {
            tag: Tag::ATTRIBUTE_NAME,
            value: Value::TextString(s),
        }) => Some(s),
        _ => None,
    }
}

fn position(list: &[Node], name: &str) -> Option<usize> {
    list.iter().position(|n| entry_name(n) == Some(name))
}

/// Applies one edit; `None` when an entry it names is missing (or, for an insert, already
/// there).
fn edit_list(list: &mut Vec<Node>, edit: ListEdit) -> Option<()> {
    match edit {
        ListEdit::Move { name, after } => {
            let entry = list.remove(position(list, name)?);
            let at = position(list, after)? + 1;
            list.insert(at, entry);
        }
        ListEdit::Insert { name, after, value } => {
            if position(list, name).is_some() {
                return None;
            }
            let at = position(list, after)?;
            let name_item = Node::Literal(Ttlv::new(
                Tag::ATTRIBUTE_NAME,
                Value::TextString(name.to_owned()),
            ));
            let entry = match list.get(at)? {
                Node::Literal(_) => name_item,
                _ => Node::Structure {
                    tag: Tag::ATTRIBUTE,
                    children: vec![
                        name_item,
                        match value {
                            [(Tag::ATTRIBUTE_VALUE, v)] => {
                                Node::Literal(Ttlv::new(Tag::ATTRIBUTE_VALUE, v.value()?))
                            }
                            _ => Node::Structure {
                                tag: Tag::ATTRIBUTE_VALUE,
                                children: value
                                    .iter()
                                    .map(|(tag, v)| {
                                        Some(Node::Literal(Ttlv::new(*tag, v.value()?)))
                                    })
                                    .collect::<Option<_>>()?,
                            },
                        },
                    ],
                },
            };
            list.insert(at + 1, entry);
        }
    }
    Some(())
}

/// Replaces the first literal `tag` holding `wrong`.
fn replace(node: &mut Node, tag: Tag, wrong: &Value, right: &Value) -> bool {
    match node {
        Node::Literal(item) if item.tag == tag && item.value == *wrong => {
            *item = Ttlv::new(tag, right.clone());
            true
        }
        Node::Structure { children, .. } => {
            children.iter_mut().any(|c| replace(c, tag, wrong, right))
        }
        _ => false,
    }
}

fn hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}
