//! The registry on etcd (`etcd://HOST:PORT[,HOST:PORT…]`).
//!
//! Why etcd: a classic registrar is one actor's memory, a single point of
//! failure, and a host that vanishes leaves stale entries. In etcd each
//! actor's entry lives under a lease the actor keeps alive, so an actor
//! whose host dies (or is cut off) disappears within the lease's TTL, and
//! `wait_for_actor` is a watch (pushed), not polling.
//!
//! Layout: one key per actor, `tractor/actors/<name>/<uuid>` (name and uuid
//! with `%` and `/` escaped), whose value is JSON a person can read with
//! `etcdctl get --prefix tractor/`: `{"name", "uuid", "addrs": [multiaddr,
//! …], "pid"}`.
//!
//! Two parts:
//! * [`EtcdRegistry`]: queries (find, wait, list), each bounded by
//!   [`OP_TIMEOUT`] so an unreachable cluster is an error naming it, never
//!   a hang;
//! * [`EtcdAgent`]: an actor's registrations (its own, or a registrar's
//!   whole table with `--store etcd://…`), written under one lease by a
//!   background session that keeps the lease alive. When etcd is down or
//!   partitioned away the session retries with backoff (100 ms doubling to
//!   5 s) and logs once per change of state (down, back up); it then
//!   grants a new lease and writes every registration again. Connections
//!   to peers do not depend on it, so calls to known peers keep working.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use etcd_client::{Client, ConnectOptions, EventType, GetOptions, PutOptions};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::errors::Error;
use crate::ipc::Addr;
use crate::msg::{Uid, WireAddr};
use crate::runtime::actor::Actor;
use crate::runtime::hooks::{SelfService, ServiceFuture};
use crate::runtime::registry_addr::EtcdEndpoints;

use super::backend::{BoxFut, Listing, RegistryBackend, UNREGISTER_BUDGET};

/// Watch options of the etcd client, for callers that watch etcd itself
/// (the benchmark's floor).
pub use etcd_client::WatchOptions;

/// The key prefix every actor entry lives under.
pub const KEY_PREFIX: &str = "tractor/actors/";

/// The longest one etcd request (connect included) may take before it
/// fails with an error naming the cluster.
pub const OP_TIMEOUT: Duration = Duration::from_secs(3);

const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// Why an etcd registry operation failed; every message names the cluster.
#[derive(Debug, thiserror::Error)]
pub enum EtcdError {
    /// The cluster refused or broke the request.
    #[error("the etcd registry at {at} is unreachable: {source}")]
    Unreachable {
        /// The cluster.
        at: EtcdEndpoints,
        /// The client's error.
        #[source]
        source: etcd_client::Error,
    },
    /// The cluster did not answer in time.
    #[error("the etcd registry at {at} did not answer within {secs} s")]
    Timeout {
        /// The cluster.
        at: EtcdEndpoints,
        /// The limit.
        secs: u64,
    },
    /// A watch or keep-alive stream ended or was cancelled by the server.
    #[error("the etcd registry at {at}: {what}")]
    Stream {
        /// The cluster.
        at: EtcdEndpoints,
        /// What ended, in words.
        what: String,
    },
    /// The wait was cancelled (the actor is shutting down).
    #[error("waiting on the etcd registry at {at} was cancelled")]
    Cancelled {
        /// The cluster.
        at: EtcdEndpoints,
    },
}

impl From<EtcdError> for Error {
    fn from(e: EtcdError) -> Self {
        match e {
            EtcdError::Cancelled { .. } => Error::Cancelled(e.to_string()),
            other => Error::Discovery(other.to_string()),
        }
    }
}

/// One actor's entry, as stored (JSON).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Entry {
    name: String,
    uuid: String,
    addrs: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pid: Option<u32>,
}

impl Entry {
    fn wire_addrs(&self) -> Vec<WireAddr> {
        self.addrs
            .iter()
            .filter_map(|a| a.parse::<Addr>().ok())
            .map(|a| a.to_wire())
            .collect()
    }
}

/// Escapes `%` and `/` so a name or uuid is one key segment.
fn escape(s: &str) -> String {
    s.replace('%', "%25").replace('/', "%2F")
}

/// The key of `uid`'s entry.
pub fn key_of(uid: &Uid) -> String {
    format!("{KEY_PREFIX}{}/{}", escape(&uid.name), escape(&uid.uuid))
}

fn name_prefix(name: &str) -> String {
    format!("{KEY_PREFIX}{}/", escape(name))
}

fn parse(kv: &etcd_client::KeyValue) -> Option<Entry> {
    match serde_json::from_slice::<Entry>(kv.value()) {
        Ok(e) => Some(e),
        Err(err) => {
            tracing::warn!(
                key = %String::from_utf8_lossy(kv.key()),
                error = %err,
                "skipping a malformed etcd registry entry"
            );
            None
        }
    }
}

/// Runs one etcd request with [`OP_TIMEOUT`], naming the cluster on error.
async fn timed<T>(
    at: &EtcdEndpoints,
    fut: impl Future<Output = Result<T, etcd_client::Error>>,
) -> Result<T, EtcdError> {
    match tokio::time::timeout(OP_TIMEOUT, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(source)) => Err(EtcdError::Unreachable {
            at: at.clone(),
            source,
        }),
        Err(_) => Err(EtcdError::Timeout {
            at: at.clone(),
            secs: OP_TIMEOUT.as_secs(),
        }),
    }
}

/// A client of an etcd registry, for queries.
#[derive(Clone)]
pub struct EtcdRegistry {
    at: EtcdEndpoints,
    client: Client,
}

impl std::fmt::Debug for EtcdRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdRegistry")
            .field("at", &self.at)
            .finish_non_exhaustive()
    }
}

impl EtcdRegistry {
    /// A client of the cluster at `at` (connections are made on use).
    pub async fn connect(at: &EtcdEndpoints) -> Result<Self, EtcdError> {
        let opts = ConnectOptions::new()
            .with_connect_timeout(OP_TIMEOUT)
            .with_timeout(OP_TIMEOUT)
            // HTTP/2 pings find a dead connection; etcd's server refuses
            // (GOAWAY "too many pings") pings closer than its
            // --grpc-keepalive-min-time, 5 s by default.
            .with_keep_alive(Duration::from_secs(10), OP_TIMEOUT);
        let client = timed(at, Client::connect(at.urls(), Some(opts))).await?;
        Ok(EtcdRegistry {
            at: at.clone(),
            client,
        })
    }

    /// The cluster.
    pub fn endpoints(&self) -> &EtcdEndpoints {
        &self.at
    }

    /// The raw client (for benchmarks and tests that need etcd itself).
    pub fn client(&self) -> Client {
        self.client.clone()
    }

    async fn entries(&self, prefix: &str) -> Result<(Vec<Entry>, i64), EtcdError> {
        let mut c = self.client.clone();
        let resp = timed(
            &self.at,
            c.get(prefix, Some(GetOptions::new().with_prefix())),
        )
        .await?;
        let rev = resp.header().map(|h| h.revision()).unwrap_or(0);
        Ok((resp.kvs().iter().filter_map(parse).collect(), rev))
    }

    /// The addresses of an actor named `name` (or whose uuid is `name`);
    /// empty when none is registered.
    pub async fn find(&self, name: &str) -> Result<Vec<WireAddr>, EtcdError> {
        let (found, _) = self.entries(&name_prefix(name)).await?;
        if let Some(e) = found.first() {
            return Ok(e.wire_addrs());
        }
        let (all, _) = self.entries(KEY_PREFIX).await?;
        Ok(all
            .iter()
            .find(|e| e.uuid == name)
            .map(Entry::wire_addrs)
            .unwrap_or_default())
    }

    /// Waits (an etcd watch) until an actor named `name` is registered,
    /// and returns its addresses. Fails when the cluster cannot be reached
    /// or the watch breaks; `stop` cancels it.
    pub async fn wait_for(
        &self,
        name: &str,
        stop: &CancellationToken,
    ) -> Result<Vec<WireAddr>, EtcdError> {
        let prefix = name_prefix(name);
        let (found, rev) = self.entries(&prefix).await?;
        if let Some(e) = found.first() {
            return Ok(e.wire_addrs());
        }
        let mut c = self.client.clone();
        let opts = WatchOptions::new()
            .with_prefix()
            .with_start_revision(rev + 1);
        let mut stream = timed(&self.at, c.watch(prefix.as_str(), Some(opts))).await?;
        loop {
            let resp = self.next_event(&mut stream, stop, name).await?;
            for ev in resp.events() {
                if ev.event_type() == EventType::Put
                    && let Some(e) = ev.kv().and_then(parse)
                {
                    return Ok(e.wire_addrs());
                }
            }
            if resp.canceled() {
                return Err(EtcdError::Stream {
                    at: self.at.clone(),
                    what: format!(
                        "the watch for {name:?} was cancelled by the server: {}",
                        resp.cancel_reason()
                    ),
                });
            }
        }
    }

    /// Waits (an etcd watch) until no actor named `name` is registered:
    /// it unregistered, or its lease expired.
    pub async fn wait_gone(&self, name: &str, stop: &CancellationToken) -> Result<(), EtcdError> {
        let prefix = name_prefix(name);
        let mut c = self.client.clone();
        let resp = timed(
            &self.at,
            c.get(prefix.as_str(), Some(GetOptions::new().with_prefix())),
        )
        .await?;
        let mut keys: std::collections::HashSet<Vec<u8>> =
            resp.kvs().iter().map(|kv| kv.key().to_vec()).collect();
        if keys.is_empty() {
            return Ok(());
        }
        let rev = resp.header().map(|h| h.revision()).unwrap_or(0);
        let opts = WatchOptions::new()
            .with_prefix()
            .with_start_revision(rev + 1);
        let mut stream = timed(&self.at, c.watch(prefix.as_str(), Some(opts))).await?;
        while !keys.is_empty() {
            let resp = self.next_event(&mut stream, stop, name).await?;
            for ev in resp.events() {
                let Some(kv) = ev.kv() else { continue };
                match ev.event_type() {
                    EventType::Put => keys.insert(kv.key().to_vec()),
                    EventType::Delete => keys.remove(kv.key()),
                };
            }
        }
        Ok(())
    }

    /// The next message of a watch on `name`'s entries: a cancelled
    /// `stop`, a watch the server ended and a lost connection are errors
    /// naming the cluster.
    async fn next_event(
        &self,
        stream: &mut etcd_client::WatchStream,
        stop: &CancellationToken,
        name: &str,
    ) -> Result<etcd_client::WatchResponse, EtcdError> {
        let msg = tokio::select! {
            _ = stop.cancelled() => return Err(EtcdError::Cancelled { at: self.at.clone() }),
            m = stream.message() => m,
        };
        match msg {
            Ok(Some(r)) => Ok(r),
            Ok(None) => Err(EtcdError::Stream {
                at: self.at.clone(),
                what: format!("the watch on {name:?} ended"),
            }),
            Err(source) => Err(EtcdError::Unreachable {
                at: self.at.clone(),
                source,
            }),
        }
    }

    /// Every registered actor, as (uid, addresses).
    pub async fn list(&self) -> Result<Vec<(Uid, Vec<Addr>)>, EtcdError> {
        let (all, _) = self.entries(KEY_PREFIX).await?;
        Ok(all
            .into_iter()
            .map(|e| {
                let addrs = e.addrs.iter().filter_map(|a| a.parse().ok()).collect();
                (Uid::new(e.name, e.uuid), addrs)
            })
            .collect())
    }

    /// Removes `uid`'s entry (a supervisor does it for a dead child).
    pub async fn delete(&self, uid: &Uid) -> Result<(), EtcdError> {
        let mut c = self.client.clone();
        timed(&self.at, c.delete(key_of(uid), None)).await?;
        Ok(())
    }
}

/// The state of an agent's link to etcd.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// Not yet written.
    Starting,
    /// Every registration is written under a live lease.
    Up,
    /// etcd is unreachable; retrying with backoff.
    Down,
}

/// What the session has written: up to which version of the registrations,
/// and the link's state.
#[derive(Clone, Copy, Debug)]
struct Applied {
    version: u64,
    link: Link,
}

#[derive(Clone, Debug, Default)]
struct Desired {
    version: u64,
    entries: Vec<(Uid, Vec<Addr>, Option<u32>)>,
}

/// An actor's registrations in etcd, kept under one lease by a background
/// session (see the module docs). It is installed as the actor's
/// `self.*` service slot so the actor's discovery calls find it; it serves
/// no `self.*` function itself.
pub struct EtcdAgent {
    me: std::sync::Weak<EtcdAgent>,
    at: EtcdEndpoints,
    ttl: Duration,
    desired: watch::Sender<Desired>,
    applied: watch::Sender<Applied>,
    lease: Mutex<Option<i64>>,
    session: Mutex<Option<tokio::task::AbortHandle>>,
    queries: tokio::sync::Mutex<Option<EtcdRegistry>>,
}

impl std::fmt::Debug for EtcdAgent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdAgent")
            .field("at", &self.at)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl Drop for EtcdAgent {
    fn drop(&mut self) {
        if let Some(h) = self.session.get_mut().ok().and_then(Option::take) {
            h.abort();
        }
    }
}

impl EtcdAgent {
    /// An agent for the cluster at `at` whose lease lives `ttl`.
    pub fn new(at: EtcdEndpoints, ttl: Duration) -> Arc<Self> {
        Arc::new_cyclic(|me| EtcdAgent {
            me: me.clone(),
            at,
            ttl: ttl.max(Duration::from_secs(1)),
            desired: watch::channel(Desired::default()).0,
            applied: watch::channel(Applied {
                version: 0,
                link: Link::Starting,
            })
            .0,
            lease: Mutex::new(None),
            session: Mutex::new(None),
            queries: tokio::sync::Mutex::new(None),
        })
    }

    /// The cluster.
    pub fn endpoints(&self) -> &EtcdEndpoints {
        &self.at
    }

    /// This agent as an `Arc` (the actor's service slot lends a `&`).
    pub fn arc(&self) -> Option<Arc<Self>> {
        self.me.upgrade()
    }

    /// The link's state now.
    pub fn link(&self) -> Link {
        self.applied.borrow().link
    }

    /// A query client (made once, on this actor's runtime).
    pub async fn queries(&self) -> Result<EtcdRegistry, EtcdError> {
        let mut q = self.queries.lock().await;
        if let Some(r) = q.as_ref() {
            return Ok(r.clone());
        }
        let r = EtcdRegistry::connect(&self.at).await?;
        *q = Some(r.clone());
        Ok(r)
    }

    fn start(&self) {
        let mut s = self.session.lock().unwrap_or_else(|p| p.into_inner());
        if s.is_none() {
            *s = Some(tokio::spawn(run_session(self.me.clone())).abort_handle());
        }
    }

    fn modify(&self, f: impl FnOnce(&mut Vec<(Uid, Vec<Addr>, Option<u32>)>)) -> u64 {
        let mut version = 0;
        self.desired.send_modify(|d| {
            f(&mut d.entries);
            d.version += 1;
            version = d.version;
        });
        self.start();
        version
    }

    /// Adds (or replaces) `uid`'s entry with `addrs`.
    pub fn register(&self, uid: Uid, addrs: Vec<Addr>, pid: Option<u32>) -> u64 {
        self.modify(|e| {
            e.retain(|(u, _, _)| u != &uid);
            e.push((uid, addrs, pid));
        })
    }

    /// Replaces every entry (a registrar's whole table).
    pub fn set_all(&self, entries: Vec<(Uid, Vec<Addr>)>) -> u64 {
        self.modify(|e| *e = entries.into_iter().map(|(u, a)| (u, a, None)).collect())
    }

    /// Removes `uid`'s entry.
    pub fn unregister(&self, uid: &Uid) -> u64 {
        self.modify(|e| e.retain(|(u, _, _)| u != uid))
    }

    /// Waits until `version` of the registrations is written, or the link
    /// is down (the session goes on retrying), at most `limit`. Returns
    /// the link's state.
    pub async fn settle(&self, version: u64, limit: Duration) -> Link {
        let mut rx = self.applied.subscribe();
        let wait = rx.wait_for(|a| a.version >= version || a.link == Link::Down);
        match tokio::time::timeout(limit, wait).await {
            Ok(Ok(a)) => a.link,
            _ => self.link(),
        }
    }

    /// Stops the session and revokes the lease (its entries go at once),
    /// within `limit`; if that fails they expire with the lease.
    pub async fn close(&self, limit: Duration) {
        if let Some(h) = self
            .session
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            h.abort();
        }
        let lease = self.lease.lock().unwrap_or_else(|p| p.into_inner()).take();
        let Some(lease) = lease else { return };
        let revoke = async {
            let q = self.queries().await?;
            let mut c = q.client();
            timed(&self.at, c.lease_revoke(lease)).await
        };
        match tokio::time::timeout(limit, revoke).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::debug!(error = %e, "etcd lease revoke failed"),
            Err(_) => tracing::debug!(registry = %self.at, "etcd lease revoke timed out"),
        }
    }

    fn set_link(&self, link: Link, version: Option<u64>) {
        self.applied.send_modify(|a| {
            a.link = link;
            if let Some(v) = version {
                a.version = a.version.max(v);
            }
        });
    }
}

/// The agent's session loop: (re)connects, grants a lease, writes the
/// registrations, keeps the lease alive; retries with backoff when etcd
/// is down, logging once per change of state.
async fn run_session(agent: std::sync::Weak<EtcdAgent>) {
    let mut backoff = BACKOFF_MIN;
    loop {
        let Some(a) = agent.upgrade() else { return };
        let at = a.at.clone();
        let err = session(&a, &mut backoff).await;
        if a.link() != Link::Down {
            tracing::warn!(
                registry = %at,
                error = %err,
                "etcd registry unreachable: registration retries with backoff"
            );
            a.set_link(Link::Down, None);
        }
        // Queries reconnect too: their connection may be the broken one.
        *a.queries.lock().await = None;
        drop(a);
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

/// One session: returns only with the error that ended it.
async fn session(a: &Arc<EtcdAgent>, backoff: &mut Duration) -> EtcdError {
    match session_inner(a, backoff).await {
        Ok(never) => match never {},
        Err(e) => e,
    }
}

async fn session_inner(
    a: &Arc<EtcdAgent>,
    backoff: &mut Duration,
) -> Result<std::convert::Infallible, EtcdError> {
    let at = &a.at;
    let reg = EtcdRegistry::connect(at).await?;
    let mut c = reg.client();
    let ttl = i64::try_from(a.ttl.as_secs()).unwrap_or(i64::MAX);
    let lease = timed(at, c.lease_grant(ttl, None)).await?.id();
    *a.lease.lock().unwrap_or_else(|p| p.into_inner()) = Some(lease);
    let (mut keeper, mut acks) = timed(at, c.lease_keep_alive(lease)).await?;
    let mut written: HashMap<String, Vec<u8>> = HashMap::new();
    let mut desired = a.desired.subscribe();
    let mut tick = tokio::time::interval(a.ttl / 3);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let want = desired.borrow_and_update().clone();
        sync(at, &mut c, lease, &want, &mut written).await?;
        if a.link() == Link::Down {
            tracing::warn!(registry = %at, "etcd registry reachable again: registrations written");
        } else if a.link() == Link::Starting {
            tracing::debug!(registry = %at, "registered in etcd");
        }
        a.set_link(Link::Up, Some(want.version));
        *backoff = BACKOFF_MIN;
        tokio::select! {
            _ = tick.tick() => {
                timed(at, keeper.keep_alive()).await?;
                match timed(at, acks.message()).await? {
                    Some(r) if r.ttl() > 0 => {}
                    _ => {
                        return Err(EtcdError::Stream {
                            at: at.clone(),
                            what: format!("lease {lease:x} expired"),
                        });
                    }
                }
            }
            r = desired.changed() => {
                if r.is_err() {
                    // The agent is gone; nothing more to write.
                    std::future::pending::<()>().await;
                }
            }
        }
    }
}

/// Writes what changed between `written` and `want` under `lease`.
async fn sync(
    at: &EtcdEndpoints,
    c: &mut Client,
    lease: i64,
    want: &Desired,
    written: &mut HashMap<String, Vec<u8>>,
) -> Result<(), EtcdError> {
    let mut keep = std::collections::HashSet::new();
    for (uid, addrs, pid) in &want.entries {
        let key = key_of(uid);
        let value = serde_json::to_vec(&Entry {
            name: uid.name.clone(),
            uuid: uid.uuid.clone(),
            addrs: addrs.iter().map(ToString::to_string).collect(),
            pid: *pid,
        })
        .expect("an entry always serializes");
        keep.insert(key.clone());
        if written.get(&key) != Some(&value) {
            let opts = PutOptions::new().with_lease(lease);
            timed(at, c.put(key.as_str(), value.clone(), Some(opts))).await?;
            written.insert(key, value);
        }
    }
    let gone: Vec<String> = written
        .keys()
        .filter(|k| !keep.contains(*k))
        .cloned()
        .collect();
    for key in gone {
        timed(at, c.delete(key.as_str(), None)).await?;
        written.remove(&key);
    }
    Ok(())
}

/// The etcd registry as a [`RegistryBackend`]: through the actor's agent
/// when one runs here, else a fresh query client.
#[derive(Debug)]
pub struct EtcdBackend {
    at: EtcdEndpoints,
    agent: Option<Arc<EtcdAgent>>,
}

impl EtcdBackend {
    /// The cluster at `at`, through `agent` when the caller is an actor.
    pub fn new(at: EtcdEndpoints, agent: Option<Arc<EtcdAgent>>) -> Self {
        EtcdBackend { at, agent }
    }

    async fn queries(&self) -> Result<EtcdRegistry, EtcdError> {
        match &self.agent {
            Some(a) => a.queries().await,
            None => EtcdRegistry::connect(&self.at).await,
        }
    }

    fn no_agent(&self) -> Error {
        Error::Config(format!(
            "this actor was not started with the etcd registry at {} (no registration agent)",
            self.at
        ))
    }
}

impl RegistryBackend for EtcdBackend {
    fn describe(&self) -> String {
        format!("etcd registry at {}", self.at)
    }

    fn register<'a>(&'a self, actor: &'a Actor) -> BoxFut<'a, Result<(), Error>> {
        Box::pin(async move {
            let agent = self.agent.as_ref().ok_or_else(|| self.no_agent())?;
            let pid = actor.aid().pid.and_then(|p| u32::try_from(p).ok());
            let v = agent.register(actor.uid().clone(), actor.accept_addrs(), pid);
            // Registration goes on in the background when etcd is down
            // (item 3): starting an actor does not depend on it.
            agent.settle(v, OP_TIMEOUT + Duration::from_secs(1)).await;
            Ok(())
        })
    }

    fn unregister_self<'a>(&'a self, _actor: &'a Actor) -> BoxFut<'a, ()> {
        Box::pin(async move {
            if let Some(a) = &self.agent {
                a.close(UNREGISTER_BUDGET).await;
            }
        })
    }

    fn unregister<'a>(&'a self, _actor: &'a Actor, uid: &'a Uid) -> BoxFut<'a, ()> {
        Box::pin(async move {
            let del = async { self.queries().await?.delete(uid).await };
            match tokio::time::timeout(UNREGISTER_BUDGET, del).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::debug!(%uid, error = %e, "etcd unregister failed"),
                Err(_) => tracing::debug!(%uid, registry = %self.at, "etcd unregister timed out"),
            }
        })
    }

    fn lookup<'a>(
        &'a self,
        actor: Option<&'a Actor>,
        name: &'a str,
        wait: bool,
    ) -> BoxFut<'a, Result<Vec<WireAddr>, Error>> {
        Box::pin(async move {
            let q = self.queries().await?;
            if !wait {
                return Ok(q.find(name).await?);
            }
            let never = CancellationToken::new();
            let stop = actor.map(|a| a.scope().token()).unwrap_or(&never);
            Ok(q.wait_for(name, stop).await?)
        })
    }

    fn list(&self) -> BoxFut<'_, Result<Listing, Error>> {
        Box::pin(async move { Ok(self.queries().await?.list().await?) })
    }
}

/// The agent sits in the actor's service slot (so discovery finds it from
/// the actor) but serves no `self.*` function.
impl SelfService for EtcdAgent {
    fn serves(&self, _func: &str) -> bool {
        false
    }

    fn call<'a>(
        &'a self,
        func: &'a str,
        _kwargs: &'a crate::msg::StrMap,
        _stop: &'a CancellationToken,
    ) -> ServiceFuture<'a> {
        Box::pin(async move {
            Err(crate::runtime::hooks::ServiceError {
                python_type: "ValueError",
                message: format!("this actor serves no registrar function {func:?}"),
            })
        })
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_escape_slashes() {
        let uid = Uid::new("a/b%c", "u1");
        assert_eq!(key_of(&uid), "tractor/actors/a%2Fb%25c/u1");
    }

    #[test]
    fn entries_read_back() {
        let e = Entry {
            name: "svc".into(),
            uuid: "u".into(),
            addrs: vec!["/ip4/127.0.0.1/tcp/4000".into(), "garbage".into()],
            pid: Some(7),
        };
        let v = serde_json::to_vec(&e).unwrap();
        let back: Entry = serde_json::from_slice(&v).unwrap();
        assert_eq!(back, e);
        assert_eq!(
            back.wire_addrs(),
            vec![WireAddr::Tcp {
                host: "127.0.0.1".into(),
                port: 4000
            }]
        );
    }
}
