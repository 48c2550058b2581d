//! Partitions on loopback, through the fixture's fault proxies (issue 20: "minority followers
//! refuse; healing converges"). The isolated leader's side of the same clause is
//! `cluster::isolated_leader_acknowledges_nothing`; the admin API of a cut-off node is
//! `cut_off.rs`.

use std::time::Duration;

use client::{ClientError, Connection};
use kmip_codec::enums::{RevocationReasonCode, State};
use kmip_codec::model::{AttributeName, AttributeValue};
use kmip_codec::tags::Tag;
use kms_tests::battery::cycles::PROTOCOL;
use kms_tests::cluster::{Cluster, ClusterOptions, NODES};

use super::{cluster_test, create_key, get_key};

/// Long enough for the server's own write (8 s) and read (5 s) limits to answer first.
const PATIENCE: Duration = Duration::from_secs(15);

/// What a node that cannot reach a majority answers (docs/OPERATIONS.md, Cluster).
const REFUSALS: [&str; 2] = [
    "cluster unavailable; try again",
    "cluster has no quorum; try again",
];

async fn connect(c: &Cluster, id: u64) -> Connection {
    let connector = c
        .connector_in(id, PROTOCOL, PATIENCE)
        .expect("KMIP connector");
    connector
        .connect()
        .await
        .unwrap_or_else(|e| panic!("KMIP connection to node {id}: {e}"))
}

async fn state(conn: &mut Connection, uid: &str) -> Result<State, ClientError> {
    let attributes = conn
        .get_attributes(uid, vec![AttributeName::Standard(Tag::STATE)])
        .await?;
    match attributes.iter().find(|a| a.tag() == Some(Tag::STATE)) {
        Some(a) => match a.value {
            AttributeValue::Enumeration(v) => Ok(State(v)),
            _ => Err(ClientError::UnexpectedResponse(
                "State is not an enumeration",
            )),
        },
        None => Err(ClientError::UnexpectedResponse("no State")),
    }
}

/// `answer` must be one of [`REFUSALS`], as a KMIP answer: no success, no hang, no other error.
/// A success is not printed (it may hold key material).
fn assert_refused<T>(what: &str, answer: &Result<T, impl std::fmt::Display>) {
    match answer {
        Err(e) if REFUSALS.iter().any(|r| e.to_string().contains(r)) => {
            println!("{what} on the isolated follower: {e}");
        }
        Err(e) => panic!("{what} on the isolated follower: {e}, not a refusal {REFUSALS:?}"),
        Ok(_) => panic!("{what} on the isolated follower succeeded"),
    }
}

/// A follower cut off from the others (the minority) acknowledges no Create and answers no
/// read (Get, Get Attributes) of a key the majority revoked meanwhile: each is refused with
/// "try again". The majority goes on. Once healed, the follower converges and shows the
/// majority's change.
#[test]
fn an_isolated_follower_refuses_reads_and_writes_and_converges_once_healed() {
    let name = "an_isolated_follower_refuses_reads_and_writes_and_converges_once_healed";
    cluster_test(name, &ClusterOptions::default(), async |c| {
        c.bootstrap().await.expect("bootstrap");
        let leader = c.leader().await.expect("leader");
        c.add_tenant(leader).await.expect("tenant and client");
        let mut on_leader = connect(c, leader).await;
        let key = create_key(&mut on_leader).await.expect("create K");
        c.wait_converged().await.expect("K everywhere");
        let follower = (1..=NODES).find(|&id| id != leader).expect("a follower");
        let mut isolated = connect(c, follower).await;
        assert_eq!(
            state(&mut isolated, &key).await.expect("K on the follower"),
            State::PRE_ACTIVE
        );

        c.isolate(follower);
        let majority = c.leader().await.expect("the majority keeps a leader");
        let mut on_majority = connect(c, majority).await;
        on_majority
            .revoke(&key, RevocationReasonCode::CESSATION_OF_OPERATION, None)
            .await
            .expect("revoke K on the majority");
        create_key(&mut on_majority)
            .await
            .expect("the majority goes on writing");

        let created = create_key(&mut connect(c, follower).await).await;
        assert_refused("Create", &created);
        let read = state(&mut connect(c, follower).await, &key).await;
        assert_refused("Get Attributes (State) of K", &read);
        let got = get_key(&mut connect(c, follower).await, &key).await;
        assert_refused("Get of K", &got);

        c.heal();
        c.wait_rejoined(follower)
            .await
            .expect("the follower rejoins");
        let digest = c.wait_converged().await.expect("equal digests after heal");
        println!("converged after heal at applied index {:?}", digest.applied);
        let mut back = connect(c, follower).await;
        assert_eq!(
            state(&mut back, &key)
                .await
                .expect("K on the healed follower"),
            State::DEACTIVATED,
            "the healed follower shows K as it was before the majority revoked it"
        );
        create_key(&mut back)
            .await
            .expect("the healed follower takes writes again");
    });
}
