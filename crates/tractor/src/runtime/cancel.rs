//! Cancel scopes: how a cancel request reaches the code that must react.
//!
//! Every RPC task, and the root's body, runs inside a [`CancelScope`]
//! (a task-local). A nursery opened inside it watches the scope's token and
//! tears its children down gracefully when it fires. While a nursery is
//! open the scope is *graceful*: on cancel the runtime keeps polling the
//! task so the nursery can finish that teardown, instead of dropping it on
//! the spot (which could only hard-kill the children).
//!
//! A child scope makes its token (a node in tokio-util's token tree,
//! linked into its parent's list) only when something asks for it: a
//! served call that answers in its first poll, the usual case, never
//! does, and until then the parent's token says whether it is cancelled.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use tokio_util::sync::CancellationToken;

use crate::msg::Uid;

/// A cancellation token plus who cancelled it and whether graceful
/// teardown is in progress.
#[derive(Clone, Debug, Default)]
pub struct CancelScope {
    /// One allocation for all of it: a scope is made for every served call.
    state: Arc<ScopeState>,
}

#[derive(Debug, Default)]
struct ScopeState {
    /// The enclosing scope's token; `None` for a root scope.
    parent: Option<CancellationToken>,
    /// This scope's token: a root's from the start, a child's made (as a
    /// child of `parent`) on first use.
    token: OnceLock<CancellationToken>,
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
            state: Arc::new(ScopeState {
                parent: Some(token.clone()),
                ..ScopeState::default()
            }),
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

    /// The token: cancelled with the scope, and with its parent's.
    pub fn token(&self) -> &CancellationToken {
        let st = &self.state;
        st.token.get_or_init(|| match &st.parent {
            Some(parent) => parent.child_token(),
            None => CancellationToken::new(),
        })
    }

    /// Cancels the scope, recording who asked.
    pub fn cancel(&self, by: Option<Uid>) {
        if let Ok(mut c) = self.state.canceller.lock()
            && c.is_none()
        {
            *c = by;
        }
        self.token().cancel();
    }

    /// Who cancelled the scope, if anyone said.
    pub fn canceller(&self) -> Option<Uid> {
        self.state.canceller.lock().ok().and_then(|c| c.clone())
    }

    /// True once cancelled.
    pub fn is_cancelled(&self) -> bool {
        match (self.state.token.get(), &self.state.parent) {
            (Some(token), _) => token.is_cancelled(),
            // No token yet: only the parent can have been cancelled.
            (None, Some(parent)) => parent.is_cancelled(),
            (None, None) => false,
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_without_a_token_yet_sees_its_parents_cancel() {
        let parent = CancelScope::new();
        let child = CancelScope::child_of(parent.token());
        assert!(!child.is_cancelled());
        parent.cancel(None);
        assert!(child.is_cancelled(), "read through the parent");
        // Made after the parent's cancel: born cancelled.
        assert!(child.token().is_cancelled());
    }

    #[test]
    fn a_childs_token_made_first_is_cancelled_with_its_parent() {
        let parent = CancelScope::new();
        let child = CancelScope::child_of(parent.token());
        let token = child.token().clone();
        let clone = child.clone();
        parent.cancel(None);
        assert!(token.is_cancelled());
        assert!(clone.is_cancelled(), "a clone shares the token");
    }

    #[test]
    fn cancelling_a_child_leaves_its_parent_and_records_who_asked() {
        let parent = CancelScope::new();
        let child = CancelScope::child_of(parent.token());
        let by = Uid::new("caller", "1234");
        child.cancel(Some(by.clone()));
        assert!(child.is_cancelled());
        assert!(!parent.is_cancelled());
        assert_eq!(child.canceller(), Some(by));
        // A later cancel does not overwrite who asked first.
        child.cancel(Some(Uid::new("other", "5678")));
        assert_eq!(child.canceller().map(|u| u.name), Some("caller".to_owned()));
    }
}
