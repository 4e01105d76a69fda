//! Contexts: `started`, result, errors, and cancellation from every side,
//! with the canceller named correctly in every actor involved.

mod common;

use std::time::Duration;

use common::{NotifyOnDrop, wait_cancelled};
use tractor::{Callee, CancelCause, Context, Error};

#[tractor::context]
async fn greeter(ctx: Context<Callee<String>>, name: String) -> Result<String, Error> {
    ctx.started(&format!("hello {name}")).await?;
    Ok(format!("goodbye {name}"))
}

#[tractor::context]
async fn failing(ctx: Context<Callee<()>>) -> Result<(), std::io::Error> {
    ctx.started(&()).await.map_err(std::io::Error::other)?;
    Err(std::io::Error::other("callee broke"))
}

/// Never calls `started` until cancelled.
#[tractor::context]
async fn slow_start(ctx: Context<Callee<()>>) -> Result<(), Error> {
    let _guard = NotifyOnDrop;
    std::future::pending::<()>().await;
    ctx.started(&()).await
}

/// Streams forever until cancelled.
#[tractor::context]
async fn ticker(ctx: Context<Callee<(), u64>>) -> Result<(), Error> {
    let _guard = NotifyOnDrop;
    ctx.started(&()).await?;
    let stream = ctx.open_stream();
    for i in 0.. {
        stream.send(&i).await?;
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Ok(())
}

/// Cancels itself after `started`.
#[tractor::context]
async fn quitter(ctx: Context<Callee<()>>) -> Result<(), Error> {
    ctx.started(&()).await?;
    ctx.cancel().await?;
    std::future::pending::<()>().await;
    Ok(())
}

/// Run in a third actor: cancels the actor named `target`.
#[tractor::rpc]
async fn cancel_actor_named(target: String) -> Result<bool, Error> {
    let p = tractor::find_actor(&target)
        .await?
        .ok_or_else(|| Error::Discovery(format!("no actor {target}")))?;
    p.cancel_actor().await
}

#[tractor::test(timeout = 30)]
async fn started_value_and_result() -> Result<(), Error> {
    tractor::open_nursery(|n| async move {
        let p = n.start_actor("greeter", &[greeter::NS]).await?;
        let (ctx, first): (_, String) = p.open_context(greeter { name: "ada".into() }).await?;
        assert_eq!(first, "hello ada");
        assert_eq!(ctx.result().await?, "goodbye ada");
        assert_eq!(ctx.cancel_cause(), None);
        p.cancel_actor().await?;
        Ok(())
    })
    .await
}

#[tractor::test(timeout = 30)]
async fn an_error_in_the_callee_arrives_as_a_remote_error() -> Result<(), Error> {
    tractor::open_nursery(|n| async move {
        let p = n.start_actor("failing", &[failing::NS]).await?;
        let (ctx, ()) = p.open_context(failing {}).await?;
        let e = ctx.result().await.unwrap_err();
        let r = e.as_remote().unwrap_or_else(|| panic!("{e}"));
        assert_eq!(r.message(), "callee broke");
        assert_eq!(r.src_uid().name, "failing");
        p.cancel_actor().await?;
        Ok(())
    })
    .await
}

#[tractor::test(timeout = 30)]
async fn leaving_open_context_before_started_cancels_the_callee() -> Result<(), Error> {
    tractor::open_nursery(|n| async move {
        let p = n
            .start_actor("slow", &[slow_start::NS, wait_cancelled::NS])
            .await?;
        let opening = p.open_context(slow_start {});
        // The opener gives up while waiting for `started`.
        let gave_up = tokio::time::timeout(Duration::from_millis(200), opening).await;
        assert!(gave_up.is_err());
        assert!(
            p.run(wait_cancelled {}).await?,
            "the callee task was cancelled"
        );
        p.cancel_actor().await?;
        Ok(())
    })
    .await
}

#[tractor::test(timeout = 30)]
async fn opener_cancel_during_streaming_is_self_cancelled() -> Result<(), Error> {
    tractor::open_nursery(|n| async move {
        let p = n
            .start_actor("ticker", &[ticker::NS, wait_cancelled::NS])
            .await?;
        let (ctx, ()) = p.open_context(ticker {}).await?;
        let mut stream = ctx.open_stream();
        assert_eq!(stream.recv().await?, Some(0));
        assert_eq!(stream.recv().await?, Some(1));
        assert!(ctx.cancel().await?, "the callee acknowledged");
        let e = ctx.result().await.unwrap_err();
        assert_eq!(
            e.as_remote().map(|r| r.boxed_type()),
            Some("ContextCancelled")
        );
        assert_eq!(ctx.cancel_cause(), Some(CancelCause::SelfCancelled));
        // Cancelling after the end is harmless: nothing left to cancel.
        assert!(!ctx.cancel().await?);
        p.cancel_actor().await?;
        Ok(())
    })
    .await
}

#[tractor::test(timeout = 30)]
async fn dropping_the_context_early_cancels_the_callee() -> Result<(), Error> {
    tractor::open_nursery(|n| async move {
        let p = n
            .start_actor("ticker", &[ticker::NS, wait_cancelled::NS])
            .await?;
        {
            let (ctx, ()) = p.open_context(ticker {}).await?;
            let mut stream = ctx.open_stream();
            assert_eq!(stream.recv().await?, Some(0));
            // `ctx` and `stream` go out of scope without a result.
        }
        assert!(
            p.run(wait_cancelled {}).await?,
            "the callee task was cancelled"
        );
        p.cancel_actor().await?;
        Ok(())
    })
    .await
}

#[tractor::test(timeout = 30)]
async fn the_callee_cancelling_itself_is_cancelled_by_peer() -> Result<(), Error> {
    tractor::open_nursery(|n| async move {
        let p = n.start_actor("quitter", &[quitter::NS]).await?;
        let (ctx, ()) = p.open_context(quitter {}).await?;
        let e = ctx.result().await.unwrap_err();
        assert_eq!(
            e.as_remote().map(|r| r.boxed_type()),
            Some("ContextCancelled")
        );
        assert_eq!(ctx.cancel_cause(), Some(CancelCause::ByPeer(p.uid())));
        p.cancel_actor().await?;
        Ok(())
    })
    .await
}

#[tractor::test(timeout = 30)]
async fn a_third_actor_cancelling_the_callee_is_named() -> Result<(), Error> {
    tractor::open_nursery(|n| async move {
        let target = n.start_actor("target", &[ticker::NS]).await?;
        let killer = n.start_actor("killer", &[cancel_actor_named::NS]).await?;
        let (ctx, ()) = target.open_context(ticker {}).await?;
        let mut stream = ctx.open_stream();
        assert_eq!(stream.recv().await?, Some(0));
        assert!(
            killer
                .run(cancel_actor_named {
                    target: "target".into()
                })
                .await?
        );
        let e = ctx.result().await.unwrap_err();
        let r = e.as_remote().unwrap_or_else(|| panic!("{e}"));
        assert_eq!(r.boxed_type(), "ContextCancelled");
        assert_eq!(r.canceller().map(|u| u.name.as_str()), Some("killer"));
        assert_eq!(ctx.cancel_cause(), Some(CancelCause::ByOther(killer.uid())));
        killer.cancel_actor().await?;
        Ok(())
    })
    .await
}
