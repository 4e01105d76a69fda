//! Bidirectional streams: order and completeness, clean end on both sides,
//! backpressure (overrun errors vs `allow_overruns`), typed payloads.

use tractor::{Callee, Context, ContextOptions, Error};

/// Echoes every item back, then returns how many it saw.
#[tractor::context]
async fn echo(ctx: Context<Callee<(), u64>>) -> Result<u64, Error> {
    ctx.started(&()).await?;
    let mut stream = ctx.open_stream();
    let mut n = 0;
    while let Some(x) = stream.recv().await? {
        stream.send(&x).await?;
        n += 1;
    }
    Ok(n)
}

/// Sends `0..count` while receiving `0..count`, checking order.
#[tractor::context]
async fn both_ways(ctx: Context<Callee<u64, u64>>, count: u64) -> Result<u64, Error> {
    ctx.started(&count).await?;
    let mut rx = ctx.open_stream();
    let mut tx = ctx.open_stream();
    let send = async {
        for i in 0..count {
            tx.send(&i).await?;
        }
        tx.close().await
    };
    let recv = async {
        let mut seen = 0u64;
        while let Some(got) = rx.recv().await? {
            if got != seen {
                return Err(Error::other(format!(
                    "item {got} arrived when {seen} was due"
                )));
            }
            seen += 1;
        }
        Ok(seen)
    };
    let (sent, seen) = tokio::join!(send, recv);
    sent?;
    seen
}

/// What `flood` saw when its sends started failing.
fn flood_failure() -> &'static tokio::sync::watch::Sender<Option<String>> {
    static F: std::sync::OnceLock<tokio::sync::watch::Sender<Option<String>>> =
        std::sync::OnceLock::new();
    F.get_or_init(|| tokio::sync::watch::channel(None).0)
}

/// Sends until a send fails (the opener is not reading).
#[tractor::context]
async fn flood(ctx: Context<Callee<(), u64>>) -> Result<u64, Error> {
    ctx.started(&()).await?;
    let stream = ctx.open_stream();
    for i in 0..1_000_000u64 {
        if let Err(e) = stream.send(&i).await {
            let why = format!("send {i} refused: {e}");
            flood_failure().send_replace(Some(why.clone()));
            return Err(Error::other(why));
        }
        // Let the reply (an overrun error) be read.
        tokio::task::yield_now().await;
    }
    Ok(1_000_000)
}

/// Waits for `flood` to fail and says how.
#[tractor::rpc]
async fn flood_report() -> Option<String> {
    let mut rx = flood_failure().subscribe();
    let got = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        rx.wait_for(Option::is_some),
    )
    .await;
    got.ok().and_then(|r| r.ok()).and_then(|v| v.clone())
}

/// Set (in the callee) once `burst` has sent all its items.
fn burst_finished() -> &'static tokio::sync::watch::Sender<bool> {
    static S: std::sync::OnceLock<tokio::sync::watch::Sender<bool>> = std::sync::OnceLock::new();
    S.get_or_init(|| tokio::sync::watch::channel(false).0)
}

/// Sends exactly `count` items and returns how many sends succeeded.
#[tractor::context]
async fn burst(ctx: Context<Callee<(), u64>>, count: u64) -> Result<u64, Error> {
    ctx.started(&()).await?;
    let stream = ctx.open_stream();
    let mut sent = 0;
    for i in 0..count {
        stream.send(&i).await?;
        sent += 1;
    }
    burst_finished().send_replace(true);
    Ok(sent)
}

/// Answers once `burst` has sent everything (its reply travels behind
/// the items on the same connection).
#[tractor::rpc]
async fn burst_done() -> bool {
    let mut rx = burst_finished().subscribe();
    tokio::time::timeout(std::time::Duration::from_secs(20), rx.wait_for(|s| *s))
        .await
        .is_ok()
}

/// Expects numbers; says what it got instead.
#[tractor::context]
async fn numbers_only(ctx: Context<Callee<(), u32>>) -> Result<String, Error> {
    ctx.started(&()).await?;
    let mut stream = ctx.open_stream();
    match stream.recv().await {
        Ok(v) => Ok(format!("got {v:?}")),
        Err(e) => Ok(format!("refused: {e}")),
    }
}

/// Set (in the callee) once `burst_then_mark` has sent all its items.
fn burst_sent() -> &'static tokio::sync::watch::Sender<bool> {
    static S: std::sync::OnceLock<tokio::sync::watch::Sender<bool>> = std::sync::OnceLock::new();
    S.get_or_init(|| tokio::sync::watch::channel(false).0)
}

/// Sends `count` items, marks that it did, and returns.
#[tractor::context]
async fn burst_then_mark(ctx: Context<Callee<(), u64>>, count: u64) -> Result<u64, Error> {
    ctx.started(&()).await?;
    let stream = ctx.open_stream();
    for i in 0..count {
        stream.send(&i).await?;
    }
    burst_sent().send_replace(true);
    Ok(count)
}

/// Answers once `burst_then_mark` has sent everything: its reply travels
/// the same connection behind the burst's items.
#[tractor::rpc]
async fn after_the_burst() -> bool {
    let mut rx = burst_sent().subscribe();
    tokio::time::timeout(std::time::Duration::from_secs(20), rx.wait_for(|s| *s))
        .await
        .is_ok()
}

#[tractor::rpc]
async fn ping() -> String {
    "pong".to_string()
}

#[tractor::test(timeout = 30)]
async fn echo_stream_ends_cleanly_on_both_sides() -> Result<(), Error> {
    tractor::open_nursery(|n| async move {
        let p = n.start_actor("echo", &[echo::NS]).await?;
        let (ctx, ()) = p.open_context(echo {}).await?;
        let mut stream = ctx.open_stream();
        for i in 0..10 {
            stream.send(&i).await?;
            assert_eq!(stream.recv().await?, Some(i));
        }
        stream.close().await?;
        // The callee's loop ends on our Stop; it closes its side and returns.
        assert_eq!(stream.recv().await?, None);
        assert_eq!(ctx.result().await?, 10);
        p.cancel_actor().await?;
        Ok(())
    })
    .await
}

#[tractor::test(timeout = 120)]
async fn a_hundred_thousand_messages_each_way_in_order() -> Result<(), Error> {
    const N: u64 = 100_000;
    tractor::open_nursery(|n| async move {
        let p = n.start_actor("pump", &[both_ways::NS]).await?;
        let (ctx, count): (_, u64) = p.open_context(both_ways { count: N }).await?;
        assert_eq!(count, N);
        let mut rx = ctx.open_stream();
        let tx = ctx.open_stream();
        let mut tx = tx;
        let send = async {
            for i in 0..N {
                tx.send(&i).await?;
            }
            tx.close().await
        };
        let recv = async {
            let mut expect = 0u64;
            while let Some(x) = rx.recv().await? {
                assert_eq!(x, expect, "in order, none lost");
                expect += 1;
            }
            Ok::<_, Error>(expect)
        };
        let (sent, received) = tokio::join!(send, recv);
        sent?;
        assert_eq!(received?, N);
        assert_eq!(ctx.result().await?, N);
        p.cancel_actor().await?;
        Ok(())
    })
    .await
}

#[tractor::test(timeout = 60)]
async fn an_overrun_is_an_error_the_sender_sees() -> Result<(), Error> {
    tractor::open_nursery(|n| async move {
        let p = n.start_actor("flood", &[flood::NS]).await?;
        let reporter = p.clone();
        let opts = ContextOptions {
            buffer: 16,
            ..Default::default()
        };
        // We open the stream but never read it.
        let (ctx, ()) = p.open_context_with(flood {}, opts).await?;
        let _stream = ctx.open_stream();
        let report = reporter
            .run(flood_report {})
            .await?
            .expect("the flood was refused");
        assert!(
            report.contains("StreamOverrun from actor 'root'"),
            "{report}"
        );
        assert!(report.contains("'root' has 16 unread messages"), "{report}");
        drop(ctx);
        p.cancel_actor().await?;
        Ok(())
    })
    .await
}

#[tractor::test(timeout = 60)]
async fn allow_overruns_buffers_everything() -> Result<(), Error> {
    const N: u64 = 5_000;
    tractor::open_nursery(|n| async move {
        let p = n.start_actor("burst", &[burst::NS, burst_done::NS]).await?;
        let opts = ContextOptions {
            buffer: 16,
            allow_overruns: true,
        };
        let (ctx, ()) = p.open_context_with(burst { count: N }, opts).await?;
        let mut stream = ctx.open_stream();
        // Let everything arrive before reading anything: the burst has
        // sent all its items once the callee counts them as sent.
        assert!(ctx.portal().run(burst_done {}).await?, "the burst finished");
        let mut got = 0;
        while let Some(x) = stream.recv().await? {
            assert_eq!(x, got);
            got += 1;
        }
        let sent = ctx.result().await?;
        assert_eq!(sent, N, "the callee says it sent them all");
        assert_eq!(got, sent, "all of them arrived, none refused");
        p.cancel_actor().await?;
        Ok(())
    })
    .await
}

#[tractor::test(timeout = 30)]
async fn a_wrong_typed_message_is_a_msg_type_error_for_its_sender() -> Result<(), Error> {
    tractor::open_nursery(|n| async move {
        let p = n
            .start_actor("strict", &[numbers_only::NS, ping::NS])
            .await?;
        // A wrongly typed item does not compile on a typed context (see
        // the doctests on `tractor::context`); a peer that does not know
        // the types (the untyped opener here, or a Python actor) is told
        // at run time.
        let (ctx, _) = p
            .open_context_from_ns(numbers_only::NS, "numbers_only", vec![], Default::default())
            .await?;
        let stream = ctx.open_stream();
        stream.send(&"not a number".into()).await?;
        let e = ctx.result().await.unwrap_err();
        let r = e.as_remote().unwrap_or_else(|| panic!("{e}"));
        assert_eq!(r.boxed_type(), "MsgTypeError");
        assert_eq!(e.kind(), tractor::ErrorKind::MsgTypeError);
        assert!(r.message().contains("expected u32"), "{}", r.message());
        let bad = r
            .msg()
            .bad_msg
            .as_deref()
            .expect("the offending message comes back");
        assert_eq!(bad.msg_type(), "Yield");
        // Neither side crashed.
        assert_eq!(
            p.run_from_ns(ping::NS, "ping", vec![]).await?,
            "pong".into()
        );
        p.cancel_actor().await?;
        Ok(())
    })
    .await
}

#[tractor::test(timeout = 60)]
async fn a_full_stream_does_not_hold_up_other_calls_on_its_connection() -> Result<(), Error> {
    const CAP: usize = 16;
    tractor::open_nursery(|n| async move {
        let p = n
            .start_actor("burst", &[burst_then_mark::NS, after_the_burst::NS])
            .await?;
        let opts = ContextOptions {
            buffer: CAP,
            ..Default::default()
        };
        // One item more than the buffer holds, and we do not read yet.
        let (ctx, ()) = p
            .open_context_with(
                burst_then_mark {
                    count: CAP as u64 + 1,
                },
                opts,
            )
            .await?;
        let mut stream = ctx.open_stream();
        // A call on the same connection whose reply comes behind the
        // items: it answers without waiting for the stream's reader (a
        // stalled connection would hold it for OVERRUN_STALL, then refuse
        // the item the buffer had no room for).
        assert!(p.run(after_the_burst {}).await?, "the burst was sent");
        // Nothing was refused: the reader, slow but not stalled for
        // OVERRUN_STALL, gets every item.
        let mut got = 0u64;
        while let Some(x) = stream.recv().await? {
            assert_eq!(x, got);
            got += 1;
        }
        assert_eq!(got, CAP as u64 + 1);
        assert_eq!(ctx.result().await?, CAP as u64 + 1);
        p.cancel_actor().await?;
        Ok(())
    })
    .await
}
