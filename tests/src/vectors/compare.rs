//! Comparing a server's response with a vector's expected response, and filling a request's
//! placeholders from what earlier responses returned.
//!
//! Everything must match exactly (tags, types, values, item order, result status and reason)
//! except where one of the rules below says why a value legitimately differs. Each rule is
//! narrow: it names the tags and the context it applies to.
//!
//! Tolerance rules (the only ones):
//!
//! 1. Placeholder capture. A named placeholder (`$UNIQUE_IDENTIFIER_0`, `$DATA_25`...) in an
//!    expected response captures the server's value the first time it is seen; afterwards it must
//!    equal that value. Two different `$UNIQUE_IDENTIFIER_n` may not capture the same identifier.
//!    Captured values fill the same placeholders in later requests.
//! 2. Implicit capture. A few vectors use `$DATA_n`, `$IV_COUNTER_NONCE`,
//!    `$AUTHENTICATED_ENCRYPTION_TAG`, `$CORRELATION_VALUE` or `$MAC_DATA` (CS-AC-M-6: MAC
//!    Verify of the MAC just computed) in a request without any response naming it (the
//!    response shows the vendor's literal value). Such a request placeholder takes the value of
//!    that item in the most recent response that carried one.
//! 3. Time. `$NOW±s` in a response matches a Date-Time within [`TIME_SLACK`] of the window from
//!    the file's start to now (shifted by `s`). A literal Date-Time in a response that no request
//!    of the file sent (hence chosen by the server: Time Stamp, Initial Date, Last Change Date,
//!    the dates Activate and Revoke set) is judged by the same window; one that a request sent
//!    must match exactly.
//! 4. Random bytes, same length. A Byte String in a Response Payload may hold other bytes of the
//!    same length when it is: Key Material or a Digest Value of an object whose key the server
//!    generated (Create, Create Key Pair, Re-key, Derive Key; in this file, or in the file it
//!    continues, see `scope::CONTINUES`); the Data or Authenticated
//!    Encryption Tag of an Encrypt, or the Data of a Decrypt, under such a key; the IV, Data and
//!    tag of an Encrypt whose request carried no IV and whose answer carries one (the server
//!    chose it); the Data of RNG Retrieve; the Data of an Encrypt under a Public Key registered
//!    in this file (RSA-OAEP draws a fresh random seed for every encryption, RFC 8017 section
//!    7.1.1: two encryptions of one message never agree; the Decrypt cases of the same profile
//!    check the decryption side against fixed ciphertexts).
//! 5. Optional, free-form items. A Batch Item's Result Message (free text, KMIP 1.4 section
//!    6.17, 2.1 section 8.18) and the Response Header's Server Correlation Value (chosen by the
//!    server, KMIP 2.1 section 8.24) are not compared and may be present on either side only.
//! 6. The server's RNG. The Random Number Generator attribute (KMIP 1.3 section 3.44, 2.1
//!    section 4.46) describes the generator the server used; the vector shows its vendor's
//!    (`ANSIX9_31`, AES-256). It must be present, in place, as RNG Parameters with an RNG
//!    Algorithm; the parameters themselves are not compared.
//! 7. The server's capabilities. The Operation and Object Type items of a Query answer's payload
//!    (KMIP 1.4 section 4.25, 2.1 section 6.1.37) list what the answering server supports; the
//!    vector lists its vendor's. They are set aside on both sides: the server must list at
//!    least one of each kind the vector lists, each at most once; the rest of the payload is
//!    compared as usual. The server's list is true by construction: `ops::query` lists the
//!    operations of its dispatch table that the version defines and some role may call.
//!    Likewise the Vendor Identification and Server Information a Query Server Information
//!    asks for (KMIP 1.4 section 4.25, 2.1 section 6.1.37: the Vendor Identification "SHALL be
//!    a text string that uniquely identifies the vendor", Server Information is
//!    "vendor-specific"): each must be there, of its type, when the vector has it (a Vendor
//!    Identification not empty); their values are the vendor's and are not compared.
//! 8. The order of attribute lists. The Attribute Names (1.x) or Attribute References (2.x) of
//!    a Get Attribute List answer (KMIP 1.4 section 4.13, 2.1 section 6.1.23), and the
//!    attributes of a Get Attributes answer (1.4 section 4.14, 2.1 section 6.1.22), come in no
//!    order the specification sets; the vendors differ (TL-M-3 lists the custom attributes
//!    first and Protection Storage Mask last, SKFF-M-9 neither). Each entry the vector lists is
//!    paired with the server's entry of the same attribute (name, vendor and Attribute Index),
//!    instances of one attribute in their order, and compared as usual; the server's entries
//!    the vector does not list are then unexpected, and an entry it lacks is a difference.
//!
//! Two corrections happen when a file is loaded, not here: runs of spaces inside Attribute
//! Names collapse to one (a transcription artifact, see `template`), and the [`super::errata`]
//! table fixes the known mistakes of individual files.

use std::collections::{HashMap, HashSet};

use kmip_codec::enums::{ObjectType, Operation};
use kmip_codec::pretty::Redacted;
use kmip_codec::tags::Tag;
use kmip_codec::ttlv::{ItemType, Ttlv, Value};

use super::template::{Node, Placeholder};
use crate::error::Error;

/// Seconds a server time stamp may lie outside the replay window (clock granularity, a slow
/// machine, a DateTime rounded down).
pub const TIME_SLACK: i64 = 120;

/// Placeholders a request may use without a response having named them (rule 2), and the tag
/// whose most recent value they take.
const IMPLICIT: [(&str, Tag); 5] = [
    ("$DATA", Tag::DATA),
    ("$IV_COUNTER_NONCE", Tag::IV_COUNTER_NONCE),
    (
        "$AUTHENTICATED_ENCRYPTION_TAG",
        Tag::AUTHENTICATED_ENCRYPTION_TAG,
    ),
    ("$CORRELATION_VALUE", Tag::CORRELATION_VALUE),
    ("$MAC_DATA", Tag::MAC_DATA),
];

/// Operations whose new objects hold key material the server generated.
const GENERATING: [Operation; 5] = [
    Operation::CREATE,
    Operation::CREATE_KEY_PAIR,
    Operation::RE_KEY,
    Operation::RE_KEY_KEY_PAIR,
    Operation::DERIVE_KEY,
];

/// Tags of identifiers a generating operation returns.
const NEW_OBJECT_IDS: [Tag; 3] = [
    Tag::UNIQUE_IDENTIFIER,
    Tag::PRIVATE_KEY_UNIQUE_IDENTIFIER,
    Tag::PUBLIC_KEY_UNIQUE_IDENTIFIER,
];

/// The first place where a response differs from the vector. Its text never holds secret bytes
/// (values print through [`Redacted`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    /// Path of tags from the message down, `BatchItem[1]` for the second of its tag.
    pub path: String,
    /// The vector's item (or `nothing`).
    pub expected: String,
    /// The server's item (or `nothing`).
    pub got: String,
    /// What is wrong, when more than "not equal".
    pub note: Option<String>,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "at {}: expected {}, got {}",
            self.path, self.expected, self.got
        )?;
        if let Some(note) = &self.note {
            write!(f, " ({note})")?;
        }
        Ok(())
    }
}

/// The replay state of one vector file.
#[derive(Debug)]
pub struct Session {
    captures: HashMap<String, Value>,
    recent: HashMap<Tag, Value>,
    generated: HashSet<String>,
    /// Public Keys registered in this session (rule 4: RSA-OAEP ciphertexts under them).
    public_keys: HashSet<String>,
    client_times: HashSet<(ItemType, i64)>,
    started: i64,
}

impl Session {
    /// The identifiers of the objects whose key material the server generated in this session.
    pub fn generated(&self) -> &HashSet<String> {
        &self.generated
    }

    /// Counts the objects of `ids` as generated by the server: those of the file this one
    /// continues (rule 4).
    pub fn with_generated(mut self, ids: impl IntoIterator<Item = String>) -> Self {
        self.generated.extend(ids);
        self
    }

    /// A session for a file whose requests are `requests`, replayed from `started` (Unix
    /// seconds).
    pub fn new<'a>(requests: impl IntoIterator<Item = &'a Node>, started: i64) -> Self {
        let mut client_times = HashSet::new();
        for request in requests {
            request.literals(&mut |item| match item.value {
                Value::DateTime(t) => {
                    client_times.insert((ItemType::DateTime, t));
                }
                Value::DateTimeExtended(t) => {
                    client_times.insert((ItemType::DateTimeExtended, t));
                }
                _ => {}
            });
        }
        Self {
            captures: HashMap::new(),
            recent: HashMap::new(),
            generated: HashSet::new(),
            public_keys: HashSet::new(),
            client_times,
            started,
        }
    }

    /// The value captured for a placeholder, if any.
    pub fn captured(&self, name: &str) -> Option<&Value> {
        self.captures.get(name)
    }

    /// Fills a request template (`now` in Unix seconds).
    pub fn request(&self, template: &Node, now: i64) -> Result<Ttlv, Error> {
        template.instantiate(&mut |placeholder, ty| match placeholder {
            Placeholder::Now { offset } => match ty {
                ItemType::DateTimeExtended => Ok(Value::DateTimeExtended(
                    (now + offset).saturating_mul(1_000_000),
                )),
                _ => Ok(Value::DateTime(now + offset)),
            },
            Placeholder::Named(name) => self
                .captures
                .get(name)
                .or_else(|| {
                    let base = Placeholder::base_name(name);
                    IMPLICIT
                        .iter()
                        .find(|(n, _)| *n == base)
                        .and_then(|(_, tag)| self.recent.get(tag))
                })
                .cloned()
                .ok_or_else(|| Error::Unresolved(name.clone())),
        })
    }

    /// Compares the server's response to `request` with the expected one, capturing
    /// placeholders on the way. `now` is the current time in Unix seconds.
    pub fn check(
        &mut self,
        request: &Ttlv,
        expected: &Node,
        got: &Ttlv,
        now: i64,
    ) -> Result<(), Difference> {
        let mut walk = Walk {
            session: self,
            request,
            now,
            path: Vec::new(),
            item: ItemContext::default(),
        };
        walk.node(expected, got, 0)
    }
}

/// What the rules need to know about the batch item being compared.
#[derive(Clone, Copy, Debug, Default)]
struct ItemContext {
    operation: Option<Operation>,
    /// The object's key material was generated by the server.
    server_key: bool,
    /// An Encrypt whose request carried no IV: the server chose it.
    server_iv: bool,
    /// The object is a Public Key registered in this session (RSA-OAEP under it is randomized).
    public_key: bool,
    /// A Register of a Public Key.
    registers_public_key: bool,
}

struct Walk<'s> {
    session: &'s mut Session,
    request: &'s Ttlv,
    now: i64,
    /// Tags from the message down, with the index among same-tag siblings.
    path: Vec<(Tag, usize)>,
    item: ItemContext,
}

impl Walk<'_> {
    fn node(&mut self, expected: &Node, got: &Ttlv, index: usize) -> Result<(), Difference> {
        self.path.push((expected.tag(), index));
        let result = self.node_inner(expected, got, index);
        self.path.pop();
        result
    }

    fn node_inner(&mut self, expected: &Node, got: &Ttlv, index: usize) -> Result<(), Difference> {
        if expected.tag() != got.tag || expected.item_type() != got.value.item_type() {
            return Err(self.differ(Some(expected), Some(got), None));
        }
        match expected {
            Node::Structure { children, .. } => {
                let response_item = expected.tag() == Tag::BATCH_ITEM
                    && self
                        .path
                        .first()
                        .is_some_and(|(t, _)| *t == Tag::RESPONSE_MESSAGE)
                    && self.path.len() == 2;
                if response_item {
                    self.item = self.item_context(expected, got, index);
                }
                self.children(children, got.children())?;
                if response_item {
                    self.after_item(got);
                    self.item = ItemContext::default();
                }
                Ok(())
            }
            Node::Literal(want) => self.literal(want, got),
            Node::Hole { placeholder, .. } => self.hole(placeholder, got),
        }
    }

    /// Children in order, after setting aside the optional free-form items of rule 5.
    fn children(&mut self, expected: &[Node], got: &[Ttlv]) -> Result<(), Difference> {
        let parent = self.path.last().map(|(t, _)| *t);
        let in_response = self
            .path
            .first()
            .is_some_and(|(t, _)| *t == Tag::RESPONSE_MESSAGE);
        let free = |tag: Tag| {
            matches!(
                (parent, tag),
                (Some(Tag::BATCH_ITEM), Tag::RESULT_MESSAGE)
                    | (Some(Tag::RESPONSE_HEADER), Tag::SERVER_CORRELATION_VALUE)
            ) && in_response
        };
        // A KMIP 1.x Attribute whose name is Random Number Generator (rule 6).
        let rng_attribute = expected.iter().any(|n| {
            matches!(n, Node::Literal(Ttlv { tag: Tag::ATTRIBUTE_NAME, value: Value::TextString(s) })
                if s == "Random Number Generator")
        });
        // A Query answer's capability lists (rule 7).
        let query_payload = parent == Some(Tag::RESPONSE_PAYLOAD)
            && self.item.operation == Some(Operation::QUERY)
            && in_response;
        let capability =
            |tag: Tag| query_payload && matches!(tag, Tag::OPERATION | Tag::OBJECT_TYPE);
        if query_payload {
            self.capabilities(expected, got)?;
            self.vendor_items(expected, got)?;
        }
        let vendors = |tag: Tag| {
            query_payload && matches!(tag, Tag::VENDOR_IDENTIFICATION | Tag::SERVER_INFORMATION)
        };
        let expected: Vec<&Node> = expected
            .iter()
            .filter(|n| !free(n.tag()) && !capability(n.tag()) && !vendors(n.tag()))
            .collect();
        let mut got: Vec<&Ttlv> = got
            .iter()
            .filter(|i| !free(i.tag) && !capability(i.tag) && !vendors(i.tag))
            .collect();
        // Attribute lists in any order (rule 8); `true`: every child is an entry.
        let listing = match (self.item.operation, parent) {
            (
                Some(Operation::GET_ATTRIBUTE_LIST | Operation::GET_ATTRIBUTES),
                Some(Tag::RESPONSE_PAYLOAD),
            ) => Some(false),
            (Some(Operation::GET_ATTRIBUTES), Some(Tag::ATTRIBUTES)) => Some(true),
            _ => None,
        };
        if let Some(every_child) = listing.filter(|_| in_response) {
            got = in_expected_order(&expected, got, every_child);
        }
        let mut seen: HashMap<Tag, usize> = HashMap::new();
        for (i, want) in expected.iter().enumerate() {
            let count = seen.entry(want.tag()).or_insert(0);
            let index = *count;
            *count += 1;
            let rng = want.tag() == Tag::RANDOM_NUMBER_GENERATOR
                || (rng_attribute && want.tag() == Tag::ATTRIBUTE_VALUE);
            match got.get(i) {
                Some(have) if rng => self.rng_parameters(want, have, index)?,
                Some(have) => self.node(want, have, index)?,
                None => {
                    self.path.push((want.tag(), index));
                    let d = self.differ(Some(want), None, Some("missing item"));
                    self.path.pop();
                    return Err(d);
                }
            }
        }
        if let Some(extra) = got.get(expected.len()) {
            self.path.push((extra.tag, 0));
            let d = self.differ(None, Some(extra), Some("unexpected item"));
            self.path.pop();
            return Err(d);
        }
        Ok(())
    }

    /// Rule 7: for each of Operation and Object Type the vector lists, the server lists at
    /// least one, and none twice.
    fn capabilities(&mut self, expected: &[Node], got: &[Ttlv]) -> Result<(), Difference> {
        for tag in [Tag::OPERATION, Tag::OBJECT_TYPE] {
            let listed: Vec<&Ttlv> = got.iter().filter(|i| i.tag == tag).collect();
            let want = expected.iter().find(|n| n.tag() == tag);
            let distinct: HashSet<u32> = listed
                .iter()
                .filter_map(|i| match i.value {
                    Value::Enumeration(e) => Some(e),
                    _ => None,
                })
                .collect();
            let why = if want.is_some() && listed.is_empty() {
                Some("the server lists none of these")
            } else if distinct.len() != listed.len() {
                Some("the server lists one twice")
            } else {
                None
            };
            if let Some(why) = why {
                self.path.push((tag, 0));
                let d = self.differ(want, listed.first().copied(), Some(why));
                self.path.pop();
                return Err(d);
            }
        }
        Ok(())
    }

    /// Rule 7, the vendor's items: the Vendor Identification (a text, not empty) and the Server
    /// Information (a structure) are there when the vector has them; values not compared.
    fn vendor_items(&mut self, expected: &[Node], got: &[Ttlv]) -> Result<(), Difference> {
        for tag in [Tag::VENDOR_IDENTIFICATION, Tag::SERVER_INFORMATION] {
            let Some(want) = expected.iter().find(|n| n.tag() == tag) else {
                continue;
            };
            let have = got.iter().find(|i| i.tag == tag);
            let why = match have {
                None => Some("missing item"),
                Some(h) if h.value.item_type() != want.item_type() => Some("another type"),
                Some(Ttlv {
                    value: Value::TextString(t),
                    ..
                }) if t.is_empty() => Some("an empty Vendor Identification"),
                Some(_) => None,
            };
            if let Some(why) = why {
                self.path.push((tag, 0));
                let d = self.differ(Some(want), have, Some(why));
                self.path.pop();
                return Err(d);
            }
        }
        Ok(())
    }

    /// Rule 6: RNG Parameters with an RNG Algorithm, values not compared.
    fn rng_parameters(&mut self, want: &Node, have: &Ttlv, index: usize) -> Result<(), Difference> {
        self.path.push((want.tag(), index));
        let ok = have.tag == want.tag()
            && matches!(have.value, Value::Structure(_))
            && matches!(
                have.child(Tag::RNG_ALGORITHM).map(|a| &a.value),
                Some(Value::Enumeration(_))
            );
        let result = if ok {
            Ok(())
        } else {
            Err(self.differ(
                Some(want),
                Some(have),
                Some("RNG Parameters without an RNG Algorithm"),
            ))
        };
        self.path.pop();
        result
    }

    fn item_context(&self, expected: &Node, got: &Ttlv, index: usize) -> ItemContext {
        let operation = match expected.child(Tag::OPERATION) {
            Some(Node::Literal(Ttlv {
                value: Value::Enumeration(op),
                ..
            })) => Some(Operation(*op)),
            _ => None,
        };
        let request_item = self.request.children_with(Tag::BATCH_ITEM).nth(index);
        let request_payload = request_item.and_then(|i| i.child(Tag::REQUEST_PAYLOAD));
        let text = |item: Option<&Ttlv>| match item.map(|i| &i.value) {
            Some(Value::TextString(s)) => Some(s.clone()),
            _ => None,
        };
        let uid = text(
            got.child(Tag::RESPONSE_PAYLOAD)
                .and_then(|p| p.child(Tag::UNIQUE_IDENTIFIER)),
        )
        .or_else(|| text(request_payload.and_then(|p| p.child(Tag::UNIQUE_IDENTIFIER))));
        let server_key = uid
            .as_ref()
            .is_some_and(|u| self.session.generated.contains(u));
        // The server chose the IV when the request had none and the answer carries one (an
        // ECB Encrypt has no IV at all, and its ciphertext is fixed).
        let server_iv = operation == Some(Operation::ENCRYPT)
            && request_payload.is_some_and(|p| p.child(Tag::IV_COUNTER_NONCE).is_none())
            && got
                .child(Tag::RESPONSE_PAYLOAD)
                .is_some_and(|p| p.child(Tag::IV_COUNTER_NONCE).is_some());
        let public_key = uid
            .as_ref()
            .is_some_and(|u| self.session.public_keys.contains(u));
        let registers_public_key = operation == Some(Operation::REGISTER)
            && request_payload
                .and_then(|p| p.child(Tag::OBJECT_TYPE))
                .is_some_and(|t| t.value == Value::Enumeration(ObjectType::PUBLIC_KEY.0));
        ItemContext {
            operation,
            server_key,
            server_iv,
            public_key,
            registers_public_key,
        }
    }

    /// Remembers what a finished batch item teaches: new server-generated objects (rule 4) and
    /// the latest values for implicit placeholders (rule 2).
    fn after_item(&mut self, got: &Ttlv) {
        let Some(payload) = got.child(Tag::RESPONSE_PAYLOAD) else {
            return;
        };
        if self
            .item
            .operation
            .is_some_and(|op| GENERATING.contains(&op))
        {
            for tag in NEW_OBJECT_IDS {
                for id in payload.children_with(tag) {
                    if let Value::TextString(s) = &id.value {
                        self.session.generated.insert(s.clone());
                    }
                }
            }
        }
        if self.item.registers_public_key
            && let Some(Value::TextString(s)) =
                payload.child(Tag::UNIQUE_IDENTIFIER).map(|i| &i.value)
        {
            self.session.public_keys.insert(s.clone());
        }
        for (_, tag) in IMPLICIT {
            if let Some(item) = payload.child(tag) {
                self.session.recent.insert(tag, item.value.clone());
            }
        }
    }

    fn literal(&mut self, want: &Ttlv, got: &Ttlv) -> Result<(), Difference> {
        if want.value == got.value {
            return Ok(());
        }
        let expected = Node::Literal(want.clone());
        match (&want.value, &got.value) {
            (Value::DateTime(w), Value::DateTime(g))
            | (Value::DateTimeExtended(w), Value::DateTimeExtended(g)) => {
                let ty = want.value.item_type();
                if self.session.client_times.contains(&(ty, *w)) {
                    return Err(self.differ(
                        Some(&expected),
                        Some(got),
                        Some("a time the request sent"),
                    ));
                }
                let g = seconds(ty, *g);
                self.in_window(g, 0)
                    .map_err(|note| self.differ(Some(&expected), Some(got), Some(note)))
            }
            (Value::ByteString(w), Value::ByteString(g)) => match self.random_bytes_rule(got.tag) {
                Some(_) if w.len() == g.len() => Ok(()),
                Some(_) => Err(self.differ(
                    Some(&expected),
                    Some(got),
                    Some("random bytes of another length"),
                )),
                None => Err(self.differ(Some(&expected), Some(got), None)),
            },
            _ => Err(self.differ(Some(&expected), Some(got), None)),
        }
    }

    fn hole(&mut self, placeholder: &Placeholder, got: &Ttlv) -> Result<(), Difference> {
        let expected = Node::Hole {
            tag: got.tag,
            item_type: got.value.item_type(),
            placeholder: placeholder.clone(),
        };
        match placeholder {
            Placeholder::Now { offset } => {
                let g = match got.value {
                    Value::DateTime(t) => t,
                    Value::DateTimeExtended(t) => seconds(ItemType::DateTimeExtended, t),
                    _ => return Err(self.differ(Some(&expected), Some(got), None)),
                };
                self.in_window(g, *offset)
                    .map_err(|note| self.differ(Some(&expected), Some(got), Some(note)))
            }
            Placeholder::Named(name) => {
                if let Some(value) = self.session.captures.get(name) {
                    if *value == got.value {
                        return Ok(());
                    }
                    let note = format!("{name} was captured earlier with another value");
                    return Err(self.differ(Some(&expected), Some(got), Some(note.as_str())));
                }
                if Placeholder::base_name(name).ends_with("UNIQUE_IDENTIFIER") {
                    let taken = self.session.captures.iter().find(|(other, v)| {
                        **v == got.value
                            && Placeholder::base_name(other) == Placeholder::base_name(name)
                    });
                    if let Some((other, _)) = taken {
                        let note = format!("the same identifier as {other}");
                        return Err(self.differ(Some(&expected), Some(got), Some(note.as_str())));
                    }
                }
                self.session
                    .captures
                    .insert(name.clone(), got.value.clone());
                Ok(())
            }
        }
    }

    /// Rule 3's window, shifted by `offset` seconds.
    fn in_window(&self, t: i64, offset: i64) -> Result<(), &'static str> {
        let low = self.session.started + offset - TIME_SLACK;
        let high = self.now + offset + TIME_SLACK;
        if (low..=high).contains(&t) {
            Ok(())
        } else {
            Err("time outside the replay window")
        }
    }

    /// Rule 4: why this Byte String may hold other random bytes, if it may.
    fn random_bytes_rule(&self, tag: Tag) -> Option<&'static str> {
        let in_payload = self.path.iter().any(|(t, _)| *t == Tag::RESPONSE_PAYLOAD);
        let op = self.item.operation?;
        if !in_payload {
            return None;
        }
        let ItemContext {
            server_key,
            server_iv,
            public_key,
            ..
        } = self.item;
        let under_key_value = self.path.iter().any(|(t, _)| *t == Tag::KEY_VALUE);
        match tag {
            Tag::KEY_MATERIAL if server_key && under_key_value => {
                Some("key material the server generated")
            }
            Tag::DIGEST_VALUE if server_key => Some("digest of a key the server generated"),
            Tag::DATA | Tag::AUTHENTICATED_ENCRYPTION_TAG
                if op == Operation::ENCRYPT && (server_key || server_iv) =>
            {
                Some("ciphertext under a key or IV the server generated")
            }
            Tag::DATA if op == Operation::ENCRYPT && public_key => {
                Some("RSA-OAEP ciphertext (randomized) under a registered public key")
            }
            Tag::DATA if op == Operation::DECRYPT && server_key => {
                Some("plaintext under a key the server generated")
            }
            Tag::IV_COUNTER_NONCE if op == Operation::ENCRYPT && server_iv => {
                Some("IV the server generated")
            }
            Tag::DATA if op == Operation::RNG_RETRIEVE => Some("RNG output"),
            _ => None,
        }
    }

    fn differ(
        &self,
        expected: Option<&Node>,
        got: Option<&Ttlv>,
        note: Option<&str>,
    ) -> Difference {
        let tags: Vec<Tag> = self.path.iter().map(|(t, _)| *t).collect();
        let parents = tags.split_last().map_or(&[][..], |(_, p)| p);
        Difference {
            path: self
                .path
                .iter()
                .map(|(tag, i)| {
                    let name = tag
                        .xml_name()
                        .map_or_else(|| format!("0x{:06X}", tag.0), str::to_owned);
                    if *i == 0 {
                        name
                    } else {
                        format!("{name}[{i}]")
                    }
                })
                .collect::<Vec<_>>()
                .join("/"),
            expected: match expected {
                None => "nothing".to_owned(),
                Some(Node::Hole {
                    tag,
                    item_type,
                    placeholder,
                }) => format!(
                    "{} ({}): {placeholder}",
                    tag.name().unwrap_or("?"),
                    item_type.xml_name()
                ),
                Some(Node::Literal(item)) => show(parents, item),
                Some(Node::Structure { tag, children }) => format!(
                    "{} (Structure): {} items",
                    tag.name().unwrap_or("?"),
                    children.len()
                ),
            },
            got: got.map_or_else(|| "nothing".to_owned(), |item| show(parents, item)),
            note: note.map(str::to_owned),
        }
    }
}

/// Rule 8: `got` with its attribute entries put in the order the vector lists the same
/// attributes, where it lists them; the entries it does not list follow, in the server's order
/// (the comparison then finds them unexpected). Entries: Attribute Names, Attribute References
/// and Attribute structures, and with `every_child` (a 2.x Attributes structure) every child;
/// other items keep their place.
fn in_expected_order<'g>(
    expected: &[&Node],
    got: Vec<&'g Ttlv>,
    every_child: bool,
) -> Vec<&'g Ttlv> {
    let mut entries: Vec<Option<&Ttlv>> = got
        .iter()
        .filter(|i| entry_key(i, every_child).is_some())
        .map(|i| Some(*i))
        .collect();
    let mut ordered: Vec<&Ttlv> = Vec::with_capacity(entries.len());
    for want in expected {
        let Some(key) = node_key(want, every_child) else {
            continue;
        };
        if let Some(slot) = entries
            .iter_mut()
            .find(|e| e.is_some_and(|e| entry_key(e, every_child).as_ref() == Some(&key)))
        {
            ordered.extend(slot.take());
        }
    }
    ordered.extend(entries.into_iter().flatten());
    let mut ordered = ordered.into_iter();
    got.into_iter()
        .map(|i| {
            if entry_key(i, every_child).is_some() {
                ordered.next().unwrap_or(i)
            } else {
                i
            }
        })
        .collect()
}

/// Which attribute an entry of the server's list stands for (rule 8).
fn entry_key(item: &Ttlv, every_child: bool) -> Option<String> {
    let text = |tag: Tag| match item.child(tag).map(|c| &c.value) {
        Some(Value::TextString(s)) => s.clone(),
        _ => String::new(),
    };
    let index = match item.child(Tag::ATTRIBUTE_INDEX).map(|c| &c.value) {
        Some(Value::Integer(i)) => *i,
        _ => 0,
    };
    match (&item.value, item.tag) {
        (Value::TextString(s), Tag::ATTRIBUTE_NAME) => Some(format!("name {s}")),
        (Value::Enumeration(e), Tag::ATTRIBUTE_REFERENCE) => Some(format!("tag {e:06X}")),
        (Value::Structure(_), Tag::ATTRIBUTE_REFERENCE | Tag::ATTRIBUTE) => Some(format!(
            "attribute {}/{}/{index}",
            text(Tag::VENDOR_IDENTIFICATION),
            text(Tag::ATTRIBUTE_NAME)
        )),
        _ if every_child => Some(format!("tag {:06X}", item.tag.0)),
        _ => None,
    }
}

/// Which attribute an entry of the vector's list stands for: as [`entry_key`], when the entry
/// names it literally.
fn node_key(node: &Node, every_child: bool) -> Option<String> {
    match node {
        Node::Literal(item) => entry_key(item, every_child),
        Node::Hole { tag, .. } if every_child => Some(format!("tag {:06X}", tag.0)),
        Node::Hole { .. } => None,
        Node::Structure { tag, children } => {
            let literal = |t: Tag| {
                children.iter().find_map(|c| match c {
                    Node::Literal(item) if item.tag == t => Some(item.clone()),
                    _ => None,
                })
            };
            let item = Ttlv::structure(
                *tag,
                [
                    Tag::VENDOR_IDENTIFICATION,
                    Tag::ATTRIBUTE_NAME,
                    Tag::ATTRIBUTE_INDEX,
                ]
                .into_iter()
                .filter_map(literal)
                .collect(),
            );
            entry_key(&item, every_child)
        }
    }
}

/// Unix seconds of a Date-Time or Date-Time Extended value.
fn seconds(ty: ItemType, value: i64) -> i64 {
    match ty {
        ItemType::DateTimeExtended => value.div_euclid(1_000_000),
        _ => value,
    }
}

/// One line for `item` as the redacting printer shows it under `parents` (so that bytes under a
/// Key Value, Data and the like stay hidden).
pub fn show(parents: &[Tag], item: &Ttlv) -> String {
    let mut tree = match &item.value {
        // A structure shows as its first line only.
        Value::Structure(c) => Ttlv::structure(item.tag, Vec::with_capacity(c.len())),
        _ => item.clone(),
    };
    for tag in parents.iter().rev() {
        tree = Ttlv::structure(*tag, vec![tree]);
    }
    let text = Redacted(&tree).to_string();
    let line = text.lines().nth(parents.len()).unwrap_or("").trim();
    match &item.value {
        Value::Structure(c) => format!("{} (Structure): {} items", line_name(line), c.len()),
        _ => line.to_owned(),
    }
}

fn line_name(line: &str) -> &str {
    line.split(" (").next().unwrap_or(line)
}
