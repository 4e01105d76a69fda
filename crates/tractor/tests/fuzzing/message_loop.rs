//! The stateful fuzz harness for an actor's message loop. One copy of the
//! code, two users: the cargo-fuzz target `fuzz/fuzz_targets/message_loop.rs`
//! (nightly, libFuzzer) and the corpus replay `tests/fuzz_corpus.rs`
//! (stable, in CI). Both hand raw input bytes to [`run`].
//!
//! The bytes are read with `arbitrary` as a [`Script`]: steps a peer
//! takes on one connection to an actor. Most steps are well-formed
//! protocol messages with fuzzed fields (so the fuzzer spends its time in
//! the runtime, not in the decoder, which `frame_decoder` covers), some
//! are mutated at the msgpack level (a field dropped, retyped, renamed),
//! some are garbage frames or raw bytes. Cids are drawn from a small set,
//! so messages collide with live dialogs: out-of-order `Started`, `Yield`
//! after `Stop`, `Return` for calls never made, duplicate `Start`s. The
//! served functions include one that calls the peer back, so the actor's
//! caller side (its `StartAck` / `Return` / stream handling) is fuzzed
//! too, with the cids the actor chose.
//!
//! For speed, one tokio runtime and one actor serve every input (the
//! actor is rebuilt only when an input cancelled it), the connection is
//! an in-memory pipe ([`tractor::testing::fuzz`]), and the runtime's clock
//! is paused: everything the input sets off runs on this one runtime, so
//! when no task can run, tokio moves the clock to the next timer at once.
//! A wait for a call that never comes ([`AWAIT_CALL`]) or a runtime
//! timeout then costs no wall time, and a real hang (nothing runnable,
//! ever) reaches [`DEADLINE`] at once instead of after ten seconds.
//!
//! Checked for each input: nothing panics; the input is served, the
//! connection torn down and every task it started ended within
//! [`DEADLINE`] (a hang panics, naming what was left); afterwards the actor
//! holds no peer, dialog or served task for it, and the runtime runs no
//! more tasks than before the input (a leak across inputs would grow
//! without bound; libFuzzer's `-rss_limit_mb` backs this up).

#![allow(dead_code)]

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use tokio_util::codec::FramedRead;
use tractor::msg::{
    Aid, CancelAck, ErrorMsg, FuncType, Msg, Payload, SpawnSpec, Start, StartAck, Stop, Uid, Value,
};
use tractor::{Actor, Caller, ContextOptions, Error};

/// How long one input may take, teardown included, before it counts as
/// a hang. Generous: a healthy input takes well under a millisecond.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// How long [`Step::AwaitCall`] waits for the actor's call. Waiting less
/// only makes a call seen a step later; it is no failure.
const AWAIT_CALL: Duration = Duration::from_millis(50);

/// The most steps read from one input.
const MAX_STEPS: usize = 64;

/// The name and uuid the fuzzing peer handshakes with.
const PEER_NAME: &str = "fuzzer";
const PEER_UUID: &str = "00000000-0000-4000-8000-00000000f022";

// ---------------------------------------------------------------------------
// What the fuzzed actor serves.

/// Answers at once.
#[tractor::rpc]
async fn echo(x: i64) -> i64 {
    x
}

/// Raises.
#[tractor::rpc]
async fn fail(why: String) -> Result<(), std::io::Error> {
    Err(std::io::Error::other(why))
}

/// Runs until cancelled.
#[tractor::rpc]
async fn forever() {
    std::future::pending::<()>().await;
}

/// Echoes its stream until the opener stops it; returns the count.
#[tractor::context]
async fn echo_stream(ctx: tractor::Context<tractor::Callee<u64, Value>>) -> Result<u64, Error> {
    ctx.started(&0u64).await?;
    let mut s = ctx.open_stream();
    let mut n = 0;
    while let Some(v) = s.recv().await? {
        s.send(&v).await?;
        n += 1;
    }
    Ok(n)
}

/// Sends `started`, then waits to be cancelled.
#[tractor::context]
async fn started_then_wait(ctx: tractor::Context<tractor::Callee<String>>) -> Result<(), Error> {
    ctx.started(&"up".to_owned()).await?;
    std::future::pending::<()>().await;
    Ok(())
}

/// Calls the peer back over the same connection: a plain call, a
/// context, or an async-generator stream (`how` modulo 3).
#[tractor::rpc]
async fn call_back(caller: Caller, how: u8) -> Result<String, Error> {
    let p = caller.portal_to_caller();
    match how % 3 {
        0 => Ok(format!(
            "{:?}",
            p.run_from_ns("peer", "plain", vec![]).await?
        )),
        1 => {
            let (ctx, first) = p
                .open_context_from_ns("peer", "ctx", vec![], ContextOptions::default())
                .await?;
            let r: Value = ctx.result().await?;
            Ok(format!("{first:?} {r:?}"))
        }
        _ => {
            let mut s = p
                .open_stream_from_ns::<Value>("peer", "gen", vec![])
                .await?;
            let mut n = 0;
            while s.recv().await?.is_some() {
                n += 1;
            }
            Ok(format!("{n} items"))
        }
    }
}

/// The namespace of every function above (this module's path), the one
/// the fuzzed actor enables.
pub const NS: &str = echo::NS;

// ---------------------------------------------------------------------------
// The input.

/// What one input does: the steps of one peer on one connection.
#[derive(Debug, Arbitrary)]
pub struct Script {
    /// In order; at most [`MAX_STEPS`] are taken.
    pub steps: Vec<Step>,
}

/// One thing the peer does.
#[derive(Debug, Arbitrary)]
pub enum Step {
    /// Sends a well-formed message.
    Send(Message),
    /// Sends a message changed at the msgpack level.
    Mutated(Message, Mutation),
    /// Sends one frame of arbitrary bytes.
    Garbage(Vec<u8>),
    /// Writes raw bytes, framing included (may desync the stream).
    Raw(Vec<u8>),
    /// Waits (up to [`AWAIT_CALL`]) for the actor, asked to `call_back`,
    /// to call us: its `Start`, whose cid [`Cid::Theirs`] then names. Does
    /// nothing if a call came since the previous step, or if none may come
    /// (no `call_back` sent since the last wait that saw nothing). A
    /// bounded wait, because the harness cannot know for sure whether a
    /// call is coming (the `call_back` may have been refused, cancelled,
    /// garbled); a call that comes later is still noted, before the next
    /// step.
    AwaitCall,
    /// Lets the actor run for a few scheduler turns.
    Yield,
}

/// A protocol message with fuzzed fields.
#[derive(Debug, Arbitrary)]
pub enum Message {
    /// A call request.
    Start {
        /// Its cid.
        cid: Cid,
        /// What it calls.
        func: Func,
        /// With a caller uid other than the handshake's.
        wrong_uid: bool,
    },
    /// A call accepted.
    StartAck {
        /// Its cid.
        cid: Cid,
        /// A functype, maybe the wrong one.
        functype: WireFuncType,
    },
    /// A context's first value.
    Started(Cid, Pld),
    /// A stream item.
    Yield(Cid, Pld),
    /// End of a stream.
    Stop(Cid),
    /// A final result.
    Return(Cid, Pld),
    /// A cancel acknowledgement.
    CancelAck(Cid, bool),
    /// A boxed error.
    Error(OddError),
    /// A second handshake.
    Aid,
    /// A spawn spec nobody asked for.
    SpawnSpec,
}

/// A cid: one of ours (a small set, so messages collide), one the actor
/// chose for a call to us, or any string.
#[derive(Debug, Arbitrary)]
pub enum Cid {
    /// `c0` … `c7`.
    Ours(u8),
    /// The n-th cid (modulo how many) of the actor's calls to us.
    Theirs(u8),
    /// Any string.
    Odd(String),
}

/// What a `Start` calls.
#[derive(Debug, Arbitrary)]
pub enum Func {
    /// `echo(x)`, `x` maybe of the wrong type.
    Echo(Pld),
    /// `fail(why)`.
    Fail(String),
    /// `forever()`.
    Forever,
    /// The context `echo_stream()`.
    EchoStream,
    /// The context `started_then_wait()`.
    StartedThenWait,
    /// `call_back(how)`.
    CallBack(u8),
    /// `self._cancel_task(cid)`.
    CancelTask(Cid),
    /// `self._actor_info()`.
    ActorInfo,
    /// `self._task_tree()`.
    TaskTree,
    /// `self.cancel()`: cancels the actor (it is rebuilt for the next input).
    CancelActor,
    /// Any namespace and function, with any kwargs.
    Named(String, String, Vec<(String, Pld)>),
}

/// A `StartAck`'s functype: one of the three, or any string.
#[derive(Debug, Arbitrary)]
pub enum WireFuncType {
    /// `asyncfunc`.
    AsyncFunc,
    /// `asyncgen`.
    AsyncGen,
    /// `context`.
    Context,
    /// Anything else (only reachable through a [`Mutation`]).
    Odd(String),
}

/// An `Error` message with odd fields.
#[derive(Debug, Arbitrary)]
pub struct OddError {
    /// The call it ends, if any.
    pub cid: Option<Cid>,
    /// `src_type_str` (and `boxed_type_str` unless relayed).
    pub kind: ErrKind,
    /// The message.
    pub message: Option<String>,
    /// How many relays it went through (modulo 4).
    pub relays: u8,
    /// Carries a `bad_msg` (a `Yield` of this payload).
    pub bad_msg: Option<Pld>,
    /// Carries a `bad_msg_as_dict`.
    pub bad_dict: Option<Vec<(String, Pld)>>,
    /// Names a canceller (the peer itself, or the actor).
    pub canceller: Option<bool>,
}

/// An error type name.
#[derive(Debug, Arbitrary)]
pub enum ErrKind {
    /// `ContextCancelled`.
    ContextCancelled,
    /// `StreamOverrun`.
    StreamOverrun,
    /// `MsgTypeError`.
    MsgTypeError,
    /// `RemoteActorError`.
    RemoteActorError,
    /// `ValueError`.
    ValueError,
    /// Any string.
    Odd(String),
}

/// A msgpack payload.
#[derive(Debug, Arbitrary)]
pub enum Pld {
    /// nil.
    Nil,
    /// A bool.
    Bool(bool),
    /// An int.
    Int(i64),
    /// A float.
    F64(f64),
    /// A string.
    Str(String),
    /// Bytes.
    Bin(Vec<u8>),
    /// An array.
    Arr(Vec<Pld>),
    /// A map with string keys.
    Map(Vec<(String, Pld)>),
    /// An extension value.
    Ext(i8, Vec<u8>),
}

/// A change made to an encoded message's top-level map.
#[derive(Debug, Arbitrary)]
pub enum Mutation {
    /// Removes the n-th field (modulo the field count).
    DropField(u8),
    /// Replaces the n-th field's value.
    Retype(u8, Pld),
    /// Renames the n-th field.
    Rename(u8, String),
    /// Adds a field.
    Add(String, Pld),
    /// Sends this value instead of a map.
    NotAMap(Pld),
}

// ---------------------------------------------------------------------------
// Building the bytes.

impl Pld {
    fn value(&self) -> Value {
        match self {
            Pld::Nil => Value::Nil,
            Pld::Bool(b) => Value::Boolean(*b),
            Pld::Int(i) => Value::from(*i),
            Pld::F64(f) => Value::F64(*f),
            Pld::Str(s) => Value::from(s.as_str()),
            Pld::Bin(b) => Value::Binary(b.clone()),
            Pld::Arr(a) => Value::Array(a.iter().map(Pld::value).collect()),
            Pld::Map(m) => Value::Map(
                m.iter()
                    .map(|(k, v)| (Value::from(k.as_str()), v.value()))
                    .collect(),
            ),
            Pld::Ext(t, b) => Value::Ext(*t, b.clone()),
        }
    }
}

/// What the connection knows while a script runs.
#[derive(Default)]
struct Cids {
    /// Cids of the actor's calls to us, in the order they came.
    theirs: Vec<String>,
}

impl Cids {
    fn name(&self, c: &Cid) -> String {
        match c {
            Cid::Ours(n) => format!("c{}", n % 8),
            Cid::Theirs(n) if !self.theirs.is_empty() => {
                self.theirs[*n as usize % self.theirs.len()].clone()
            }
            Cid::Theirs(_) => "c0".to_owned(),
            Cid::Odd(s) => s.clone(),
        }
    }
}

fn peer_uid() -> Uid {
    Uid::new(PEER_NAME, PEER_UUID)
}

fn peer_aid() -> Aid {
    Aid {
        name: PEER_NAME.into(),
        uuid: PEER_UUID.into(),
        pid: Some(1),
        is_registrar: Some(false),
        is_probe: false,
    }
}

fn kwargs(pairs: &[(&str, Value)]) -> Vec<(String, Value)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

impl Message {
    fn build(&self, cids: &Cids, actor: &Uid) -> Msg {
        let payload = |c: &Cid, p: &Pld| Payload {
            cid: cids.name(c),
            pld: p.value(),
        };
        match self {
            Message::Start {
                cid,
                func,
                wrong_uid,
            } => {
                let (ns, name, kw) = match func {
                    Func::Echo(x) => (echo::NS, "echo", kwargs(&[("x", x.value())])),
                    Func::Fail(why) => (fail::NS, "fail", kwargs(&[("why", why.as_str().into())])),
                    Func::Forever => (forever::NS, "forever", vec![]),
                    Func::EchoStream => (echo_stream::NS, "echo_stream", vec![]),
                    Func::StartedThenWait => (started_then_wait::NS, "started_then_wait", vec![]),
                    Func::CallBack(how) => (
                        call_back::NS,
                        "call_back",
                        kwargs(&[("how", (*how).into())]),
                    ),
                    Func::CancelTask(c) => (
                        "self",
                        "_cancel_task",
                        kwargs(&[("cid", cids.name(c).into())]),
                    ),
                    Func::ActorInfo => ("self", "_actor_info", vec![]),
                    Func::TaskTree => ("self", "_task_tree", vec![]),
                    Func::CancelActor => ("self", "cancel", vec![]),
                    Func::Named(ns, f, kw) => {
                        return Msg::Start(Start {
                            cid: cids.name(cid),
                            ns: ns.clone(),
                            func: f.clone(),
                            kwargs: kw.iter().map(|(k, v)| (k.clone(), v.value())).collect(),
                            uid: peer_uid(),
                            pld_spec: tractor::msg::ANY_PLD_SPEC.into(),
                        });
                    }
                };
                Msg::Start(Start {
                    cid: cids.name(cid),
                    ns: ns.to_owned(),
                    func: name.to_owned(),
                    kwargs: kw,
                    uid: if *wrong_uid {
                        Uid::new("impostor", PEER_UUID)
                    } else {
                        peer_uid()
                    },
                    pld_spec: tractor::msg::ANY_PLD_SPEC.into(),
                })
            }
            Message::StartAck { cid, functype } => Msg::StartAck(StartAck {
                cid: cids.name(cid),
                functype: match functype {
                    WireFuncType::AsyncFunc | WireFuncType::Odd(_) => FuncType::AsyncFunc,
                    WireFuncType::AsyncGen => FuncType::AsyncGen,
                    WireFuncType::Context => FuncType::Context,
                },
            }),
            Message::Started(c, p) => Msg::Started(payload(c, p)),
            Message::Yield(c, p) => Msg::Yield(payload(c, p)),
            Message::Return(c, p) => Msg::Return(payload(c, p)),
            Message::Stop(c) => Msg::Stop(Stop { cid: cids.name(c) }),
            Message::CancelAck(c, b) => Msg::CancelAck(CancelAck {
                cid: cids.name(c),
                pld: *b,
            }),
            Message::Error(e) => Msg::Error(e.build(cids, actor)),
            Message::Aid => Msg::Aid(peer_aid()),
            Message::SpawnSpec => Msg::SpawnSpec(SpawnSpec {
                parent_main_data: vec![],
                runtime_vars: vec![],
                enable_modules: vec![],
                reg_addrs: vec![],
                bind_addrs: None,
            }),
        }
    }

    /// The encoded message, with a `StartAck`'s odd functype written in.
    fn encode(&self, cids: &Cids, actor: &Uid) -> Vec<u8> {
        let bytes = tractor::msg::encode(&self.build(cids, actor));
        match self {
            Message::StartAck {
                functype: WireFuncType::Odd(s),
                ..
            } => mutate(&bytes, |m| {
                for (k, v) in m.iter_mut() {
                    if k.as_str() == Some("functype") {
                        *v = Value::from(s.as_str());
                    }
                }
            }),
            _ => bytes,
        }
    }
}

impl OddError {
    fn build(&self, cids: &Cids, actor: &Uid) -> ErrorMsg {
        let ty = match &self.kind {
            ErrKind::ContextCancelled => "ContextCancelled".to_owned(),
            ErrKind::StreamOverrun => "StreamOverrun".to_owned(),
            ErrKind::MsgTypeError => "MsgTypeError".to_owned(),
            ErrKind::RemoteActorError => "RemoteActorError".to_owned(),
            ErrKind::ValueError => "ValueError".to_owned(),
            ErrKind::Odd(s) => s.clone(),
        };
        let relays = (self.relays % 4) as usize;
        ErrorMsg {
            src_uid: peer_uid(),
            src_type_str: ty.clone(),
            boxed_type_str: if relays > 0 {
                "RemoteActorError".into()
            } else {
                ty
            },
            relay_path: (0..relays)
                .map(|i| Uid::new(format!("relay{i}"), PEER_UUID))
                .collect(),
            message: self.message.clone(),
            tb_str: String::new(),
            canceller: self
                .canceller
                .map(|me| if me { peer_uid() } else { actor.clone() }),
            sender: None,
            cid: self.cid.as_ref().map(|c| cids.name(c)),
            bad_msg: self.bad_msg.as_ref().map(|p| {
                Box::new(Msg::Yield(Payload {
                    cid: "c0".into(),
                    pld: p.value(),
                }))
            }),
            bad_msg_as_dict: self
                .bad_dict
                .as_ref()
                .map(|d| d.iter().map(|(k, v)| (k.clone(), v.value())).collect()),
        }
    }
}

/// Re-encodes `bytes` after `f` changed its top-level map. A message
/// nested deeper than rmpv reads (a fuzzed payload can be: the runtime
/// itself refuses it by its own nesting limit) is sent unchanged.
fn mutate(bytes: &[u8], f: impl FnOnce(&mut Vec<(Value, Value)>)) -> Vec<u8> {
    let Ok(mut v) = rmpv::decode::read_value(&mut &bytes[..]) else {
        return bytes.to_vec();
    };
    if let Value::Map(m) = &mut v {
        f(m);
    }
    let mut out = Vec::new();
    rmpv::encode::write_value(&mut out, &v).expect("writing to a Vec");
    out
}

impl Mutation {
    fn apply(&self, bytes: &[u8]) -> Vec<u8> {
        if let Mutation::NotAMap(p) = self {
            let mut out = Vec::new();
            rmpv::encode::write_value(&mut out, &p.value()).expect("writing to a Vec");
            return out;
        }
        mutate(bytes, |m| {
            let n = m.len().max(1);
            match self {
                Mutation::DropField(i) if !m.is_empty() => {
                    m.remove(*i as usize % n);
                }
                Mutation::Retype(i, p) if !m.is_empty() => m[*i as usize % n].1 = p.value(),
                Mutation::Rename(i, k) if !m.is_empty() => {
                    m[*i as usize % n].0 = Value::from(k.as_str())
                }
                Mutation::Add(k, p) => m.push((Value::from(k.as_str()), p.value())),
                _ => {}
            }
        })
    }
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 4);
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(body);
    out
}

// ---------------------------------------------------------------------------
// Running an input.

struct Shared {
    rt: tokio::runtime::Runtime,
    actor: Mutex<Option<Actor>>,
}

fn shared() -> &'static Shared {
    static S: OnceLock<Shared> = OnceLock::new();
    S.get_or_init(|| Shared {
        rt: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .expect("a tokio runtime"),
        actor: Mutex::new(None),
    })
}

/// Reads `data` as a [`Script`] and runs it (see the module docs). Panics
/// on a finding.
pub fn run(data: &[u8]) {
    let Ok(script) = Script::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    run_script(script);
}

/// Runs one script against the shared actor (see the module docs).
/// Panics on a finding.
pub fn run_script(script: Script) {
    let s = shared();
    let mut slot = s.actor.lock().unwrap_or_else(|p| p.into_inner());
    s.rt.block_on(async {
        let actor = match slot.take() {
            Some(a) if !a.is_cancelled() => a,
            old => {
                if let Some(old) = old {
                    tractor::testing::fuzz::shut_down(old).await;
                }
                tractor::testing::fuzz::unbound_actor("fuzzed", &[NS])
            }
        };
        let before = tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks();
        let served = tokio::time::timeout(DEADLINE, serve(&actor, &script)).await;
        if served.is_err() {
            panic!(
                "hang: the script was not served within {DEADLINE:?}\n{}\n{script:#?}",
                actor.task_tree()
            );
        }
        let settled = tokio::time::timeout(DEADLINE, settle(&actor, before)).await;
        if let Err(_) | Ok(Err(_)) = settled {
            let why = match settled {
                Ok(Err(why)) => why,
                _ => "did not settle".to_owned(),
            };
            panic!(
                "leak after the connection closed: {why}\n{}\n{script:#?}",
                actor.task_tree()
            );
        }
        *slot = Some(actor);
    });
}

/// One connection: the script's steps, then hang up and wait for the
/// actor's reader loop and its side of the pipe to end.
async fn serve(actor: &Actor, script: &Script) {
    let (pipe, reader) = tractor::testing::fuzz::connect_in_memory(actor, peer_aid());
    let (rd, mut wr) = tokio::io::split(pipe);
    // The cids of the actor's calls to us, as they come.
    let (calls_tx, mut calls) = mpsc::unbounded_channel();
    // Read everything the actor sends (so it never waits on a full pipe),
    // noting its calls to us.
    let drain = tokio::spawn(async move {
        let mut frames = FramedRead::new(rd, tractor::ipc::FrameCodec::new(64 << 20));
        while let Some(f) = frames.next().await {
            match f {
                Ok(Ok(Msg::Start(s))) => {
                    let _ = calls_tx.send(s.cid);
                }
                Ok(_) => {}
                Err(e) => panic!("the actor sent a bad frame: {e}"),
            }
        }
    });
    let mut cids = Cids::default();
    // Whether a call from the actor may still come (see `Step::AwaitCall`).
    let mut expecting = false;
    let me = actor.uid().clone();
    for step in script.steps.iter().take(MAX_STEPS) {
        let seen = cids.theirs.len();
        while let Ok(c) = calls.try_recv() {
            cids.theirs.push(c);
        }
        let bytes = match step {
            Step::Send(m) => frame(&m.encode(&cids, &me)),
            Step::Mutated(m, how) => frame(&how.apply(&m.encode(&cids, &me))),
            Step::Garbage(b) => frame(b),
            Step::Raw(b) => b.clone(),
            Step::AwaitCall => {
                if cids.theirs.len() == seen && expecting {
                    match tokio::time::timeout(AWAIT_CALL, calls.recv()).await {
                        Ok(Some(c)) => cids.theirs.push(c),
                        _ => expecting = false,
                    }
                }
                continue;
            }
            Step::Yield => {
                for _ in 0..4 {
                    tokio::task::yield_now().await;
                }
                continue;
            }
        };
        if let Step::Send(Message::Start {
            func: Func::CallBack(_),
            ..
        }) = step
        {
            expecting = true;
        }
        if wr.write_all(&bytes).await.is_err() {
            // The actor dropped the connection (too many bad frames).
            break;
        }
    }
    let _ = wr.shutdown().await;
    drop(wr);
    reader.await.expect("the reader loop does not panic");
    drain.await.expect("the drain does not panic");
}

/// Waits until the actor holds nothing for the closed connection and the
/// runtime runs no more tasks than `before`; `Err` says what is left.
async fn settle(actor: &Actor, before: usize) -> Result<(), String> {
    actor.served_tasks_at_most(0).await;
    let peers = tractor::testing::fuzz::peer_count(actor);
    let (dialogs, served) = tractor::testing::fuzz::peer_state(actor);
    if peers != 0 || dialogs != 0 || served != 0 {
        return Err(format!(
            "{peers} peers, {dialogs} dialogs, {served} served cids left"
        ));
    }
    // Reply tasks still finishing their writes to the closed pipe: give
    // them turns until they are gone (the caller's deadline bounds this).
    let metrics = tokio::runtime::Handle::current().metrics();
    while metrics.num_alive_tasks() > before {
        tokio::task::yield_now().await;
    }
    Ok(())
}
