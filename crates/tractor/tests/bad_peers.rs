//! A misbehaving peer costs an actor bounded work: it is dropped after
//! `BAD_FRAME_STRIKES` undecodable messages in a row, and what it left
//! waiting (a registrar's `wait_for_actor`) goes away with its connection.

use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio_util::codec::FramedRead;
use tractor::ipc::{BoxRead, BoxWrite, FrameCodec};
use tractor::msg::{ANY_PLD_SPEC, Aid, Msg, Start, Uid, Value};

const LIMIT: Duration = Duration::from_secs(20);

/// A raw connection to this test's root actor, after the handshake.
struct Rogue {
    write: BoxWrite,
    read: FramedRead<BoxRead, FrameCodec>,
    uid: Uid,
}

impl Rogue {
    async fn connect() -> Rogue {
        let actor = tractor::current_actor().expect("in the root");
        let addr = actor.accept_addrs()[0].clone();
        let conn = tractor::ipc::connect(&addr).await.expect("connects");
        let uid = Uid::new("rogue", "0123456789abcdef");
        let mut r = Rogue {
            write: conn.write.0,
            read: FramedRead::new(conn.read.0, FrameCodec::new(1 << 20)),
            uid: uid.clone(),
        };
        r.send(&Msg::Aid(Aid {
            name: uid.name.clone(),
            uuid: uid.uuid.clone(),
            pid: Some(i64::from(std::process::id())),
            is_registrar: Some(false),
            is_probe: false,
        }))
        .await;
        match r.next().await {
            Some(Msg::Aid(_)) => {}
            other => panic!("expected the actor's Aid, got {other:?}"),
        }
        r
    }

    async fn send(&mut self, msg: &Msg) {
        let mut buf = Vec::new();
        tractor::ipc::frame::write_frame_into(msg, &mut buf);
        self.write.write_all(&buf).await.expect("write");
    }

    /// A well-framed message that does not decode (`cid` is a number).
    async fn send_bad(&mut self) {
        let v = Value::Map(vec![
            ("msg_type".into(), "Stop".into()),
            ("cid".into(), 42.into()),
        ]);
        let mut body = Vec::new();
        rmpv::encode::write_value(&mut body, &v).unwrap();
        let mut frame = (body.len() as u32).to_le_bytes().to_vec();
        frame.extend_from_slice(&body);
        self.write.write_all(&frame).await.expect("write");
    }

    /// The next message; `None` at EOF. Fails the test after `LIMIT`.
    async fn next(&mut self) -> Option<Msg> {
        match tokio::time::timeout(LIMIT, self.read.next()).await {
            Ok(Some(Ok(Ok(m)))) => Some(m),
            Ok(Some(Ok(Err(e)))) => panic!("undecodable reply: {e}"),
            Ok(Some(Err(_)) | None) => None,
            Err(_) => panic!("nothing from the actor within {LIMIT:?}"),
        }
    }

    fn start(&self, cid: &str, func: &str, kwargs: Vec<(String, Value)>) -> Msg {
        Msg::Start(Start {
            cid: cid.into(),
            ns: "self".into(),
            func: func.into(),
            kwargs,
            uid: self.uid.clone(),
            pld_spec: ANY_PLD_SPEC.into(),
        })
    }
}

#[tractor::test(timeout = 60)]
async fn a_peer_is_dropped_after_the_strike_limit_of_bad_messages_in_a_row()
-> Result<(), tractor::Error> {
    let strikes = tractor::runtime::actor::BAD_FRAME_STRIKES;
    let mut rogue = Rogue::connect().await;
    // One short of the limit, then a good message: still served.
    for _ in 1..strikes {
        rogue.send_bad().await;
    }
    let call = rogue.start("c1", "_actor_info", vec![]);
    rogue.send(&call).await;
    assert!(
        matches!(rogue.next().await, Some(Msg::StartAck(a)) if a.cid == "c1"),
        "served after {} bad messages",
        strikes - 1
    );
    assert!(matches!(rogue.next().await, Some(Msg::Return(r)) if r.cid == "c1"));
    // The count starts again after a good message: the limit in a row
    // ends the connection.
    for _ in 0..strikes {
        rogue.send_bad().await;
    }
    assert_eq!(rogue.next().await, None, "dropped after {strikes} in a row");
    Ok(())
}

/// Waits (up to `LIMIT`) until the root serves `n` tasks.
async fn served_tasks_become(n: usize) {
    let actor = tractor::current_actor().expect("in the root");
    let reached = tokio::time::timeout(LIMIT, actor.served_tasks_at_most(n)).await;
    assert!(
        reached.is_ok(),
        "served tasks stayed at {} (expected {n})",
        actor.served_tasks()
    );
}

#[tractor::test(timeout = 60)]
async fn a_registrar_waiter_goes_away_with_its_callers_connection() -> Result<(), tractor::Error> {
    let actor = tractor::current_actor().expect("in the root");
    assert!(
        actor.is_registrar(),
        "a test's root is its session's registrar"
    );
    let before = actor.served_tasks();
    let mut rogue = Rogue::connect().await;
    let wait = rogue.start(
        "w1",
        "wait_for_actor",
        vec![("name".into(), "nobody-by-this-name".into())],
    );
    rogue.send(&wait).await;
    assert!(matches!(rogue.next().await, Some(Msg::StartAck(a)) if a.cid == "w1"));
    assert_eq!(actor.served_tasks(), before + 1, "the waiter is served");
    drop(rogue);
    served_tasks_become(before).await;
    Ok(())
}

/// A peer that is connected but has not registered is not what
/// `wait_for_actor` waits for: it returns once the registry knows the
/// name (a child's handshake with the registrar comes before its
/// registration, and whoever waited may next list the registry, as
/// `tractor ps` after `actor_tree`'s "tree ready" does). Then the
/// existing connection is the portal.
#[tractor::test(timeout = 60)]
async fn wait_for_actor_waits_for_a_registration_not_a_connection() -> Result<(), tractor::Error> {
    let mut rogue = Rogue::connect().await;
    let name = rogue.uid.name.clone();
    // Connected: once the root has taken the connection in as a peer,
    // `find_actor` takes it as it is.
    let found = tokio::time::timeout(LIMIT, async {
        loop {
            if let Some(p) = tractor::find_actor(&name).await? {
                return Ok::<_, tractor::Error>(p);
            }
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the root takes the connection in as a peer")?;
    assert_eq!(found.uid(), rogue.uid);
    let waiting = tractor::wait_for_actor(&name);
    tokio::pin!(waiting);
    for _ in 0..50 {
        tokio::select! {
            biased;
            r = &mut waiting => panic!("returned before any registration: {:?}", r.map(|p| p.uid())),
            _ = tokio::task::yield_now() => {}
        }
    }
    // The registry learns the name; the wait ends, on the same connection.
    let addr = tractor::current_actor()
        .expect("in the root")
        .accept_addrs()[0]
        .to_wire();
    let register = rogue.start(
        "r1",
        "register_actor",
        vec![
            ("uid".into(), tractor::msg::uid_to_value(&rogue.uid)),
            ("addr".into(), tractor::msg::addr_to_value(&addr)),
        ],
    );
    rogue.send(&register).await;
    let portal = tokio::time::timeout(LIMIT, waiting)
        .await
        .expect("wait_for_actor returns once registered")?;
    assert_eq!(portal.uid(), rogue.uid);
    Ok(())
}
