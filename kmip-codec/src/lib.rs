//! KMIP wire format: the binary TTLV encoding, the XML encoding used by the OASIS test vectors,
//! the JSON encoding of the KMIP JSON profile, and the typed KMIP message model.
//!
//! This crate is pure: it does no I/O, spawns nothing and logs nothing. Every length read from
//! the peer is checked against a named limit before anything is allocated.
#![forbid(unsafe_code)]

pub mod enums;
pub mod error;
pub mod json;
pub mod limits;
pub mod model;
pub mod pretty;
pub mod tags;
pub mod ttlv;
pub mod version;
pub mod xml;
