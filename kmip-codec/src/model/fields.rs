//! Reading and writing the fields of one TTLV Structure, the two primitives every typed KMIP
//! structure is built from.
//!
//! Reading is by tag, so the order of fields inside a structure does not matter; it is strict
//! on item types ([`ErrorKind::UnexpectedType`] names the tag) and on unknown fields: every child
//! must be claimed by the typed structure, or [`Fields::finish`] reports the first unclaimed
//! one as [`ErrorKind::UnexpectedTag`]. Errors raised inside a structure get its tag added to
//! their path by [`decode_struct`].

use crate::error::{Error, ErrorKind, Result};
use crate::tags::Tag;
use crate::ttlv::{Bytes, ItemType, Ttlv, Value};

/// The children of one Structure, with a record of which ones a typed decoder has claimed.
pub(crate) struct Fields<'a> {
    items: &'a [Ttlv],
    used: Claimed,
}

/// Which children were claimed: a bit set for the usual small structure, a vector beyond 64.
enum Claimed {
    Small(u64),
    Large(Vec<bool>),
}

impl Claimed {
    fn new(len: usize) -> Self {
        if len <= 64 {
            Self::Small(0)
        } else {
            // `len` is the length of an already decoded child list, bounded by
            // `Limits::max_items_per_structure`.
            Self::Large(vec![false; len])
        }
    }

    fn get(&self, i: usize) -> bool {
        match self {
            Self::Small(bits) => bits & (1u64 << i) != 0,
            Self::Large(v) => v.get(i).copied().unwrap_or(true),
        }
    }

    fn set(&mut self, i: usize) {
        match self {
            Self::Small(bits) => *bits |= 1u64 << i,
            Self::Large(v) => {
                if let Some(b) = v.get_mut(i) {
                    *b = true;
                }
            }
        }
    }
}

/// Decodes the structure `item` with `f`, then checks that every child was claimed. Errors get
/// `item`'s tag added to their path.
pub(crate) fn decode_struct<'a, T>(
    item: &'a Ttlv,
    f: impl FnOnce(&mut Fields<'a>) -> Result<T>,
) -> Result<T> {
    let run = || {
        let mut fields = Fields::of(item)?;
        let t = f(&mut fields)?;
        fields.finish()?;
        Ok(t)
    };
    run().map_err(|e: Error| e.in_tag(item.tag))
}

/// The error for an item of the wrong type.
pub(crate) fn wrong_type(item: &Ttlv, expected: ItemType) -> Error {
    Error::new(ErrorKind::UnexpectedType {
        tag: item.tag,
        expected,
        found: item.value.item_type(),
    })
}

/// The children of `item`, or [`ErrorKind::UnexpectedType`] when it is not a Structure.
pub(crate) fn children(item: &Ttlv) -> Result<&[Ttlv]> {
    match &item.value {
        Value::Structure(c) => Ok(c),
        _ => Err(wrong_type(item, ItemType::Structure)),
    }
}

macro_rules! scalar_readers {
    ($( $opt:ident, $req:ident, $all:ident, $variant:ident, $ty:ty, $conv:expr; )*) => {
        $(
            /// The field `tag`, if present (type checked).
            #[allow(dead_code, reason = "a uniform reader set; not every type uses all three")]
            pub(crate) fn $opt(&mut self, tag: Tag) -> Result<Option<$ty>> {
                match self.take(tag) {
                    None => Ok(None),
                    Some(item) => match &item.value {
                        Value::$variant(v) => Ok(Some($conv(v))),
                        _ => Err(wrong_type(item, ItemType::$variant)),
                    },
                }
            }

            /// The field `tag`, or [`ErrorKind::MissingField`].
            #[allow(dead_code, reason = "a uniform reader set; not every type uses all three")]
            pub(crate) fn $req(&mut self, tag: Tag) -> Result<$ty> {
                self.$opt(tag)?
                    .ok_or_else(|| Error::new(ErrorKind::MissingField(tag)))
            }

            /// Every field `tag`, in order.
            #[allow(dead_code, reason = "a uniform reader set; not every type uses all three")]
            pub(crate) fn $all(&mut self, tag: Tag) -> Result<Vec<$ty>> {
                let mut out = Vec::new();
                while let Some(v) = self.$opt(tag)? {
                    out.push(v);
                }
                Ok(out)
            }
        )*
    };
}

impl<'a> Fields<'a> {
    /// The fields of the Structure `item`.
    pub(crate) fn of(item: &'a Ttlv) -> Result<Self> {
        let items = children(item)?;
        Ok(Self {
            items,
            used: Claimed::new(items.len()),
        })
    }

    /// Claims the first unclaimed child with `tag`.
    pub(crate) fn take(&mut self, tag: Tag) -> Option<&'a Ttlv> {
        let items = self.items;
        for (i, item) in items.iter().enumerate() {
            if item.tag == tag && !self.used.get(i) {
                self.used.set(i);
                return Some(item);
            }
        }
        None
    }

    /// Claims the first unclaimed child with `tag`, or [`ErrorKind::MissingField`].
    pub(crate) fn require(&mut self, tag: Tag) -> Result<&'a Ttlv> {
        self.take(tag)
            .ok_or_else(|| Error::new(ErrorKind::MissingField(tag)))
    }

    /// Claims every unclaimed child with `tag`, in order.
    pub(crate) fn take_all(&mut self, tag: Tag) -> Vec<&'a Ttlv> {
        let mut out = Vec::new();
        while let Some(item) = self.take(tag) {
            out.push(item);
        }
        out
    }

    /// Claims every unclaimed child whose tag satisfies `pred`, in order.
    pub(crate) fn take_where(&mut self, pred: impl Fn(Tag) -> bool) -> Vec<&'a Ttlv> {
        let mut out = Vec::new();
        for (i, item) in self.items.iter().enumerate() {
            if !self.used.get(i) && pred(item.tag) {
                self.used.set(i);
                out.push(item);
            }
        }
        out
    }

    scalar_readers! {
        opt_text, req_text, all_text, TextString, String, |v: &String| v.clone();
        opt_int, req_int, all_int, Integer, i32, |v: &i32| *v;
        opt_long, req_long, all_long, LongInteger, i64, |v: &i64| *v;
        opt_enum, req_enum, all_enum, Enumeration, u32, |v: &u32| *v;
        opt_bool, req_bool, all_bool, Boolean, bool, |v: &bool| *v;
        opt_bytes, req_bytes, all_bytes, ByteString, Bytes, |v: &Bytes| v.clone();
        opt_datetime, req_datetime, all_datetime, DateTime, i64, |v: &i64| *v;
        opt_interval, req_interval, all_interval, Interval, u32, |v: &u32| *v;
        opt_big, req_big, all_big, BigInteger, Bytes, |v: &Bytes| v.clone();
    }

    /// A non-secret Byte String field (identifiers, digests, IVs) as a plain vector.
    pub(crate) fn opt_plain_bytes(&mut self, tag: Tag) -> Result<Option<Vec<u8>>> {
        Ok(self.opt_bytes(tag)?.map(|b| b.as_slice().to_vec()))
    }

    /// Decodes the optional Structure field `tag` with `f`.
    pub(crate) fn opt_with<T>(
        &mut self,
        tag: Tag,
        f: impl FnOnce(&'a Ttlv) -> Result<T>,
    ) -> Result<Option<T>> {
        self.take(tag).map(f).transpose()
    }

    /// Decodes the required field `tag` with `f`.
    pub(crate) fn req_with<T>(
        &mut self,
        tag: Tag,
        f: impl FnOnce(&'a Ttlv) -> Result<T>,
    ) -> Result<T> {
        f(self.require(tag)?)
    }

    /// Decodes every field `tag` with `f`, in order.
    pub(crate) fn all_with<T>(
        &mut self,
        tag: Tag,
        mut f: impl FnMut(&'a Ttlv) -> Result<T>,
    ) -> Result<Vec<T>> {
        self.take_all(tag).into_iter().map(&mut f).collect()
    }

    /// Fails with [`ErrorKind::UnexpectedTag`] on the first child nobody claimed.
    pub(crate) fn finish(self) -> Result<()> {
        for (i, item) in self.items.iter().enumerate() {
            if !self.used.get(i) {
                return Err(Error::new(ErrorKind::UnexpectedTag(item.tag)));
            }
        }
        Ok(())
    }
}

/// A structure whose fields do not depend on the protocol version.
pub(crate) trait Fielded: Sized {
    /// Reads the fields (the caller checks that nothing is left over).
    fn read(f: &mut Fields<'_>) -> Result<Self>;
    /// Writes the fields in spec order.
    fn write(&self, out: &mut Out);

    /// Decodes `item` (whatever its tag) as this structure.
    fn decode(item: &Ttlv) -> Result<Self> {
        decode_struct(item, |f| Self::read(f))
    }

    /// Encodes this structure under `tag`.
    fn encode(&self, tag: Tag) -> Ttlv {
        let mut out = Out::new();
        self.write(&mut out);
        out.into_struct(tag)
    }

    /// The children this structure encodes to.
    fn children(&self) -> Vec<Ttlv> {
        let mut out = Out::new();
        self.write(&mut out);
        out.into_vec()
    }
}

/// Builds the children of one Structure in the order the spec lists them.
#[derive(Default)]
pub(crate) struct Out(Vec<Ttlv>);

impl Out {
    /// An empty list of children.
    pub(crate) fn new() -> Self {
        Self(Vec::new())
    }

    /// Appends an item.
    pub(crate) fn push(&mut self, item: Ttlv) -> &mut Self {
        self.0.push(item);
        self
    }

    /// Appends `item` when present.
    pub(crate) fn push_opt(&mut self, item: Option<Ttlv>) -> &mut Self {
        if let Some(i) = item {
            self.0.push(i);
        }
        self
    }

    /// Appends a value.
    pub(crate) fn value(&mut self, tag: Tag, value: Value) -> &mut Self {
        self.push(Ttlv::new(tag, value))
    }

    /// Appends a Text String.
    pub(crate) fn text(&mut self, tag: Tag, v: &str) -> &mut Self {
        self.value(tag, Value::TextString(v.to_owned()))
    }

    /// Appends a Text String when present.
    pub(crate) fn opt_text(&mut self, tag: Tag, v: Option<&str>) -> &mut Self {
        if let Some(v) = v {
            self.text(tag, v);
        }
        self
    }

    /// Appends an Integer.
    pub(crate) fn int(&mut self, tag: Tag, v: i32) -> &mut Self {
        self.value(tag, Value::Integer(v))
    }

    /// Appends an Integer when present.
    pub(crate) fn opt_int(&mut self, tag: Tag, v: Option<i32>) -> &mut Self {
        if let Some(v) = v {
            self.int(tag, v);
        }
        self
    }

    /// Appends a Long Integer when present.
    pub(crate) fn opt_long(&mut self, tag: Tag, v: Option<i64>) -> &mut Self {
        if let Some(v) = v {
            self.value(tag, Value::LongInteger(v));
        }
        self
    }

    /// Appends an Enumeration.
    pub(crate) fn enumeration(&mut self, tag: Tag, v: u32) -> &mut Self {
        self.value(tag, Value::Enumeration(v))
    }

    /// Appends an Enumeration when present.
    pub(crate) fn opt_enum(&mut self, tag: Tag, v: Option<u32>) -> &mut Self {
        if let Some(v) = v {
            self.enumeration(tag, v);
        }
        self
    }

    /// Appends a Boolean when present.
    pub(crate) fn opt_bool(&mut self, tag: Tag, v: Option<bool>) -> &mut Self {
        if let Some(v) = v {
            self.value(tag, Value::Boolean(v));
        }
        self
    }

    /// Appends a Byte String (copied into a zeroizing buffer).
    pub(crate) fn bytes(&mut self, tag: Tag, v: &Bytes) -> &mut Self {
        self.value(tag, Value::ByteString(v.clone()))
    }

    /// Appends a Byte String when present.
    pub(crate) fn opt_bytes(&mut self, tag: Tag, v: Option<&Bytes>) -> &mut Self {
        if let Some(v) = v {
            self.bytes(tag, v);
        }
        self
    }

    /// Appends a Big Integer (copied into a zeroizing buffer).
    pub(crate) fn big(&mut self, tag: Tag, v: &Bytes) -> &mut Self {
        self.value(tag, Value::BigInteger(v.clone()))
    }

    /// Appends a Big Integer when present.
    pub(crate) fn opt_big(&mut self, tag: Tag, v: Option<&Bytes>) -> &mut Self {
        if let Some(v) = v {
            self.big(tag, v);
        }
        self
    }

    /// Appends a Long Integer.
    pub(crate) fn long(&mut self, tag: Tag, v: i64) -> &mut Self {
        self.value(tag, Value::LongInteger(v))
    }

    /// Appends a Date-Time.
    pub(crate) fn datetime(&mut self, tag: Tag, v: i64) -> &mut Self {
        self.value(tag, Value::DateTime(v))
    }

    /// Appends an Interval.
    pub(crate) fn interval(&mut self, tag: Tag, v: u32) -> &mut Self {
        self.value(tag, Value::Interval(v))
    }

    /// Appends a non-secret Byte String.
    pub(crate) fn plain_bytes(&mut self, tag: Tag, v: &[u8]) -> &mut Self {
        self.value(tag, Value::ByteString(Bytes::from(v)))
    }

    /// Appends a non-secret Byte String when present.
    pub(crate) fn opt_plain_bytes(&mut self, tag: Tag, v: Option<&[u8]>) -> &mut Self {
        if let Some(v) = v {
            self.value(tag, Value::ByteString(Bytes::from(v)));
        }
        self
    }

    /// Appends a Date-Time when present.
    pub(crate) fn opt_datetime(&mut self, tag: Tag, v: Option<i64>) -> &mut Self {
        if let Some(v) = v {
            self.value(tag, Value::DateTime(v));
        }
        self
    }

    /// Appends an Interval when present.
    pub(crate) fn opt_interval(&mut self, tag: Tag, v: Option<u32>) -> &mut Self {
        if let Some(v) = v {
            self.value(tag, Value::Interval(v));
        }
        self
    }

    /// Appends the clones of raw items.
    pub(crate) fn raw(&mut self, items: &[Ttlv]) -> &mut Self {
        self.0.extend(items.iter().cloned());
        self
    }

    /// The children built so far.
    pub(crate) fn into_vec(self) -> Vec<Ttlv> {
        self.0
    }

    /// The Structure `tag` holding the children built so far.
    pub(crate) fn into_struct(self, tag: Tag) -> Ttlv {
        Ttlv::structure(tag, self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(tag: u32, value: Value) -> Ttlv {
        Ttlv::new(Tag(tag), value)
    }

    #[test]
    fn fields_are_found_in_any_order_and_leftovers_are_reported() {
        let s = Ttlv::structure(
            Tag(0x420001),
            vec![
                t(0x420003, Value::Integer(7)),
                t(0x420002, Value::TextString("a".into())),
                t(0x420009, Value::Boolean(true)),
            ],
        );
        let err = decode_struct(&s, |f| {
            assert_eq!(f.req_text(Tag(0x420002))?, "a");
            assert_eq!(f.opt_int(Tag(0x420003))?, Some(7));
            Ok(())
        })
        .unwrap_err();
        assert!(matches!(
            err.kind(),
            ErrorKind::UnexpectedTag(Tag(0x420009))
        ));
        assert_eq!(err.path(), &[Tag(0x420001)]);
    }

    #[test]
    fn wrong_type_names_the_tag() {
        let s = Ttlv::structure(Tag(0x420001), vec![t(0x420002, Value::Integer(1))]);
        let err = decode_struct(&s, |f| f.req_text(Tag(0x420002))).unwrap_err();
        assert!(matches!(
            err.kind(),
            ErrorKind::UnexpectedType {
                tag: Tag(0x420002),
                expected: ItemType::TextString,
                found: ItemType::Integer
            }
        ));
    }

    #[test]
    fn large_structures_track_claims_past_64() {
        let kids: Vec<Ttlv> = (0..100).map(|i| t(0x420002, Value::Integer(i))).collect();
        let s = Ttlv::structure(Tag(0x420001), kids);
        let all = decode_struct(&s, |f| f.all_int(Tag(0x420002))).unwrap();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
    }
}
