//! Object attributes (KMIP 1.4 sections 2.1.1 and 3, KMIP 2.1 sections 2.1.1 and 4) in ONE
//! representation, [`Attribute`], whatever the form they travel in:
//!
//! - KMIP 1.x: an Attribute structure (Attribute Name as text, optional Attribute Index,
//!   Attribute Value), grouped in a Template-Attribute in Create / Register / Re-Key;
//! - KMIP 2.x: an Attributes structure whose children are tagged by the attribute's own tag,
//!   vendor (custom) attributes as Attribute (Vendor Identification, Attribute Name, Attribute
//!   Value); single attributes inside New Attribute / Current Attribute, names as Attribute
//!   Reference.
//!
//! The conversions live in `forms`; the table of well-known attributes in `table`.

mod certificates;
pub(crate) mod forms;
pub(crate) mod table;
mod values;

use crate::enums::{CryptographicAlgorithm, ObjectType, State};
use crate::tags::Tag;
use crate::ttlv::{Bytes, Ttlv, Value};

pub use certificates::{
    CertificateIdentifier, CertificateIssuer, CertificateSubject, X509CertificateIdentifier,
    X509CertificateIssuer, X509CertificateSubject,
};
pub use forms::TemplateAttribute;
pub use values::{
    AlternativeName, ApplicationSpecificInformation, CryptographicDomainParameters, Digest,
    KeyValueLocation, Link, Name, RevocationReason, RngParameters, UsageLimits,
};

use crate::model::parameters::CryptographicParameters;

/// One attribute instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attribute {
    /// Which attribute.
    pub name: AttributeName,
    /// Attribute Index (KMIP 1.x only; 2.x has no indices and drops it).
    pub index: Option<i32>,
    /// Its value.
    pub value: AttributeValue,
}

impl Attribute {
    /// A well-known (or tag-named) attribute without an index.
    pub fn new(tag: Tag, value: AttributeValue) -> Self {
        Self {
            name: AttributeName::Standard(tag),
            index: None,
            value,
        }
    }

    /// A custom attribute by its 1.x name (`x-Product`, `y-...`), without an index.
    pub fn custom(name: &str, value: AttributeValue) -> Self {
        Self {
            name: AttributeName::from_1x(name),
            index: None,
            value,
        }
    }

    /// The KMIP 1.x Attribute structure (name, index, value), or `None` for a name with no 1.x
    /// spelling. Lossless for every attribute this model can decode; used to store attributes.
    pub fn to_ttlv_1x(&self) -> Option<Ttlv> {
        forms::encode_1x(self)
    }

    /// Decodes a KMIP 1.x Attribute structure, typing well-known values.
    pub fn from_ttlv_1x(item: &Ttlv) -> crate::error::Result<Self> {
        forms::decode_1x(item)
    }

    /// Decodes one KMIP 2.x attribute item: a child of an Attributes structure (tagged by the
    /// attribute) or a Vendor Attribute (KMIP 2.1 sections 4.60 and 5.1).
    pub fn from_ttlv_2x(item: &Ttlv) -> crate::error::Result<Self> {
        forms::decode_2x(item)
    }

    /// The KMIP 2.x item for this attribute, or `None` for a 1.x name 2.x cannot express.
    pub fn to_ttlv_2x(&self) -> Option<Ttlv> {
        forms::encode_2x(self)
    }

    /// The attribute's tag when it is a standard one.
    pub fn tag(&self) -> Option<Tag> {
        match self.name {
            AttributeName::Standard(t) => Some(t),
            _ => None,
        }
    }
}

/// Names an attribute, in a form both 1.x and 2.x can carry.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AttributeName {
    /// A standard attribute, by tag (1.x name from the table of well-known attributes).
    Standard(Tag),
    /// A custom attribute: 1.x `x-Name` / `y-Name` (vendor identification `x` / `y`), 2.x
    /// Vendor Attribute.
    Vendor {
        /// Vendor Identification (`x` or `y` for 1.x custom attributes).
        vendor_identification: String,
        /// Attribute Name, without the vendor prefix.
        attribute_name: String,
    },
    /// A 1.x Attribute Name that is neither well-known nor custom; kept verbatim.
    Other(String),
}

impl AttributeName {
    /// Interprets a 1.x Attribute Name: a well-known name (exact spelling), `x-...` / `y-...`
    /// custom names, anything else kept verbatim.
    pub fn from_1x(name: &str) -> Self {
        if let Some(def) = table::by_name(name) {
            return Self::Standard(def.tag);
        }
        for vendor in ["x", "y"] {
            if let Some(rest) = name.strip_prefix(vendor).and_then(|r| r.strip_prefix('-')) {
                return Self::Vendor {
                    vendor_identification: vendor.to_owned(),
                    attribute_name: rest.to_owned(),
                };
            }
        }
        Self::Other(name.to_owned())
    }

    /// The 1.x Attribute Name, or `None` for a standard attribute that has no 1.x name.
    pub fn to_1x(&self) -> Option<String> {
        match self {
            Self::Standard(tag) => table::by_tag(*tag).map(|d| d.name.to_owned()),
            Self::Vendor {
                vendor_identification,
                attribute_name,
            } => Some(format!("{vendor_identification}-{attribute_name}")),
            Self::Other(s) => Some(s.clone()),
        }
    }

    /// True for a custom (vendor) attribute.
    pub fn is_custom(&self) -> bool {
        matches!(self, Self::Vendor { .. })
    }
}

/// An attribute's value: typed for the well-known structured attributes, and for every other
/// attribute the item as it came (any item type, structures as raw children), so nothing is
/// lost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttributeValue {
    /// Text String (Unique Identifier, Object Group, Contact Information, custom text, ...).
    TextString(String),
    /// Integer (Cryptographic Length, Cryptographic Usage Mask, ...).
    Integer(i32),
    /// Long Integer.
    LongInteger(i64),
    /// Big Integer (two's complement, big-endian).
    BigInteger(Bytes),
    /// Enumeration (Object Type, Cryptographic Algorithm, State, ...), interpreted per tag.
    Enumeration(u32),
    /// Boolean (Fresh, Sensitive, Extractable, ...).
    Boolean(bool),
    /// Byte String.
    ByteString(Bytes),
    /// Date-Time (all the dates).
    DateTime(i64),
    /// Interval (Lease Time).
    Interval(u32),
    /// Date-Time Extended (2.x).
    DateTimeExtended(i64),
    /// Name.
    Name(Name),
    /// Link.
    Link(Link),
    /// Digest.
    Digest(Digest),
    /// Cryptographic Parameters.
    CryptographicParameters(Box<CryptographicParameters>),
    /// Revocation Reason.
    RevocationReason(RevocationReason),
    /// Application Specific Information.
    ApplicationSpecificInformation(ApplicationSpecificInformation),
    /// Usage Limits.
    UsageLimits(UsageLimits),
    /// Alternative Name.
    AlternativeName(AlternativeName),
    /// Key Value Location.
    KeyValueLocation(KeyValueLocation),
    /// Random Number Generator (RNG Parameters).
    RandomNumberGenerator(RngParameters),
    /// Cryptographic Domain Parameters.
    CryptographicDomainParameters(CryptographicDomainParameters),
    /// X.509 Certificate Identifier.
    X509CertificateIdentifier(X509CertificateIdentifier),
    /// X.509 Certificate Subject.
    X509CertificateSubject(X509CertificateSubject),
    /// X.509 Certificate Issuer.
    X509CertificateIssuer(X509CertificateIssuer),
    /// Certificate Identifier (1.0, deprecated).
    CertificateIdentifier(CertificateIdentifier),
    /// Certificate Subject (1.0, deprecated).
    CertificateSubject(CertificateSubject),
    /// Certificate Issuer (1.0, deprecated).
    CertificateIssuer(CertificateIssuer),
    /// The structure of a custom or vendor attribute, or of an attribute this crate does not
    /// know, as its raw children.
    Structure(Vec<Ttlv>),
}

impl AttributeValue {
    /// The value as a raw TTLV value (no typing).
    pub fn from_value(v: &Value) -> Self {
        match v {
            Value::Structure(c) => Self::Structure(c.clone()),
            Value::Integer(i) => Self::Integer(*i),
            Value::LongInteger(i) => Self::LongInteger(*i),
            Value::BigInteger(b) => Self::BigInteger(b.clone()),
            Value::Enumeration(e) => Self::Enumeration(*e),
            Value::Boolean(b) => Self::Boolean(*b),
            Value::TextString(s) => Self::TextString(s.clone()),
            Value::ByteString(b) => Self::ByteString(b.clone()),
            Value::DateTime(d) => Self::DateTime(*d),
            Value::Interval(i) => Self::Interval(*i),
            Value::DateTimeExtended(d) => Self::DateTimeExtended(*d),
        }
    }

    /// The TTLV value this encodes to.
    pub fn to_value(&self) -> Value {
        use crate::model::fields::Fielded;
        match self {
            Self::TextString(s) => Value::TextString(s.clone()),
            Self::Integer(i) => Value::Integer(*i),
            Self::LongInteger(i) => Value::LongInteger(*i),
            Self::BigInteger(b) => Value::BigInteger(b.clone()),
            Self::Enumeration(e) => Value::Enumeration(*e),
            Self::Boolean(b) => Value::Boolean(*b),
            Self::ByteString(b) => Value::ByteString(b.clone()),
            Self::DateTime(d) => Value::DateTime(*d),
            Self::Interval(i) => Value::Interval(*i),
            Self::DateTimeExtended(d) => Value::DateTimeExtended(*d),
            Self::Name(v) => Value::Structure(v.children()),
            Self::Link(v) => Value::Structure(v.children()),
            Self::Digest(v) => Value::Structure(v.children()),
            Self::CryptographicParameters(v) => Value::Structure(v.children()),
            Self::RevocationReason(v) => Value::Structure(v.children()),
            Self::ApplicationSpecificInformation(v) => Value::Structure(v.children()),
            Self::UsageLimits(v) => Value::Structure(v.children()),
            Self::AlternativeName(v) => Value::Structure(v.children()),
            Self::KeyValueLocation(v) => Value::Structure(v.children()),
            Self::RandomNumberGenerator(v) => Value::Structure(v.children()),
            Self::CryptographicDomainParameters(v) => Value::Structure(v.children()),
            Self::X509CertificateIdentifier(v) => Value::Structure(v.children()),
            Self::X509CertificateSubject(v) => Value::Structure(v.children()),
            Self::X509CertificateIssuer(v) => Value::Structure(v.children()),
            Self::CertificateIdentifier(v) => Value::Structure(v.children()),
            Self::CertificateSubject(v) => Value::Structure(v.children()),
            Self::CertificateIssuer(v) => Value::Structure(v.children()),
            Self::Structure(c) => Value::Structure(c.clone()),
        }
    }

    /// The text, for Text String values.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Self::TextString(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, for Integer values.
    pub fn as_integer(&self) -> Option<i32> {
        match self {
            Self::Integer(i) => Some(*i),
            _ => None,
        }
    }

    /// The raw enumeration value, for Enumeration values.
    pub fn as_enumeration(&self) -> Option<u32> {
        match self {
            Self::Enumeration(e) => Some(*e),
            _ => None,
        }
    }

    /// The boolean, for Boolean values.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Self::Boolean(b) => Some(*b),
            _ => None,
        }
    }

    /// Seconds since the epoch, for Date-Time values.
    pub fn as_datetime(&self) -> Option<i64> {
        match self {
            Self::DateTime(d) => Some(*d),
            _ => None,
        }
    }
}

/// An ordered list of attributes: the 1.x Attribute items of a payload or Template-Attribute,
/// or the children of a 2.x Attributes structure.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Attributes(pub Vec<Attribute>);

impl Attributes {
    /// No attributes.
    pub fn new() -> Self {
        Self(Vec::new())
    }

    /// The KMIP 2.x Attributes structure of these attributes (those 2.x can carry).
    pub fn to_structure_2x(&self) -> Ttlv {
        forms::encode_attributes_2x(self, Tag::ATTRIBUTES)
    }

    /// The attributes of a KMIP 2.x Attributes structure.
    pub fn from_structure_2x(item: &Ttlv) -> crate::error::Result<Self> {
        forms::decode_attributes_2x(item)
    }

    /// Appends one attribute.
    pub fn push(&mut self, a: Attribute) {
        self.0.push(a);
    }

    /// Appends a standard attribute (builder style).
    #[must_use]
    pub fn with(mut self, tag: Tag, value: AttributeValue) -> Self {
        self.0.push(Attribute::new(tag, value));
        self
    }

    /// The attributes in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Attribute> {
        self.0.iter()
    }

    /// Number of attributes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The first value of the attribute `name`.
    pub fn get_by_name(&self, name: &AttributeName) -> Option<&AttributeValue> {
        self.0.iter().find(|a| &a.name == name).map(|a| &a.value)
    }

    /// The first value of the standard attribute `tag`.
    pub fn get(&self, tag: Tag) -> Option<&AttributeValue> {
        self.get_by_name(&AttributeName::Standard(tag))
    }

    /// Every value of the standard attribute `tag`.
    pub fn get_all(&self, tag: Tag) -> impl Iterator<Item = &AttributeValue> {
        self.0
            .iter()
            .filter(move |a| a.name == AttributeName::Standard(tag))
            .map(|a| &a.value)
    }

    /// Cryptographic Algorithm.
    pub fn cryptographic_algorithm(&self) -> Option<CryptographicAlgorithm> {
        self.get(Tag::CRYPTOGRAPHIC_ALGORITHM)?
            .as_enumeration()
            .map(CryptographicAlgorithm)
    }

    /// Cryptographic Length.
    pub fn cryptographic_length(&self) -> Option<i32> {
        self.get(Tag::CRYPTOGRAPHIC_LENGTH)?.as_integer()
    }

    /// Cryptographic Usage Mask.
    pub fn cryptographic_usage_mask(&self) -> Option<i32> {
        self.get(Tag::CRYPTOGRAPHIC_USAGE_MASK)?.as_integer()
    }

    /// Object Type.
    pub fn object_type(&self) -> Option<ObjectType> {
        self.get(Tag::OBJECT_TYPE)?.as_enumeration().map(ObjectType)
    }

    /// State.
    pub fn state(&self) -> Option<State> {
        self.get(Tag::STATE)?.as_enumeration().map(State)
    }

    /// Every Name.
    pub fn names(&self) -> impl Iterator<Item = &Name> {
        self.get_all(Tag::NAME).filter_map(|v| match v {
            AttributeValue::Name(n) => Some(n),
            _ => None,
        })
    }
}

impl FromIterator<Attribute> for Attributes {
    fn from_iter<I: IntoIterator<Item = Attribute>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl<'a> IntoIterator for &'a Attributes {
    type Item = &'a Attribute;
    type IntoIter = std::slice::Iter<'a, Attribute>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}
