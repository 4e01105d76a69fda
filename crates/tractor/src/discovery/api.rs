//! Finding actors: `find_actor`, `wait_for_actor`, `query_actor` (an
//! address only), `open_portal` (a portal from an address), `get_root`,
//! `get_registry`, and the registration every actor does on start and
//! exit (spec §6.2–6.4).
//!
//! Registrar calls use a fresh, short-lived connection each, as Python
//! tractor does: connect, Aid exchange, one call, close.

use std::time::Duration;

use crate::discovery::backend;
use crate::errors::{Error, RemoteActorError};
use crate::ipc::{Addr, Channel};
use crate::msg::{self, ANY_PLD_SPEC, Aid, FuncType, Msg, Start, StrMap, Uid, Value, WireAddr};
use crate::runtime::actor::{Actor, current_actor};
use crate::runtime::dialog::call::functype_error;
use crate::runtime::portal::{CANCEL_ACK_TIMEOUT, Portal};
use crate::runtime::registry_addr::RegistryAddr;

const HANDSHAKE: Duration = Duration::from_secs(10);

/// Makes one runtime (`self.*`) call on a short-lived connection to
/// `addr` as `me`.
pub async fn call_once(
    addr: &Addr,
    me: &Aid,
    func: &str,
    kwargs: StrMap,
    max_frame: usize,
) -> Result<Value, Error> {
    call_once_ns(addr, me, "self", func, kwargs, max_frame).await
}

/// Makes one call of `ns.func(**kwargs)` on a short-lived connection to
/// `addr` as `me` (a `CancelAck` counts as the result). A callee that is
/// not a plain async function is an [`Error::FuncType`].
pub async fn call_once_ns(
    addr: &Addr,
    me: &Aid,
    ns: &str,
    func: &str,
    kwargs: StrMap,
    max_frame: usize,
) -> Result<Value, Error> {
    match one_call(addr, me, ns, func, kwargs, max_frame, None).await? {
        CallOutcome::Returned(v) => Ok(v),
        CallOutcome::Streamed(_) => unreachable!("streaming is refused without an item sink"),
    }
}

/// What [`call_or_stream_once_ns`] got back.
#[derive(Debug, Clone, PartialEq)]
pub enum CallOutcome {
    /// A plain function's return value.
    Returned(Value),
    /// An async generator finished after this many items.
    Streamed(usize),
}

/// Like [`call_once_ns`], but an async generator (functype `asyncgen`) is
/// streamed: each item goes to `on_item` as it arrives, until its `Stop`.
/// A context function is still an [`Error::FuncType`].
pub async fn call_or_stream_once_ns(
    addr: &Addr,
    me: &Aid,
    ns: &str,
    func: &str,
    kwargs: StrMap,
    max_frame: usize,
    on_item: &mut (dyn FnMut(Value) + Send),
) -> Result<CallOutcome, Error> {
    one_call(addr, me, ns, func, kwargs, max_frame, Some(on_item)).await
}

async fn one_call(
    addr: &Addr,
    me: &Aid,
    ns: &str,
    func: &str,
    kwargs: StrMap,
    max_frame: usize,
    mut on_item: Option<&mut (dyn FnMut(Value) + Send)>,
) -> Result<CallOutcome, Error> {
    let mut chan = Channel::connect(addr, max_frame).await?;
    let peer = chan.handshake(me, HANDSHAKE).await?;
    let cid = uuid::Uuid::new_v4().to_string();
    chan.send(&Msg::Start(Start {
        cid: cid.clone(),
        ns: ns.into(),
        func: func.into(),
        kwargs,
        uid: me.uid(),
        pld_spec: ANY_PLD_SPEC.into(),
    }))
    .await?;
    let call = format!("{ns}.{func}()");
    let mut streamed: Option<usize> = None;
    let out = loop {
        match chan.recv().await? {
            None => {
                break Err(Error::PeerGone {
                    peer: peer.name.clone(),
                    what: call.clone(),
                });
            }
            Some(m) if m.cid() != Some(cid.as_str()) => continue,
            Some(Msg::StartAck(a)) => {
                if a.functype == FuncType::AsyncGen && on_item.is_some() {
                    streamed = Some(0);
                    continue;
                }
                match functype_error(&call, a.functype) {
                    None => continue,
                    Some(e) => {
                        // Cancel the task of the wrong kind before closing
                        // (a Python peer does not take a connection closed
                        // under a starting context well).
                        cancel_started(&mut chan, me, &cid).await;
                        break Err(e);
                    }
                }
            }
            Some(Msg::Yield(p)) => {
                if let (Some(n), Some(sink)) = (streamed.as_mut(), on_item.as_mut()) {
                    *n += 1;
                    sink(p.pld);
                }
            }
            Some(Msg::Stop(_)) if streamed.is_some() => {
                break Ok(CallOutcome::Streamed(streamed.unwrap_or(0)));
            }
            Some(Msg::Return(p)) => break Ok(CallOutcome::Returned(p.pld)),
            Some(Msg::CancelAck(a)) => break Ok(CallOutcome::Returned(Value::from(a.pld))),
            Some(Msg::Error(e)) => break Err(RemoteActorError::from_msg(e).into()),
            Some(_) => continue,
        }
    };
    chan.tx.close().await;
    out
}

/// Asks the peer on `chan` to cancel the task `target` and waits (up to
/// `CANCEL_ACK_TIMEOUT`) for its answer; failures only mean the peer is
/// going away anyway.
async fn cancel_started(chan: &mut Channel, me: &Aid, target: &str) {
    let cid = uuid::Uuid::new_v4().to_string();
    let start = Msg::Start(Start {
        cid: cid.clone(),
        ns: "self".into(),
        func: "_cancel_task".into(),
        kwargs: vec![("cid".into(), Value::from(target))],
        uid: me.uid(),
        pld_spec: ANY_PLD_SPEC.into(),
    });
    if chan.send(&start).await.is_err() {
        return;
    }
    let answered = async {
        while let Ok(Some(m)) = chan.recv().await {
            if m.cid() == Some(cid.as_str())
                && matches!(m, Msg::Return(_) | Msg::Error(_) | Msg::CancelAck(_))
            {
                return;
            }
        }
    };
    let _ = tokio::time::timeout(CANCEL_ACK_TIMEOUT, answered).await;
}

/// Our identity for registrar calls: the current actor's, or an
/// anonymous client's (for tools like `tractor ps`).
pub fn my_aid() -> (Aid, usize) {
    match current_actor() {
        Some(a) => (a.aid(), a.max_frame()),
        None => (
            Aid {
                name: "anonymous".into(),
                uuid: uuid::Uuid::new_v4().to_string(),
                pid: Some(i64::from(std::process::id())),
                is_registrar: Some(false),
                is_probe: false,
            },
            crate::ipc::DEFAULT_MAX_FRAME,
        ),
    }
}

/// Calls `self.<func>(**kwargs)` on the registrar at `addr`.
pub async fn query_registrar(addr: &Addr, func: &str, kwargs: StrMap) -> Result<Value, Error> {
    let (me, max) = my_aid();
    call_once(addr, &me, func, kwargs, max)
        .await
        .map_err(|e| match e {
            Error::Chan(c) if matches!(*c, crate::ipc::ChanError::Connect(_)) => {
                Error::Discovery(format!("registrar at {addr} is unreachable: {c}"))
            }
            other => other,
        })
}

/// What an address answers to a registrar-election probe (spec §6.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeResult {
    /// Nothing listens there.
    Absent,
    /// A registrar answered.
    Registrar,
    /// Something answered that is not a registrar.
    Occupied,
}

/// Probes `addr` for a registrar.
pub async fn probe(addr: &Addr) -> ProbeResult {
    let attempt = async {
        let mut chan = match Channel::connect(addr, crate::ipc::DEFAULT_MAX_FRAME).await {
            Ok(c) => c,
            Err(_) => return ProbeResult::Absent,
        };
        let me = Aid {
            name: "registry-probe".into(),
            uuid: uuid::Uuid::new_v4().to_string(),
            pid: Some(i64::from(std::process::id())),
            is_registrar: None,
            is_probe: true,
        };
        let r = match chan.handshake(&me, Duration::from_secs(1)).await {
            Ok(aid) if aid.is_registrar == Some(false) => ProbeResult::Occupied,
            Ok(_) => ProbeResult::Registrar,
            Err(_) => ProbeResult::Occupied,
        };
        chan.tx.close().await;
        r
    };
    tokio::time::timeout(Duration::from_secs(3), attempt)
        .await
        .unwrap_or(ProbeResult::Occupied)
}

/// Registers `actor`'s accept addresses with its registry.
pub(crate) async fn register_self(actor: &Actor) -> Result<(), Error> {
    backend::for_actor(actor).register(actor).await
}

/// Unregisters `actor` from its registry (bounded; errors only logged).
pub(crate) async fn unregister_self(actor: &Actor) {
    backend::for_actor(actor).unregister_self(actor).await
}

/// Picks one address: UDS first, then loopback TCP, then anything; the
/// last registered within a tier.
pub fn prefer_addr(addrs: &[WireAddr]) -> Option<Addr> {
    let parsed: Vec<Addr> = addrs
        .iter()
        .filter_map(|w| Addr::from_wire(w).ok())
        .collect();
    let tier = |a: &Addr| match a {
        Addr::Uds(_) => 0,
        a if a.is_local() => 1,
        _ => 2,
    };
    (0..3).find_map(|t| parsed.iter().rev().find(|a| tier(a) == t).cloned())
}

pub(crate) fn addrs_of(v: &Value) -> Vec<WireAddr> {
    match v {
        Value::Array(a) => a.iter().filter_map(msg::addr_from_value).collect(),
        _ => Vec::new(),
    }
}

fn need_actor() -> Result<Actor, Error> {
    current_actor()
        .ok_or_else(|| Error::Config("no actor runs here: open a root actor first".into()))
}

async fn lookup(actor: &Actor, name: &str, wait: bool) -> Result<Vec<WireAddr>, Error> {
    backend::for_actor(actor)
        .lookup(Some(actor), name, wait)
        .await
}

async fn connect_to(actor: &Actor, name: &str, addrs: &[WireAddr]) -> Result<Portal, Error> {
    let addr = prefer_addr(addrs)
        .ok_or_else(|| Error::Discovery(format!("actor {name:?} registered no usable address")))?;
    let peer = actor.dial(&addr).await?;
    Ok(Portal::new(actor.clone(), peer))
}

/// A portal to the actor named `name`, or `None` if the registry does not
/// know it. With etcd, an unreachable cluster is an error naming it,
/// within a bounded time.
/// An existing connection is reused.
pub async fn find_actor(name: &str) -> Result<Option<Portal>, Error> {
    let actor = need_actor()?;
    if let Some(p) = actor.peers_named(name).into_iter().next() {
        return Ok(Some(Portal::new(actor, p)));
    }
    let addrs = lookup(&actor, name, false).await?;
    if addrs.is_empty() {
        return Ok(None);
    }
    connect_to(&actor, name, &addrs).await.map(Some)
}

/// The address the actor named `name` registered, or `None` if the
/// registry does not know it — without connecting to it (Python's
/// `tractor.query_actor`). Of several addresses, the one
/// [`prefer_addr`] picks (UDS, then loopback TCP, then any).
pub async fn query_actor(name: &str) -> Result<Option<Addr>, Error> {
    let actor = need_actor()?;
    let addrs = lookup(&actor, name, false).await?;
    Ok(prefer_addr(&addrs))
}

/// A portal to the actor listening at `addr`, on a new connection
/// (Python's `open_portal` over `_connect_chan(addr)`). This actor's own
/// address is refused: an actor calls its own functions directly.
pub async fn open_portal(addr: &Addr) -> Result<Portal, Error> {
    let actor = need_actor()?;
    if actor.accept_addrs().contains(addr) {
        return Err(Error::Config(format!(
            "open_portal({addr}): that is this actor's own address ('{}'); call the function directly",
            actor.name()
        )));
    }
    let peer = actor.dial(addr).await.map_err(|e| match e {
        Error::Chan(c) if matches!(*c, crate::ipc::ChanError::Connect(_)) => {
            Error::Discovery(format!("open_portal: nothing answers at {addr}: {c}"))
        }
        other => other,
    })?;
    Ok(Portal::new(actor, peer))
}

/// A portal to the root actor of this actor's tree, at the address its
/// parent passed down (Python's `tractor.get_root`, which dials
/// `_root_mailbox`). In the root itself there is no other root to reach:
/// that is an [`Error::Config`].
pub async fn get_root() -> Result<Portal, Error> {
    let actor = need_actor()?;
    let rtv = actor.runtime_vars();
    if rtv.is_root {
        return Err(Error::Config(format!(
            "get_root(): '{}' is the root of its tree itself",
            actor.name()
        )));
    }
    let addr = rtv.root_addrs.first().cloned().ok_or_else(|| {
        Error::Discovery(format!(
            "get_root(): '{}' was given no root address by its parent",
            actor.name()
        ))
    })?;
    open_portal(&addr).await
}

/// A portal to the actor named `name`, waiting until it registers (with
/// etcd, an etcd watch). An existing connection is reused, but only once
/// the registry knows the name: a connection alone does not say the actor
/// has registered (a child dials the registrar to register, and its
/// handshake arrives before its registration), and whoever waited may
/// next ask the registry.
pub async fn wait_for_actor(name: &str) -> Result<Portal, Error> {
    let actor = need_actor()?;
    let addrs = lookup(&actor, name, true).await?;
    if let Some(p) = actor.peers_named(name).into_iter().next() {
        return Ok(Portal::new(actor, p));
    }
    connect_to(&actor, name, &addrs).await
}

/// Every registered actor in the registry at `addr` (a registrar or an
/// etcd cluster), as (uid, addresses).
pub async fn get_registry(
    addr: &(impl Clone + Into<RegistryAddr>),
) -> Result<Vec<(Uid, Vec<Addr>)>, Error> {
    backend::at(&addr.clone().into()).list().await
}

/// The addresses of the actor named `name` in the registry at `addr`
/// (empty when none is registered), for a client with no actor.
pub async fn find_in(addr: &RegistryAddr, name: &str) -> Result<Vec<WireAddr>, Error> {
    backend::at(addr)
        .lookup(current_actor().as_ref(), name, false)
        .await
}
