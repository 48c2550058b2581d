//! The crate's one error type: what went wrong, and where (byte offset and tag path).
