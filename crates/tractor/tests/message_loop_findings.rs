//! Findings of the `message_loop` fuzz target, each as the script that
//! found it (written out by hand), run through the same harness
//! (`tests/fuzzing/message_loop.rs`): it panics on a hang or on anything
//! the actor keeps after the connection closed.

mod fuzzing;

use fuzzing::message_loop::{Cid, Func, Message, Script, Step, run_script};

fn start(cid: u8, func: Func) -> Step {
    Step::Send(Message::Start {
        cid: Cid::Ours(cid),
        func,
        wrong_uid: false,
    })
}

/// Two `Start`s with one cid: the second must not take the first one's
/// place, or the first task is out of reach of every cancel (the peer's
/// `_cancel_task` and its hang-up) and runs forever. (The yields let
/// each task start before the next message: a task whose `StartAck`
/// cannot go out any more ends by itself.)
#[test]
fn a_start_reusing_a_live_cid_leaks_no_task() {
    run_script(Script {
        steps: vec![
            start(0, Func::Forever),
            Step::Yield,
            start(0, Func::Forever),
            Step::Yield,
        ],
    });
}

/// The same through a context: a second `Start` on a live context's cid
/// must not replace its dialog either.
#[test]
fn a_start_reusing_a_live_context_cid_leaks_no_task() {
    run_script(Script {
        steps: vec![
            start(1, Func::StartedThenWait),
            Step::Yield,
            start(1, Func::EchoStream),
            Step::Yield,
            start(1, Func::Forever),
            Step::Yield,
        ],
    });
}

/// The peer that reused a cid is told so, in words, on that cid; the
/// first call runs on undisturbed.
#[test]
fn a_reused_cid_gets_an_error_saying_so() {
    use std::time::Duration;
    use tractor::msg::{Msg, Start, Uid};

    on_a_runtime(async {
        let actor = tractor::testing::fuzz::unbound_actor("dup", &[fuzzing::message_loop::NS]);
        let me = peer("00000000-0000-4000-8000-000000000001");
        let (mut chan, reader) = talk_to(&actor, &me);
        let start = Msg::Start(Start {
            cid: "same".into(),
            ns: fuzzing::message_loop::NS.into(),
            func: "forever".into(),
            kwargs: vec![],
            uid: Uid::new(me.name.clone(), me.uuid.clone()),
            pld_spec: tractor::msg::ANY_PLD_SPEC.into(),
        });
        chan.send(&start).await.expect("sent");
        assert_eq!(next(&mut chan).await.msg_type(), "StartAck");
        chan.send(&start).await.expect("sent");
        match next(&mut chan).await {
            Msg::Error(e) => {
                assert_eq!(e.cid.as_deref(), Some("same"));
                assert_eq!(e.src_type_str, "RuntimeError");
                let text = e.message.unwrap_or_default();
                assert!(
                    text.contains("reuses cid \"same\"") && text.contains("needs a fresh cid"),
                    "{text}"
                );
            }
            other => panic!("expected an Error, got {other:?}"),
        }
        assert_eq!(actor.served_tasks(), 1, "the first call runs on");
        chan.tx.close().await;
        drop(chan);
        reader.await.expect("the reader loop ends");
        tokio::time::timeout(Duration::from_secs(10), actor.served_tasks_at_most(0))
            .await
            .expect("the first call is cancelled with its connection");
        tractor::testing::fuzz::shut_down(actor).await;
    });
}

/// A `Start` whose uid is not the connection's peer is refused in words
/// (both uids named), on its cid; the peer's own calls are served on.
#[test]
fn a_start_with_another_uid_gets_an_error_naming_both() {
    use tractor::msg::{Msg, Start, Uid};

    on_a_runtime(async {
        let actor = tractor::testing::fuzz::unbound_actor("strict", &[fuzzing::message_loop::NS]);
        let me = peer("00000000-0000-4000-8000-000000000002");
        let (mut chan, reader) = talk_to(&actor, &me);
        let call = |cid: &str, uid: Uid| {
            Msg::Start(Start {
                cid: cid.into(),
                ns: fuzzing::message_loop::NS.into(),
                func: "echo".into(),
                kwargs: vec![("x".into(), 7.into())],
                uid,
                pld_spec: tractor::msg::ANY_PLD_SPEC.into(),
            })
        };
        let other = Uid::new("mallory", "00000000-0000-4000-8000-00000000000f");
        chan.send(&call("theirs", other)).await.expect("sent");
        match next(&mut chan).await {
            Msg::Error(e) => {
                assert_eq!(e.cid.as_deref(), Some("theirs"));
                assert_eq!(e.src_type_str, "RuntimeError");
                let text = e.message.unwrap_or_default();
                assert!(
                    text.contains("does not match the connection's peer")
                        && text.contains("mallory")
                        && text.contains("peer"),
                    "{text}"
                );
            }
            other => panic!("expected an Error, got {other:?}"),
        }
        assert_eq!(actor.served_tasks(), 0, "nothing was served for it");
        chan.send(&call("mine", Uid::new(me.name.clone(), me.uuid.clone())))
            .await
            .expect("sent");
        assert_eq!(next(&mut chan).await.msg_type(), "StartAck");
        assert_eq!(next(&mut chan).await.msg_type(), "Return");
        chan.tx.close().await;
        drop(chan);
        reader.await.expect("the reader loop ends");
        tractor::testing::fuzz::shut_down(actor).await;
    });
}

/// Runs `body` on a current-thread runtime of its own.
fn on_a_runtime(body: impl std::future::Future<Output = ()>) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(body);
}

/// A peer actor's identity, named "peer", with `uuid`.
fn peer(uuid: &str) -> tractor::msg::Aid {
    tractor::msg::Aid {
        name: "peer".into(),
        uuid: uuid.into(),
        pid: Some(1),
        is_registrar: Some(false),
        is_probe: false,
    }
}

/// A channel to `actor` from a peer named by `me`, over an in-memory
/// pipe, and the actor's reader task for it.
fn talk_to(
    actor: &tractor::runtime::actor::Actor,
    me: &tractor::msg::Aid,
) -> (tractor::ipc::Channel, tokio::task::JoinHandle<()>) {
    use tractor::ipc::{Channel, Conn, DebugIgnore};
    let (pipe, reader) = tractor::testing::fuzz::connect_in_memory(actor, me.clone());
    let (rd, wr) = tokio::io::split(pipe);
    let chan = Channel::new(
        Conn {
            read: DebugIgnore(Box::pin(rd)),
            write: DebugIgnore(Box::pin(wr)),
            peer: "test".into(),
        },
        1 << 20,
    );
    (chan, reader)
}

/// The next message from the actor, within a generous time.
async fn next(chan: &mut tractor::ipc::Channel) -> tractor::msg::Msg {
    tokio::time::timeout(std::time::Duration::from_secs(10), chan.recv())
        .await
        .expect("a reply in time")
        .expect("a good frame")
        .expect("not closed")
}
