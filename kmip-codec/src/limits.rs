//! Decoding limits. Each is checked before anything is allocated for the item it guards, so a
//! peer cannot make the server allocate or recurse in proportion to a length it merely declares.

/// Default cap on one message, 8-byte header included: 1 MiB.
///
/// The largest legitimate messages are Register / Get of certificates or RSA-4096 private keys
/// and batched Locate answers, all a few KiB to tens of KiB. A megabyte leaves ample room while
/// bounding what one connection can make the server buffer. Configurable per server.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 1024 * 1024;

/// Maximum nesting of Structures; the top-level structure counts as 1.
///
/// The deepest structures KMIP defines (1.4 and 2.1) sit around nine levels: Request Message >
/// Batch Item > Request Payload > Symmetric Key > Key Block > Key Wrapping Data > Encryption
/// Key Information > Cryptographic Parameters, or Template-Attribute > Attribute > Attribute
/// Value > Link-like structures in 1.x. 16 gives headroom for vendor extensions while keeping
/// the decoder's recursion (one stack frame per level) trivially small.
pub const MAX_DEPTH: usize = 16;

/// Maximum direct children of one Structure.
///
/// Real structures hold tens of items; the largest are Query responses (one Operation /
/// Object Type per item, under 100) and Locate responses (one Unique Identifier each, bounded
/// by Maximum Items). 4096 is far above those, and bounds the `Vec` of children a structure
/// can grow.
pub const MAX_ITEMS_PER_STRUCTURE: usize = 4096;

/// Maximum Batch Items in one request (checked by the typed model).
///
/// Clients such as vCenter send one item per message; KMIP test vectors batch a handful.
/// 256 bounds the work one message can queue on the HSM.
pub const MAX_BATCH_ITEMS: usize = 256;

/// The limits one decode runs under. `Limits::default()` uses the constants above.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted message in bytes, 8-byte header included.
    pub max_message_size: usize,
    /// Deepest accepted nesting of Structures (top-level structure = 1).
    pub max_depth: usize,
    /// Most direct children of any one Structure.
    pub max_items_per_structure: usize,
    /// Most Batch Items in one message.
    pub max_batch_items: usize,
}

impl Limits {
    /// The default limits, usable in `const` context.
    pub const DEFAULT: Self = Self {
        max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
        max_depth: MAX_DEPTH,
        max_items_per_structure: MAX_ITEMS_PER_STRUCTURE,
        max_batch_items: MAX_BATCH_ITEMS,
    };

    /// The defaults with another message-size cap.
    #[must_use]
    pub const fn with_max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}
