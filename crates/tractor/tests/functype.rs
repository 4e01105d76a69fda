//! Calling a function as the wrong kind is a clear error at once (not a
//! wait forever), and the function started by mistake is cancelled.

mod common;

use std::time::Duration;

use common::{NotifyOnDrop, wait_cancelled};
use tractor::{Error, ErrorKind};

/// A context function that would run until cancelled.
#[tractor::context]
async fn session(ctx: tractor::Context) -> Result<(), Error> {
    let _guard = NotifyOnDrop;
    ctx.started(&()).await?;
    std::future::pending::<()>().await;
    Ok(())
}

#[tractor::test(timeout = 30)]
async fn a_context_function_called_with_run_is_a_functype_error() -> Result<(), Error> {
    tractor::open_nursery(|n| async move {
        let p = n
            .start_actor("ctx", &[session::NS, wait_cancelled::NS])
            .await?;
        let call = p.run_from_ns(session::NS, "session", vec![]);
        let e = tokio::time::timeout(Duration::from_secs(10), call)
            .await
            .expect("an answer, not a hang")
            .expect_err("a context function cannot be run");
        assert_eq!(e.kind(), ErrorKind::FuncTypeMismatch, "{e}");
        assert!(
            e.to_string().contains("is a context function")
                && e.to_string().contains("Portal::open_context"),
            "{e}"
        );
        assert!(
            p.run(wait_cancelled {}).await?,
            "the context task started by mistake is cancelled"
        );
        p.cancel_actor().await?;
        Ok(())
    })
    .await
}
