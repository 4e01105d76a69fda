//! Cancel scopes: how a cancel request reaches the code that must react.
//!
//! Every RPC task, and the root's body, runs inside a [`CancelScope`]
//! (a task-local). A nursery opened inside it watches the scope's token and
//! tears its children down gracefully when it fires. While a nursery is
//! open the scope is *graceful*: on cancel the runtime keeps polling the
//! task so the nursery can finish that teardown, instead of dropping it on
//! the spot (which could only hard-kill the children).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio_util::sync::CancellationToken;

use crate::msg::Uid;

/// A cancellation token plus who cancelled it and whether graceful
/// teardown is in progress.
#[derive(Clone, Debug, Default)]
pub struct CancelScope {
    token: CancellationToken,
    /// One allocation for both: a scope is made for every served call.
    state: Arc<ScopeState>,
}

#[derive(Debug, Default)]
struct ScopeState {
    graceful: AtomicUsize,
    canceller: std::sync::Mutex<Option<Uid>>,
}

tokio::task_local! {
    static SCOPE: CancelScope;
}

impl CancelScope {
    /// A new root scope.
    pub fn new() -> Self {
        Self::default()
    }

    /// A scope cancelled whenever `parent` is.
    pub fn child_of(token: &CancellationToken) -> Self {
        CancelScope {
            token: token.child_token(),
            state: Arc::default(),
        }
    }

    /// The scope of the current task, if it runs in one.
    pub fn current() -> Option<CancelScope> {
        SCOPE.try_with(Clone::clone).ok()
    }

    /// Runs `fut` with this scope as the current one.
    pub async fn scope<F: std::future::Future>(self, fut: F) -> F::Output {
        SCOPE.scope(self, fut).await
    }

    /// The token.
    pub fn token(&self) -> &CancellationToken {
        &self.token
    }

    /// Cancels the scope, recording who asked.
    pub fn cancel(&self, by: Option<Uid>) {
        if let Ok(mut c) = self.state.canceller.lock()
            && c.is_none()
        {
            *c = by;
        }
        self.token.cancel();
    }

    /// Who cancelled the scope, if anyone said.
    pub fn canceller(&self) -> Option<Uid> {
        self.state.canceller.lock().ok().and_then(|c| c.clone())
    }

    /// True once cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Marks graceful teardown work (a nursery) as active until the guard
    /// is dropped.
    pub fn graceful_guard(&self) -> GracefulGuard {
        self.state.graceful.fetch_add(1, Ordering::SeqCst);
        GracefulGuard(self.state.clone())
    }

    /// True while some nursery in the scope is open.
    pub fn is_graceful(&self) -> bool {
        self.state.graceful.load(Ordering::SeqCst) > 0
    }
}

/// Keeps a scope graceful while alive.
#[derive(Debug)]
pub struct GracefulGuard(Arc<ScopeState>);

impl Drop for GracefulGuard {
    fn drop(&mut self) {
        self.0.graceful.fetch_sub(1, Ordering::SeqCst);
    }
}
