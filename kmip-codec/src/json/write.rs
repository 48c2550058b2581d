//! Writing TTLV items in the KMIP JSON encoding.

use std::fmt::Write as _;

use crate::ttlv::{Ttlv, Value};
use crate::xml::value::{Names, format_value, hex, names_for};

/// The largest magnitude a JSON number carries exactly (an IEEE double's 52-bit mantissa);
/// Long Integers beyond it are written as hex strings, as the JSON encoding asks.
const MAX_EXACT: i64 = 1 << 52;

/// Writes an item as compact KMIP JSON (one line), with names wherever they exist.
///
/// The output holds every value in clear, key material included. Use
/// [`crate::pretty::Redacted`] for logs.
pub fn to_json(item: &Ttlv) -> String {
    let mut out = String::new();
    write_item(&mut out, item, &[]);
    out
}

fn write_item(out: &mut String, item: &Ttlv, siblings: &[Ttlv]) {
    out.push_str("{\"tag\":");
    match item.tag.xml_name() {
        Some(name) => push_string(out, name),
        // Writing to a String cannot fail.
        None => {
            let _ = write!(out, "\"0x{:06X}\"", item.tag.0);
        }
    }
    if let Value::Structure(children) = &item.value {
        out.push_str(",\"value\":[");
        for (i, child) in children.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_item(out, child, children.get(..i).unwrap_or(&[]));
        }
        out.push_str("]}");
        return;
    }
    out.push_str(",\"type\":");
    push_string(out, item.value.item_type().xml_name());
    out.push_str(",\"value\":");
    write_value(out, &item.value, names_for(item.tag, siblings));
    out.push('}');
}

fn write_value(out: &mut String, value: &Value, names: Names) {
    match value {
        Value::Integer(v) => match names.mask {
            Some(mask) if *v != 0 => {
                push_string(out, &mask.format_mask(*v as u32).replace(' ', "|"))
            }
            _ => {
                let _ = write!(out, "{v}");
            }
        },
        Value::LongInteger(v) if (-MAX_EXACT + 1..MAX_EXACT).contains(v) => {
            let _ = write!(out, "{v}");
        }
        Value::LongInteger(v) => {
            let _ = write!(out, "\"0x{:016X}\"", *v as u64);
        }
        Value::BigInteger(b) => {
            out.push_str("\"0x");
            out.push_str(&hex(b.as_slice()));
            out.push('"');
        }
        Value::Interval(v) => {
            let _ = write!(out, "{v}");
        }
        Value::Boolean(b) => {
            let _ = write!(out, "{b}");
        }
        Value::TextString(s) => push_string(out, s),
        // Names, hex Byte Strings and ISO 8601 dates are written as the XML encoding writes
        // them.
        other => match format_value(other, names) {
            Some(text) => push_string(out, &text),
            None => out.push_str("[]"),
        },
    }
}

/// Appends `s` as a JSON string.
fn push_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
