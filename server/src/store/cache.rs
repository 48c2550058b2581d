//! Decoded records kept between requests. Every KMIP request looks up its client, its tenant
//! (twice) and its object; reading each from redb costs a read transaction and a postcard
//! decode, about a quarter of the server's CPU on a Get. The cache keeps what was read, stamped
//! with the store's write generation, and serves an entry only while no write has committed
//! since: every write transaction bumps the generation right after its commit, before its
//! caller learns the outcome, so a reader never gets a record older than a write it could
//! know about. Reads between writes (the common case: many Gets per Create) hit; a write makes
//! every entry stale at once, which is simple and never wrong.
//!
//! The generation is read BEFORE the store is, so an entry can only be stamped older than
//! what it holds (it is then refetched), never newer.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use super::StoreError;
use super::records::{ClientRecord, ObjectRecord, TenantRecord};

/// Entries a shelf holds before it is emptied (a crude bound: the working set of a busy node
/// refills it in milliseconds, and a scan cannot grow it without limit).
const TENANTS_MAX: usize = 4096;
const CLIENTS_MAX: usize = 16384;
const OBJECTS_MAX: usize = 16384;

type Entries<T> = HashMap<Box<str>, (u64, T)>;

/// One kind of record, by key.
struct Shelf<T> {
    entries: RwLock<Entries<T>>,
    max: usize,
}

impl<T: Clone> Shelf<T> {
    fn new(max: usize) -> Self {
        Self {
            entries: RwLock::new(HashMap::new()),
            max,
        }
    }

    fn get(&self, key: &str, generation: u64) -> Option<T> {
        let entries = self.entries.read().ok()?;
        match entries.get(key) {
            Some((g, value)) if *g == generation => Some(value.clone()),
            _ => None,
        }
    }

    fn put(&self, key: &str, generation: u64, value: T) {
        let Ok(mut entries) = self.entries.write() else {
            return;
        };
        if entries.len() >= self.max && !entries.contains_key(key) {
            entries.clear();
        }
        entries.insert(key.into(), (generation, value));
    }

    fn len(&self) -> usize {
        self.entries.read().map_or(0, |e| e.len())
    }
}

/// The store's cache of decoded records (shared by every clone of the store and its writers).
pub(crate) struct RecordCache {
    generation: AtomicU64,
    tenants: Shelf<Option<Arc<TenantRecord>>>,
    clients: Shelf<Option<Arc<ClientRecord>>>,
    /// Pinned-certificate fingerprint -> its client (None: not pinned, the usual answer).
    fingerprints: Shelf<Option<Arc<ClientRecord>>>,
    objects: Shelf<Option<Arc<ObjectRecord>>>,
}

impl fmt::Debug for RecordCache {
    // Sizes only: records are not for logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordCache")
            .field("generation", &self.generation.load(Ordering::Relaxed))
            .field("tenants", &self.tenants.len())
            .field("clients", &self.clients.len())
            .field("fingerprints", &self.fingerprints.len())
            .field("objects", &self.objects.len())
            .finish()
    }
}

impl RecordCache {
    pub(crate) fn new() -> Self {
        Self {
            generation: AtomicU64::new(0),
            tenants: Shelf::new(TENANTS_MAX),
            clients: Shelf::new(CLIENTS_MAX),
            fingerprints: Shelf::new(CLIENTS_MAX),
            objects: Shelf::new(OBJECTS_MAX),
        }
    }

    /// Called after every write transaction's commit (successful or not), before anyone is
    /// told about it: every entry read before is stale from now on.
    pub(crate) fn written(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// The cached tenant `id`, or `read()`'s answer, which is kept.
    pub(crate) fn tenant(
        &self,
        id: &str,
        read: impl FnOnce() -> Result<Option<TenantRecord>, StoreError>,
    ) -> Result<Option<Arc<TenantRecord>>, StoreError> {
        self.through(&self.tenants, id, || Ok(read()?.map(Arc::new)))
    }

    /// The cached client by store key, or `read()`'s answer.
    pub(crate) fn client(
        &self,
        key: &str,
        read: impl FnOnce() -> Result<Option<ClientRecord>, StoreError>,
    ) -> Result<Option<Arc<ClientRecord>>, StoreError> {
        self.through(&self.clients, key, || Ok(read()?.map(Arc::new)))
    }

    /// The cached pinned client of a certificate fingerprint, or `read()`'s answer.
    pub(crate) fn pinned(
        &self,
        fingerprint: &str,
        read: impl FnOnce() -> Result<Option<ClientRecord>, StoreError>,
    ) -> Result<Option<Arc<ClientRecord>>, StoreError> {
        self.through(
            &self.fingerprints,
            fingerprint,
            || Ok(read()?.map(Arc::new)),
        )
    }

    /// The cached object `uid`, or `read()`'s answer.
    pub(crate) fn object(
        &self,
        uid: &str,
        read: impl FnOnce() -> Result<Option<ObjectRecord>, StoreError>,
    ) -> Result<Option<Arc<ObjectRecord>>, StoreError> {
        self.through(&self.objects, uid, || Ok(read()?.map(Arc::new)))
    }

    fn through<T: Clone>(
        &self,
        shelf: &Shelf<T>,
        key: &str,
        read: impl FnOnce() -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        // Before the read: an entry may be stamped older than its contents, never newer.
        let generation = self.generation.load(Ordering::SeqCst);
        if let Some(hit) = shelf.get(key, generation) {
            return Ok(hit);
        }
        let value = read()?;
        shelf.put(key, generation, value.clone());
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_makes_every_entry_stale() {
        let cache = RecordCache::new();
        let mut reads = 0;
        let mut read = |n: i64| {
            reads += 1;
            Ok(Some(TenantRecord {
                id: "acme".into(),
                suspended: false,
                created_at: n,
                domain_keys: Vec::new(),
            }))
        };
        let first = cache.tenant("acme", || read(1)).unwrap().unwrap();
        let again = cache.tenant("acme", || read(2)).unwrap().unwrap();
        assert_eq!((first.created_at, again.created_at), (1, 1));
        cache.written();
        let after = cache.tenant("acme", || read(3)).unwrap().unwrap();
        assert_eq!(after.created_at, 3);
        assert_eq!(reads, 2);
    }

    #[test]
    fn an_entry_read_across_a_write_is_not_served_after_it() {
        let cache = RecordCache::new();
        // the write commits while the read is in flight: the entry keeps the older stamp
        let stale = cache
            .tenant("acme", || {
                cache.written();
                Ok(None)
            })
            .unwrap();
        assert!(stale.is_none());
        let fresh = cache
            .tenant("acme", || {
                Ok(Some(TenantRecord {
                    id: "acme".into(),
                    suspended: true,
                    created_at: 0,
                    domain_keys: Vec::new(),
                }))
            })
            .unwrap();
        assert!(fresh.is_some_and(|t| t.suspended));
    }

    #[test]
    fn a_full_shelf_is_emptied_not_grown() {
        let shelf = Shelf::new(2);
        shelf.put("a", 0, 1);
        shelf.put("b", 0, 2);
        shelf.put("c", 0, 3);
        assert_eq!(shelf.len(), 1);
        assert_eq!(shelf.get("c", 0), Some(3));
        assert_eq!(shelf.get("c", 1), None);
    }
}
