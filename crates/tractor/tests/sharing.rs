//! Fan-out and sharing: one stream to many local tasks, one context shared
//! by many local tasks, one call on many actors.

mod common;

use common::{NotifyOnDrop, wait_cancelled};
use tractor::trionics::{BroadcastReceiver, maybe_open_context, run_on_all};
use tractor::{Callee, Context, Error};

#[tractor::context]
async fn count_to(ctx: Context<Callee<(), u64>>, n: u64) -> Result<(), Error> {
    ctx.started(&()).await?;
    let stream = ctx.open_stream();
    for i in 0..n {
        stream.send(&i).await?;
    }
    Ok(())
}

/// Serves a feed until cancelled.
#[tractor::context]
async fn feed(ctx: Context<Callee<String>>, topic: String) -> Result<(), Error> {
    let _guard = NotifyOnDrop;
    ctx.started(&format!("subscribed to {topic}")).await?;
    std::future::pending::<()>().await;
    Ok(())
}

#[tractor::rpc]
async fn whoami(caller: tractor::Caller) -> String {
    caller.actor().name().to_owned()
}

async fn collect(mut rx: BroadcastReceiver<u64>) -> Result<Vec<u64>, Error> {
    let mut got = Vec::new();
    while let Some(x) = rx.recv().await? {
        got.push(x);
    }
    Ok(got)
}

#[tractor::test(timeout = 30)]
async fn every_subscriber_sees_every_item() -> Result<(), Error> {
    tractor::open_nursery(|n| async move {
        let p = n.start_actor("counter", &[count_to::NS]).await?;
        let (ctx, ()) = p.open_context(count_to { n: 100 }).await?;
        let rx = ctx.open_stream().broadcast(256);
        let (a, b, c) = tokio::join!(
            collect(rx.subscribe()),
            collect(rx.subscribe()),
            collect(rx)
        );
        let want: Vec<u64> = (0..100).collect();
        assert_eq!(a?, want);
        assert_eq!(b?, want);
        assert_eq!(c?, want);
        ctx.result().await?;
        p.cancel_actor().await?;
        Ok(())
    })
    .await
}

#[tractor::test(timeout = 30)]
async fn local_tasks_share_one_context_torn_down_with_the_last_user() -> Result<(), Error> {
    tractor::open_nursery(|n| async move {
        let p = n
            .start_actor("feeder", &[feed::NS, wait_cancelled::NS])
            .await?;
        let call = || feed {
            topic: "prices".into(),
        };
        let (a, b) = tokio::join!(
            maybe_open_context(&p, call()),
            maybe_open_context(&p, call())
        );
        let (a, b) = (a?, b?);
        assert_ne!(a.cache_hit, b.cache_hit, "exactly one task opened it");
        assert_eq!(a.context().cid(), b.context().cid(), "one remote context");
        assert_eq!(a.first(), "subscribed to prices");
        assert_eq!(a.users(), 2);
        drop(a);
        assert_eq!(b.users(), 1, "still alive for the other user");
        drop(b);
        assert!(
            p.run(wait_cancelled {}).await?,
            "the last user's drop cancelled it"
        );
        p.cancel_actor().await?;
        Ok(())
    })
    .await
}

#[tractor::test(timeout = 30)]
async fn one_call_on_many_actors() -> Result<(), Error> {
    tractor::open_nursery(|n| async move {
        let mut portals = Vec::new();
        for i in 0..3 {
            portals.push(n.start_actor(&format!("w{i}"), &[whoami::NS]).await?);
        }
        let names: Result<Vec<String>, Error> =
            run_on_all(&portals, whoami {}).await.into_iter().collect();
        assert_eq!(names?, ["w0", "w1", "w2"]);
        n.cancel().await;
        Ok(())
    })
    .await
}
