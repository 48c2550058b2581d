//! The snapshot file: every replicated store table as raw records, with the Raft metadata and
//! the cluster incarnation ID, streamed to and from a file (never held whole in memory).
//!
//! Layout (integers little-endian):
//!
//! ```text
//! magic "KMSSNAP\0", format version u32 (2)
//! schema version u32 (format 2 on; format 1, written before schema versions, is schema 1)
//! header length u32, header (postcard: incarnation ID, last log id, last membership)
//! then per table: tag 1, name length u8, name
//!      per record: tag 2, key length u32, key, value length u32, value
//! tag 0 (end)
//! SHA-256 of everything above (32 bytes)
//! ```
//!
//! A snapshot of a newer schema version than this binary's
//! ([`crate::store::schema::SCHEMA_VERSION`]) is refused when opened, before its header is
//! decoded. Format 1 files (no schema field) are still read.
//!
//! Every length is checked against its limit before anything is allocated; the digest is
//! checked over the whole file before any record is used (it guards against corruption in
//! transit or on disk; peers are authenticated by mutual TLS, not by this digest).

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use openraft::type_config::alias::SnapshotMetaOf;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::{ClusterStoreError, SnapshotDefect};
use super::types::{Incarnation, TypeConfig};
use crate::store::schema;

const MAGIC: &[u8; 8] = b"KMSSNAP\0";
/// The format written: 2 adds the schema version after the format version.
pub(crate) const FORMAT_VERSION: u32 = 2;
/// The format written before snapshots carried a schema version (read, never written).
const FORMAT_UNVERSIONED: u32 = 1;
const TAG_END: u8 = 0;
const TAG_TABLE: u8 = 1;
const TAG_RECORD: u8 = 2;
const DIGEST_LEN: u64 = 32;
/// Largest snapshot file accepted: far above the state of a large deployment (millions of
/// keys at a few KiB each), small enough to refuse a runaway transfer.
pub const MAX_SNAPSHOT_BYTES: u64 = 64 << 30;
/// Largest header (the membership of a handful of nodes is a few hundred bytes).
const MAX_HEADER_BYTES: u32 = 1 << 20;
/// Largest key or value of one record (a stored object is bounded by the KMIP message size).
const MAX_RECORD_PART: u32 = 64 << 20;

/// What a snapshot says about itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotHeader {
    /// The cluster incarnation the state belongs to (`None` before the cluster was stamped).
    pub incarnation: Option<Incarnation>,
    /// Last applied log id and last membership.
    pub meta: SnapshotMetaOf<TypeConfig>,
}

/// A snapshot's bytes: an open snapshot file, read from its start. This is the state
/// machine's `SnapshotData`; a network receiver writes the incoming bytes to a file and wraps
/// it with [`SnapshotData::new`].
#[derive(Debug)]
pub struct SnapshotData {
    file: File,
}

impl SnapshotData {
    /// Wraps an open snapshot file.
    pub fn new(file: File) -> Self {
        Self { file }
    }

    /// The file, positioned at its start (for sending it to a peer).
    pub fn into_file(mut self) -> io::Result<File> {
        self.file.seek(SeekFrom::Start(0))?;
        Ok(self.file)
    }

    /// Size in bytes.
    pub fn len(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    /// Whether the file is empty (never a valid snapshot).
    pub fn is_empty(&self) -> io::Result<bool> {
        Ok(self.len()? == 0)
    }
}

fn io_err(e: io::Error) -> ClusterStoreError {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        ClusterStoreError::SnapshotMalformed(SnapshotDefect::Truncated)
    } else {
        ClusterStoreError::SnapshotIo(e)
    }
}

fn defect(d: SnapshotDefect) -> ClusterStoreError {
    ClusterStoreError::SnapshotMalformed(d)
}

/// Writes a snapshot file, hashing as it goes.
pub(crate) struct SnapshotWriter {
    out: BufWriter<File>,
    hasher: Sha256,
    len: u64,
}

impl SnapshotWriter {
    /// Creates the file at `path` and writes the header.
    pub(crate) fn create(path: &Path, header: &SnapshotHeader) -> Result<Self, ClusterStoreError> {
        let file = crate::permissions::private_file()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(ClusterStoreError::SnapshotIo)?;
        let mut w = Self {
            out: BufWriter::new(file),
            hasher: Sha256::new(),
            len: 0,
        };
        let encoded = postcard::to_allocvec(header).map_err(ClusterStoreError::Encode)?;
        let header_len = u32::try_from(encoded.len())
            .ok()
            .filter(|n| *n <= MAX_HEADER_BYTES)
            .ok_or(defect(SnapshotDefect::TooLarge))?;
        w.put(MAGIC)?;
        w.put(&FORMAT_VERSION.to_le_bytes())?;
        w.put(&schema::SCHEMA_VERSION.to_le_bytes())?;
        w.put(&header_len.to_le_bytes())?;
        w.put(&encoded)?;
        Ok(w)
    }

    fn put(&mut self, bytes: &[u8]) -> Result<(), ClusterStoreError> {
        self.len += bytes.len() as u64;
        if self.len + DIGEST_LEN > MAX_SNAPSHOT_BYTES {
            return Err(defect(SnapshotDefect::TooLarge));
        }
        self.hasher.update(bytes);
        self.out
            .write_all(bytes)
            .map_err(ClusterStoreError::SnapshotIo)
    }

    fn part(&mut self, bytes: &[u8]) -> Result<(), ClusterStoreError> {
        let len = u32::try_from(bytes.len())
            .ok()
            .filter(|n| *n <= MAX_RECORD_PART)
            .ok_or(defect(SnapshotDefect::TooLarge))?;
        self.put(&len.to_le_bytes())?;
        self.put(bytes)
    }

    /// Starts the records of table `name`.
    pub(crate) fn table(&mut self, name: &str) -> Result<(), ClusterStoreError> {
        let len = u8::try_from(name.len()).map_err(|_| defect(SnapshotDefect::TooLarge))?;
        self.put(&[TAG_TABLE, len])?;
        self.put(name.as_bytes())
    }

    /// One record of the current table.
    pub(crate) fn record(&mut self, key: &[u8], value: &[u8]) -> Result<(), ClusterStoreError> {
        self.put(&[TAG_RECORD])?;
        self.part(key)?;
        self.part(value)
    }

    /// Writes the end marker and digest and fsyncs the file.
    pub(crate) fn finish(mut self) -> Result<File, ClusterStoreError> {
        self.put(&[TAG_END])?;
        let digest = self.hasher.finalize();
        self.out
            .write_all(&digest)
            .map_err(ClusterStoreError::SnapshotIo)?;
        let file = self
            .out
            .into_inner()
            .map_err(|e| ClusterStoreError::SnapshotIo(e.into_error()))?;
        file.sync_all().map_err(ClusterStoreError::SnapshotIo)?;
        Ok(file)
    }
}

/// Copies a snapshot from `src` (read from its start) to `dst`, checking its size limit and
/// its digest on the way; `dst` is fsync'd. Nothing in it is interpreted yet.
pub(crate) fn copy_verified(src: &mut File, dst: &mut File) -> Result<(), ClusterStoreError> {
    src.seek(SeekFrom::Start(0))
        .map_err(ClusterStoreError::SnapshotIo)?;
    let len = src.metadata().map_err(ClusterStoreError::SnapshotIo)?.len();
    if len > MAX_SNAPSHOT_BYTES {
        return Err(defect(SnapshotDefect::TooLarge));
    }
    let body_len = len
        .checked_sub(DIGEST_LEN)
        .ok_or(defect(SnapshotDefect::Truncated))?;
    let mut input = BufReader::new(&mut *src);
    let mut out = BufWriter::new(&mut *dst);
    let mut hasher = Sha256::new();
    let mut left = body_len;
    let mut buf = vec![0u8; 64 << 10];
    while left > 0 {
        let want = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
        input.read_exact(&mut buf[..want]).map_err(io_err)?;
        hasher.update(&buf[..want]);
        out.write_all(&buf[..want])
            .map_err(ClusterStoreError::SnapshotIo)?;
        left -= want as u64;
    }
    let mut digest = [0u8; DIGEST_LEN as usize];
    input.read_exact(&mut digest).map_err(io_err)?;
    if hasher.finalize().as_slice() != digest {
        return Err(defect(SnapshotDefect::Digest));
    }
    out.write_all(&digest)
        .map_err(ClusterStoreError::SnapshotIo)?;
    out.flush().map_err(ClusterStoreError::SnapshotIo)?;
    drop(out);
    dst.sync_all().map_err(ClusterStoreError::SnapshotIo)
}

/// One item of a snapshot's body.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Item {
    /// The records that follow belong to this table.
    Table(String),
    /// A raw (key, value) record.
    Record(Vec<u8>, Vec<u8>),
}

/// Reads a snapshot file whose digest was checked (see [`copy_verified`]).
pub(crate) struct SnapshotReader {
    input: BufReader<File>,
    /// Bytes left before the digest.
    left: u64,
    in_table: bool,
    ended: bool,
}

impl SnapshotReader {
    /// Reads the header; the reader then yields the body's items.
    pub(crate) fn open(mut file: File) -> Result<(SnapshotHeader, Self), ClusterStoreError> {
        file.seek(SeekFrom::Start(0))
            .map_err(ClusterStoreError::SnapshotIo)?;
        let len = file
            .metadata()
            .map_err(ClusterStoreError::SnapshotIo)?
            .len();
        if len > MAX_SNAPSHOT_BYTES {
            return Err(defect(SnapshotDefect::TooLarge));
        }
        let mut r = Self {
            input: BufReader::new(file),
            left: len
                .checked_sub(DIGEST_LEN)
                .ok_or(defect(SnapshotDefect::Truncated))?,
            in_table: false,
            ended: false,
        };
        let mut magic = [0u8; 8];
        r.take(&mut magic)?;
        if &magic != MAGIC {
            return Err(defect(SnapshotDefect::Magic));
        }
        let found = match r.u32()? {
            FORMAT_UNVERSIONED => schema::UNVERSIONED,
            FORMAT_VERSION => r.u32()?,
            _ => return Err(defect(SnapshotDefect::Magic)),
        };
        schema::plan(Some(found), false).map_err(ClusterStoreError::SnapshotSchemaTooNew)?;
        let header_len = r.u32()?;
        if header_len > MAX_HEADER_BYTES {
            return Err(defect(SnapshotDefect::TooLarge));
        }
        let bytes = r.bytes(header_len)?;
        let header = postcard::from_bytes(&bytes).map_err(|_| defect(SnapshotDefect::Magic))?;
        Ok((header, r))
    }

    /// Replaces every replicated table of `w` with the body's records (a snapshot install, a
    /// backup's restore); nothing of the store's replicated state is kept.
    pub(crate) fn replace_replicated(
        mut self,
        w: &mut crate::store::replica::ReplicaWrite,
    ) -> Result<(), ClusterStoreError> {
        w.clear_replicated()?;
        let mut table = None;
        while let Some(item) = self.next_item()? {
            match item {
                Item::Table(name) => {
                    table = Some(
                        crate::store::replica::replicated_table(&name)
                            .ok_or(ClusterStoreError::SnapshotUnknownTable)?,
                    );
                }
                Item::Record(key, value) => {
                    let t = table.ok_or(defect(SnapshotDefect::NoTable))?;
                    if !w.insert_raw(t, &key, &value)? {
                        return Err(ClusterStoreError::SnapshotRecordMalformed);
                    }
                }
            }
        }
        Ok(())
    }

    fn take(&mut self, buf: &mut [u8]) -> Result<(), ClusterStoreError> {
        let n = buf.len() as u64;
        if n > self.left {
            return Err(defect(SnapshotDefect::Truncated));
        }
        self.input.read_exact(buf).map_err(io_err)?;
        self.left -= n;
        Ok(())
    }

    fn u32(&mut self) -> Result<u32, ClusterStoreError> {
        let mut b = [0u8; 4];
        self.take(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn u8(&mut self) -> Result<u8, ClusterStoreError> {
        let mut b = [0u8; 1];
        self.take(&mut b)?;
        Ok(b[0])
    }

    /// `len` bytes; `len` was checked against its limit, and is checked against what is left
    /// of the file before allocating.
    fn bytes(&mut self, len: u32) -> Result<Vec<u8>, ClusterStoreError> {
        if u64::from(len) > self.left {
            return Err(defect(SnapshotDefect::Truncated));
        }
        let mut v = vec![0u8; len as usize];
        self.take(&mut v)?;
        Ok(v)
    }

    fn part(&mut self) -> Result<Vec<u8>, ClusterStoreError> {
        let len = self.u32()?;
        if len > MAX_RECORD_PART {
            return Err(defect(SnapshotDefect::TooLarge));
        }
        self.bytes(len)
    }

    /// The next item, or `None` after the end marker.
    pub(crate) fn next_item(&mut self) -> Result<Option<Item>, ClusterStoreError> {
        if self.ended {
            return Ok(None);
        }
        match self.u8()? {
            TAG_END => {
                self.ended = true;
                if self.left != 0 {
                    return Err(defect(SnapshotDefect::TrailingBytes));
                }
                Ok(None)
            }
            TAG_TABLE => {
                let len = self.u8()?;
                let name = String::from_utf8(self.bytes(u32::from(len))?)
                    .map_err(|_| ClusterStoreError::SnapshotUnknownTable)?;
                self.in_table = true;
                Ok(Some(Item::Table(name)))
            }
            TAG_RECORD if self.in_table => {
                let key = self.part()?;
                let value = self.part()?;
                Ok(Some(Item::Record(key, value)))
            }
            TAG_RECORD => Err(defect(SnapshotDefect::NoTable)),
            _ => Err(defect(SnapshotDefect::Tag)),
        }
    }
}
