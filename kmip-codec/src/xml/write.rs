//! Writing TTLV items in the KMIP XML encoding.

use std::fmt::Write as _;

use quick_xml::escape::escape;

use super::value::{format_value, names_for};
use crate::ttlv::Ttlv;

/// Writes an item as indented KMIP XML (two spaces per level, one element per line), with the
/// names the OASIS vectors use. Unnamed tags are written `<TTLV tag="0x540001" ...>`.
///
/// The output holds every value in clear, key material included: it is for tests and tools.
/// Use [`crate::pretty::Redacted`] for logs.
pub fn to_xml(item: &Ttlv) -> String {
    let mut out = String::new();
    write_item(&mut out, item, &[], 0);
    out
}

fn write_item(out: &mut String, item: &Ttlv, siblings: &[Ttlv], depth: usize) {
    for _ in 0..depth {
        out.push_str("  ");
    }
    let name = item.tag.xml_name();
    out.push('<');
    match name {
        Some(n) => out.push_str(n),
        None => {
            // Writing to a String cannot fail.
            let _ = write!(out, "TTLV tag=\"0x{:06X}\"", item.tag.0);
        }
    }
    let names = names_for(item.tag, siblings);
    match format_value(&item.value, names) {
        Some(text) => {
            let _ = writeln!(
                out,
                " type=\"{}\" value=\"{}\"/>",
                item.value.item_type().xml_name(),
                escape(text.as_str())
            );
        }
        None => {
            let children = item.children();
            if children.is_empty() {
                out.push_str("/>\n");
                return;
            }
            out.push_str(">\n");
            for (i, child) in children.iter().enumerate() {
                write_item(out, child, children.get(..i).unwrap_or(&[]), depth + 1);
            }
            for _ in 0..depth {
                out.push_str("  ");
            }
            let _ = writeln!(out, "</{}>", name.unwrap_or("TTLV"));
        }
    }
}
