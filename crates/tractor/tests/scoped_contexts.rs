//! `Portal::with_context`: a context scoped like a nursery. Its exit
//! always surfaces the callee's error (even when the body never asked for
//! the result), and a body error cancels the callee.

mod common;

use common::{NotifyOnDrop, wait_cancelled};
use tractor::{Callee, Context, Error, ErrorKind};

#[tractor::context]
async fn greeter(ctx: Context<Callee<String>>, name: String) -> Result<String, Error> {
    ctx.started(&format!("hello {name}")).await?;
    Ok(format!("goodbye {name}"))
}

/// Fails after `started`.
#[tractor::context]
async fn breaks(ctx: Context<Callee<()>>) -> Result<(), std::io::Error> {
    ctx.started(&()).await.map_err(std::io::Error::other)?;
    Err(std::io::Error::other("callee broke after started"))
}

/// Runs until cancelled.
#[tractor::context]
async fn forever(ctx: Context<Callee<()>>) -> Result<(), Error> {
    let _guard = NotifyOnDrop;
    ctx.started(&()).await?;
    std::future::pending::<()>().await;
    Ok(())
}

#[tractor::test(timeout = 30)]
async fn the_body_value_and_the_callee_result_come_back() -> Result<(), Error> {
    tractor::open_nursery(|n| async move {
        let p = n.start_actor("greeter", &[greeter::NS]).await?;
        let (seen, bye) = p
            .with_context(
                greeter { name: "ann".into() },
                |_ctx, hello: String| async move { Ok(hello) },
            )
            .await?;
        assert_eq!((seen.as_str(), bye.as_str()), ("hello ann", "goodbye ann"));
        p.cancel_actor().await?;
        Ok(())
    })
    .await
}

#[tractor::test(timeout = 30)]
async fn a_callee_error_surfaces_though_the_body_ignored_it() -> Result<(), Error> {
    tractor::open_nursery(|n| async move {
        let p = n.start_actor("breaks", &[breaks::NS]).await?;
        let e = p
            .with_context(breaks {}, |_ctx, (): ()| async move { Ok(()) })
            .await
            .expect_err("the callee failed");
        assert_eq!(e.kind(), ErrorKind::Application, "{e}");
        assert!(e.to_string().contains("callee broke after started"), "{e}");
        p.cancel_actor().await?;
        Ok(())
    })
    .await
}

#[tractor::test(timeout = 30)]
async fn a_body_error_cancels_the_callee_and_is_returned() -> Result<(), Error> {
    tractor::open_nursery(|n| async move {
        let p = n
            .start_actor("forever", &[forever::NS, wait_cancelled::NS])
            .await?;
        let e = p
            .with_context(forever {}, |_ctx, (): ()| async move {
                Err::<(), _>(Error::Config("the body gave up".into()))
            })
            .await
            .expect_err("the body failed");
        assert!(e.to_string().contains("the body gave up"), "{e}");
        assert!(p.run(wait_cancelled {}).await?, "the callee was cancelled");
        p.cancel_actor().await?;
        Ok(())
    })
    .await
}
