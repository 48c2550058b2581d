//! A Get is a read: writes other clients make to its key at the same time must not make it
//! fail.
//!
//! Found by the soak (docs/PERFORMANCE.md, the reliability entry of 2026-12-07): the first Get
//! of a key clears its Fresh attribute with a read-modify-write (`server/src/ops/get.rs`,
//! `attribute_model::mark_served`), which, like every write to an object, gives up after 8
//! attempts lost to other writers of the object; the Get then answered General Failure "try
//! again" although it only had to read. Now the key is served and a later Get clears Fresh.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use kmip_codec::model::{Attribute, AttributeValue};
use kms_tests::testbed::create_aes_key;

/// Fresh keys tried.
const ROUNDS: usize = 10;

/// Clients writing the key while it is read.
const WRITERS: usize = 16;

/// The custom attribute the writers change.
const NOTE: &str = "x-note";

kms_tests::server_test! {
    async fn a_get_of_a_fresh_key_is_not_refused_by_concurrent_writes(server) {
        let connector = server.client("acme").expect("connector");
        let mut refused = Vec::new();
        for round in 0..ROUNDS {
            let mut conn = connector.connect().await.expect("connect");
            let uid = create_aes_key(&mut conn).await.expect("create");
            conn.add_attribute(&uid, Attribute::custom(NOTE, AttributeValue::TextString("0".into())))
                .await
                .expect("add the note");
            let stop = Arc::new(AtomicBool::new(false));
            let mut writers = Vec::new();
            for w in 0..WRITERS {
                let (connector, uid, stop) = (connector.clone(), uid.clone(), stop.clone());
                writers.push(tokio::spawn(async move {
                    let mut conn = connector.connect().await.expect("writer connects");
                    let mut n = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        n += 1;
                        let note = Attribute::custom(NOTE, AttributeValue::TextString(format!("{w}-{n}")));
                        // A writer may itself lose 8 times and be told "try again": expected of
                        // a contended write, and not what this test is about.
                        let _ = conn.modify_attribute(&uid, None, note).await;
                    }
                }));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            // The key's first Get, in the middle of the writes.
            if let Err(e) = conn.get(&uid, None).await {
                refused.push(format!("round {round}: {e}"));
            }
            stop.store(true, Ordering::Relaxed);
            for w in writers {
                w.await.expect("writer task");
            }
        }
        assert!(
            refused.is_empty(),
            "{} of {ROUNDS} first Gets failed while other clients wrote the key: {refused:?}",
            refused.len()
        );
    }
}
