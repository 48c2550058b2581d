//! Tests of the replication storage: openraft's storage suite against the real stores,
//! durability across reopen, corruption, snapshots (round trip, incarnation, damage).

mod durability;
mod files;
mod fixture;
mod peer_reload;
mod requests;
mod schema;
mod snapshots;
mod suite;
