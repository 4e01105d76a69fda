//! Calling a function as the wrong kind is a clear error at once (not a
//! wait forever), and the function started by mistake is cancelled.

mod common;

use std::time::Duration;

use common::{NotifyOnDrop, wait_cancelled};
use tractor::{Error, ErrorKind};

/// A context function that would run until cancelled.
#[tractor::context]
async fn session(ctx: tractor::Context<tractor::Callee<()>>) -> Result<(), Error> {
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

/// A plain function that would run until cancelled.
#[tractor::rpc]
async fn forever() -> Result<(), Error> {
    let _guard = NotifyOnDrop;
    std::future::pending::<()>().await;
    Ok(())
}

/// A plain function that answers at once.
#[tractor::rpc]
async fn add(x: i64, y: i64) -> i64 {
    x + y
}

#[tractor::test(timeout = 30)]
async fn a_plain_function_opened_as_a_context_is_a_functype_error() -> Result<(), Error> {
    tractor::open_nursery(|n| async move {
        let p = n
            .start_actor("plain", &[forever::NS, wait_cancelled::NS])
            .await?;
        let open = p.open_context_from_ns(
            forever::NS,
            "forever",
            vec![],
            tractor::ContextOptions::default(),
        );
        let e = tokio::time::timeout(Duration::from_secs(10), open)
            .await
            .expect("an answer, not a hang")
            .expect_err("a plain function is no context");
        assert_eq!(e.kind(), ErrorKind::FuncTypeMismatch, "{e}");
        assert!(
            e.to_string().contains(
                "forever() is a plain async function, not a context function: call it with Portal::run"
            ),
            "{e}"
        );
        assert!(
            p.run(wait_cancelled {}).await?,
            "the task started by mistake is cancelled"
        );
        p.cancel_actor().await?;
        Ok(())
    })
    .await
}

#[tractor::test(timeout = 30)]
async fn open_stream_from_on_a_rust_function_is_a_functype_error() -> Result<(), Error> {
    tractor::open_nursery(|n| async move {
        let p = n
            .start_actor("kinds", &[session::NS, add::NS, wait_cancelled::NS])
            .await?;
        // A context function: refused at its StartAck, and cancelled.
        let open = p.open_stream_from_ns::<tractor::msg::Value>(session::NS, "session", vec![]);
        let e = tokio::time::timeout(Duration::from_secs(10), open)
            .await
            .expect("an answer, not a hang")
            .expect_err("a context function is no async generator");
        assert_eq!(e.kind(), ErrorKind::FuncTypeMismatch, "{e}");
        assert!(
            e.to_string().contains(
                "session() is a context function, not an async generator (a streaming function): open it with Portal::open_context"
            ),
            "{e}"
        );
        assert!(
            p.run(wait_cancelled {}).await?,
            "the context task started by mistake is cancelled"
        );
        // A plain function.
        let kw = vec![("x".into(), 1.into()), ("y".into(), 2.into())];
        let e = p
            .open_stream_from_ns::<i64>(add::NS, "add", kw)
            .await
            .expect_err("a plain function is no async generator");
        assert_eq!(e.kind(), ErrorKind::FuncTypeMismatch, "{e}");
        assert!(e.to_string().contains("add() is a plain async function"), "{e}");
        assert_eq!(p.run(add { x: 2, y: 3 }).await?, 5, "the actor still answers");
        p.cancel_actor().await?;
        Ok(())
    })
    .await
}
