//! The workloads: what the setup creates and what one iteration of a worker sends. Only
//! standard KMIP operations with standard attributes (KMIP 1.4 section 4 / 2.1 section 6.1),
//! so the tool measures any KMIP server.
//!
//! Every Get answer is dropped as soon as it arrives: key material is never inspected, kept
//! or printed (it stays in `kmip_codec::ttlv::Bytes`, wiped on drop).

use std::sync::Arc;
use std::time::{Duration, Instant};

use kmip_codec::enums::NameType;
use kmip_codec::enums::{CryptographicAlgorithm, CryptographicUsageMask, RevocationReasonCode};
use kmip_codec::model::{Attribute, AttributeName, AttributeValue, Attributes, Name};
use kmip_codec::tags::Tag;
use kmip_codec::version::ProtocolVersion;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use super::report::{Failure, Sink};
use crate::HandshakeKind;
use crate::client::Client;
use crate::connection::{Connection, Connector};
use crate::error::{ClientError, Result};

/// Maximum Items of the `locate` workload's requests: a page, as an inventory client asks.
pub const LOCATE_PAGE: i32 = 10;

/// How long a worker pauses after a transport failure (refused connection, broken stream)
/// before its next attempt, so a server that is down is not hammered by a spinning loop.
pub const FAILURE_BACKOFF: Duration = Duration::from_millis(10);

/// What each connection does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Workload {
    /// Get of a random key among those the setup made (and activated), on kept connections.
    Get,
    /// Create of an AES-256 key.
    Create,
    /// A key's lifecycle: Create, Get, Activate, Get Attributes (State), Revoke, Destroy.
    Mixed,
    /// Locate by the run's Object Group, one page of [`LOCATE_PAGE`] identifiers.
    Locate,
    /// Locate by the Name of a random key of the run (each has its own): one identifier.
    LocateName,
    /// Locate by the custom attribute [`TAG_ATTRIBUTE`] of a random key of the run (each has
    /// its own value): one identifier.
    LocateAttr,
    /// A new TLS connection per iteration, Discover Versions then Get, then close.
    Vcenter,
}

impl Workload {
    /// The KMIP version spoken unless configured: 1.1 for `vcenter` (what vCenter sends),
    /// 1.4 otherwise.
    pub fn default_protocol(self) -> ProtocolVersion {
        match self {
            Self::Vcenter => ProtocolVersion::V1_1,
            Self::Get
            | Self::Create
            | Self::Mixed
            | Self::Locate
            | Self::LocateName
            | Self::LocateAttr => ProtocolVersion::V1_4,
        }
    }

    /// Whether the setup creates keys first.
    pub fn needs_keys(self) -> bool {
        match self {
            Self::Get | Self::Locate | Self::LocateName | Self::LocateAttr | Self::Vcenter => true,
            Self::Create | Self::Mixed => false,
        }
    }
}

/// Names of the timed operations, as reported.
pub mod op {
    /// Create.
    pub const CREATE: &str = "Create";
    /// Get.
    pub const GET: &str = "Get";
    /// Activate.
    pub const ACTIVATE: &str = "Activate";
    /// Get Attributes.
    pub const GET_ATTRIBUTES: &str = "Get Attributes";
    /// Revoke.
    pub const REVOKE: &str = "Revoke";
    /// Destroy.
    pub const DESTROY: &str = "Destroy";
    /// Locate.
    pub const LOCATE: &str = "Locate";
    /// The whole vCenter-style iteration: TCP connect, TLS handshake, Discover Versions,
    /// Get, close.
    pub const VCENTER: &str = "Connect+Discover Versions+Get";
}

/// What the setup made, shared by the workers.
#[derive(Debug)]
pub struct Fixture {
    /// The Object Group every key of this run carries.
    pub group: String,
    /// The keys created (and activated) for `get`, `locate` and `vcenter`.
    pub uids: Vec<String>,
    /// For `locate-name` and `locate-attr`: each key's own tag (its Name and its
    /// [`TAG_ATTRIBUTE`]), in the order of `uids`; empty otherwise.
    pub tags: Vec<String>,
}

/// The custom attribute carrying each key's own tag in `locate-attr` runs.
pub const TAG_ATTRIBUTE: &str = "x-bench-tag";

/// A key's own attributes in `locate-name` and `locate-attr` runs: a Name and
/// [`TAG_ATTRIBUTE`], both its tag.
fn tag_attributes(tag: &str) -> Attributes {
    let mut a = Attributes::new().with(Tag::NAME, name_value(tag));
    a.push(Attribute::custom(
        TAG_ATTRIBUTE,
        AttributeValue::TextString(tag.to_owned()),
    ));
    a
}

fn name_value(tag: &str) -> AttributeValue {
    AttributeValue::Name(Name {
        value: tag.to_owned(),
        name_type: NameType::UNINTERPRETED_TEXT_STRING,
    })
}

/// The attributes of every key the run creates (besides algorithm, length and usage).
fn key_attributes(group: &str) -> Attributes {
    Attributes::new().with(
        Tag::OBJECT_GROUP,
        AttributeValue::TextString(group.to_owned()),
    )
}

/// Creates an AES-256 Encrypt/Decrypt key of the run (vCenter's Create, `VMWARE.md` step 3),
/// with its own tag's attributes when it has one.
async fn create_key(conn: &mut Connection, group: &str, tag: Option<&str>) -> Result<String> {
    let mut attributes = key_attributes(group);
    if let Some(tag) = tag {
        attributes.0.extend(tag_attributes(tag).0);
    }
    conn.create_symmetric_key(
        CryptographicAlgorithm::AES,
        256,
        CryptographicUsageMask::ENCRYPT | CryptographicUsageMask::DECRYPT,
        attributes,
    )
    .await
}

/// Makes the fixture: a fresh Object Group and, when the workload needs them, `keys` keys
/// created and activated over up to `connections` connections in parallel. Any failure
/// stops the run: measuring against a half-made fixture would mislead.
pub async fn setup(
    workload: Workload,
    connector: &Connector,
    keys: usize,
    connections: usize,
) -> Result<Fixture> {
    let group = format!("kmsctl-bench-{:016x}", rand::random::<u64>());
    if !workload.needs_keys() {
        return Ok(Fixture {
            group,
            uids: Vec::new(),
            tags: Vec::new(),
        });
    }
    let tagged = matches!(workload, Workload::LocateName | Workload::LocateAttr);
    let parallel = connections.clamp(1, keys.max(1));
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..parallel {
        let share = keys / parallel + usize::from(worker < keys % parallel);
        let (connector, group) = (connector.clone(), group.clone());
        tasks.spawn(async move {
            let mut conn = connector.connect().await?;
            let mut made = Vec::with_capacity(share);
            for j in 0..share {
                let tag = tagged.then(|| format!("{group}-{worker}-{j}"));
                let uid = create_key(&mut conn, &group, tag.as_deref()).await?;
                conn.activate(&uid).await?;
                made.push((uid, tag));
            }
            let _closed = conn.close().await;
            Ok::<_, ClientError>(made)
        });
    }
    let mut uids = Vec::with_capacity(keys);
    let mut tags = Vec::with_capacity(if tagged { keys } else { 0 });
    while let Some(joined) = tasks.join_next().await {
        let made = joined.map_err(|_| ClientError::Config("a setup task panicked"))??;
        for (uid, tag) in made {
            uids.push(uid);
            tags.extend(tag);
        }
    }
    Ok(Fixture { group, uids, tags })
}

/// One worker: its connection(s), its random source, the shared fixture.
#[derive(Debug)]
pub struct Worker {
    workload: Workload,
    client: Client,
    fixture: Arc<Fixture>,
    rng: StdRng,
}

impl Worker {
    /// A worker for `workload`; connects lazily on its first iteration.
    pub fn new(workload: Workload, connector: Connector, fixture: Arc<Fixture>) -> Self {
        Self {
            workload,
            client: Client::persistent(connector),
            fixture,
            rng: StdRng::from_os_rng(),
        }
    }

    /// A random key of the fixture.
    fn pick(&mut self) -> Option<String> {
        let n = self.fixture.uids.len();
        if n == 0 {
            return None;
        }
        self.fixture.uids.get(self.rng.random_range(0..n)).cloned()
    }

    /// One iteration of the workload; every timed operation goes to `sink`. After a
    /// transport failure the worker pauses [`FAILURE_BACKOFF`].
    pub async fn iterate(&mut self, sink: &mut Sink<'_>) {
        match self.workload {
            Workload::Get => self.get(sink).await,
            Workload::Create => self.create(sink).await,
            Workload::Mixed => self.lifecycle(sink).await,
            Workload::Locate => self.locate(sink).await,
            Workload::LocateName | Workload::LocateAttr => self.locate_one(sink).await,
            Workload::Vcenter => self.vcenter(sink).await,
        }
        if sink.take_transport_failure() {
            tokio::time::sleep(FAILURE_BACKOFF).await;
        }
    }

    /// Get of a random key; the answer (key bytes) is dropped at once.
    async fn get(&mut self, sink: &mut Sink<'_>) {
        let Some(uid) = self.pick() else {
            return sink.failed(Failure::Check("no key to get"));
        };
        let started = Instant::now();
        let result = async {
            let conn = self.client.connection().await?;
            conn.get(&uid, None).await.map(drop)
        }
        .await;
        sink.outcome(op::GET, started, result);
    }

    async fn create(&mut self, sink: &mut Sink<'_>) {
        let started = Instant::now();
        let result = async {
            let conn = self.client.connection().await?;
            create_key(conn, &self.fixture.group, None).await
        }
        .await;
        sink.outcome(op::CREATE, started, result);
    }

    /// Create, Get, Activate, Get Attributes (State), Revoke, Destroy: each timed on its own;
    /// the first failure ends the iteration (the key is then left behind).
    async fn lifecycle(&mut self, sink: &mut Sink<'_>) {
        /// Times `$body` (which may use the kept connection as `$c`) as operation `$name`;
        /// returns from the lifecycle on failure.
        macro_rules! step {
            ($name:expr, $c:ident => $body:expr) => {{
                let started = Instant::now();
                let result = async {
                    let $c = self.client.connection().await?;
                    $body
                }
                .await;
                match sink.outcome($name, started, result) {
                    Some(value) => value,
                    None => return,
                }
            }};
        }
        let group = self.fixture.group.clone();
        let uid = step!(op::CREATE, c => create_key(c, &group, None).await);
        step!(op::GET, c => c.get(&uid, None).await.map(drop));
        step!(op::ACTIVATE, c => c.activate(&uid).await);
        step!(
            op::GET_ATTRIBUTES,
            c => c
                .get_attributes(&uid, vec![AttributeName::Standard(Tag::STATE)])
                .await
                .map(drop)
        );
        step!(
            op::REVOKE,
            c => c
                .revoke(&uid, RevocationReasonCode::CESSATION_OF_OPERATION, None)
                .await
        );
        step!(op::DESTROY, c => c.destroy(&uid).await);
    }

    /// Locate by the run's Object Group; an answer without any identifier is a failure (the
    /// setup made keys of that group).
    async fn locate(&mut self, sink: &mut Sink<'_>) {
        let filter = key_attributes(&self.fixture.group);
        let started = Instant::now();
        let result = async {
            let conn = self.client.connection().await?;
            conn.locate(filter, Some(LOCATE_PAGE), None).await
        }
        .await;
        match result {
            Ok(found) if found.unique_identifiers.is_empty() => {
                sink.failed(Failure::Check("Locate found none of the run's keys"));
            }
            other => {
                sink.outcome(op::LOCATE, started, other.map(drop));
            }
        }
    }

    /// Locate by a random key's own Name (`locate-name`) or [`TAG_ATTRIBUTE`] (`locate-attr`);
    /// the answer must be that key alone.
    async fn locate_one(&mut self, sink: &mut Sink<'_>) {
        let n = self.fixture.tags.len();
        if n == 0 {
            return sink.failed(Failure::Check("no key to locate"));
        }
        let i = self.rng.random_range(0..n);
        let (tag, uid) = (&self.fixture.tags[i], &self.fixture.uids[i]);
        let filter = if self.workload == Workload::LocateName {
            Attributes::new().with(Tag::NAME, name_value(tag))
        } else {
            let mut a = Attributes::new();
            a.push(Attribute::custom(
                TAG_ATTRIBUTE,
                AttributeValue::TextString(tag.clone()),
            ));
            a
        };
        let started = Instant::now();
        let result = async {
            let conn = self.client.connection().await?;
            conn.locate(filter, None, None).await
        }
        .await;
        match result {
            Ok(found) if found.unique_identifiers != [uid.clone()] => {
                sink.failed(Failure::Check("Locate did not find exactly the key tagged"));
            }
            other => {
                sink.outcome(op::LOCATE, started, other.map(drop));
            }
        }
    }

    /// vCenter's pattern: connect (resuming a session when allowed), Discover Versions, Get
    /// of a random key, close; timed as a whole.
    async fn vcenter(&mut self, sink: &mut Sink<'_>) {
        let Some(uid) = self.pick() else {
            return sink.failed(Failure::Check("no key to get"));
        };
        let started = Instant::now();
        let result = async {
            let mut conn = self.client.connector().connect().await?;
            let resumed = conn.handshake_kind() == Some(HandshakeKind::Resumed);
            conn.discover_versions(&[]).await?;
            drop(conn.get(&uid, None).await?);
            // The answer is in; a failing close_notify changes nothing for the client.
            let _closed = conn.close().await;
            Ok(resumed)
        }
        .await;
        if let Some(resumed) = sink.outcome(op::VCENTER, started, result) {
            sink.handshake(resumed);
        }
    }
}
