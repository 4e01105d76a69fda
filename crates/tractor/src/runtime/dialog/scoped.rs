//! [`Portal::with_context`]: a context with the shape of a nursery.
//!
//! [`Portal::open_context`] hands back a [`Context`] tied to no scope: a
//! callee error is only seen by whoever calls `result()`, and an opener
//! that walks away leaves clean-up to `Drop`. `with_context` runs the
//! opener's side as a closure and, on its exit, always settles the
//! callee: after a body that succeeded it waits for the callee's result
//! (its error or cancellation is the call's error); after a body that
//! failed it cancels the callee, waits for the acknowledgement (up to
//! `CANCEL_ACK_TIMEOUT`) and returns the body's error.

use std::future::Future;

use crate::errors::Error;
use crate::runtime::dialog::context::{Context, ContextOptions, Opener, RemoteContextFn};
use crate::runtime::portal::{CANCEL_ACK_TIMEOUT, Portal};

impl Portal {
    /// Opens a context with a `#[tractor::context]` function, runs `body`
    /// with it and the callee's `started` value, and returns the body's
    /// value with the callee's result. The callee's error or cancellation
    /// always surfaces here, whether or not the body looked at it; a body
    /// error cancels the callee first. Prefer this to
    /// [`Portal::open_context`], the lower-level escape hatch.
    ///
    /// The `started` value, the stream and the result are typed as the
    /// function declares them (see [`RemoteContextFn`]):
    ///
    /// ```ignore
    /// let (echoed, count) = portal
    ///     .with_context(echo { greeting: "hi".into() }, |ctx, hello| async move {
    ///         let mut stream = ctx.open_stream(); // MsgStream<String>
    ///         stream.send(&hello).await?;
    ///         let back = stream.recv().await?;
    ///         stream.close().await?;
    ///         Ok(back)
    ///     })
    ///     .await?;
    /// ```
    pub async fn with_context<F, R, B, Fut>(
        &self,
        call: F,
        body: B,
    ) -> Result<(R, F::Output), Error>
    where
        F: RemoteContextFn,
        B: FnOnce(Context<Opener<F>>, F::Started) -> Fut,
        Fut: Future<Output = Result<R, Error>>,
    {
        self.with_context_opts(call, ContextOptions::default(), body)
            .await
    }

    /// [`Portal::with_context`] with options (overrun policy, buffer).
    pub async fn with_context_opts<F, R, B, Fut>(
        &self,
        call: F,
        opts: ContextOptions,
        body: B,
    ) -> Result<(R, F::Output), Error>
    where
        F: RemoteContextFn,
        B: FnOnce(Context<Opener<F>>, F::Started) -> Fut,
        Fut: Future<Output = Result<R, Error>>,
    {
        let (ctx, first) = self.open_context_with(call, opts).await?;
        match body(ctx.clone(), first).await {
            Ok(r) => {
                let out = ctx.result().await?;
                Ok((r, out))
            }
            Err(e) => {
                if let Err(c) = ctx.cancel().await {
                    tracing::debug!(error = %c, "cancelling the callee after a body error");
                }
                // The callee's answer (its ContextCancelled, or an error of
                // its own) settles the dialog; the body's error wins.
                let untyped = ctx.clone().retype::<Opener>();
                match tokio::time::timeout(CANCEL_ACK_TIMEOUT, untyped.result()).await {
                    Ok(Err(callee)) if !callee.is_cancelled() => {
                        tracing::warn!(error = %callee, "the callee also failed after a body error");
                    }
                    _ => {}
                }
                Err(e)
            }
        }
    }
}
