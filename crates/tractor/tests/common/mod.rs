//! Shared by test files: a way to observe, from the test, that a context
//! task in a child actor was cancelled.

#![allow(dead_code)]

use std::sync::OnceLock;
use std::time::Duration;

use tokio::sync::Notify;

/// Notified in the callee's process when one of its context tasks is
/// dropped by a cancellation.
pub fn cancelled() -> &'static Notify {
    static N: OnceLock<Notify> = OnceLock::new();
    N.get_or_init(Notify::new)
}

/// Held by a context task: its drop (on cancellation) notifies.
#[derive(Debug)]
pub struct NotifyOnDrop;

impl Drop for NotifyOnDrop {
    fn drop(&mut self) {
        cancelled().notify_one();
    }
}

/// Resolves once a context task in this actor has been cancelled.
#[tractor::rpc]
pub async fn wait_cancelled() -> bool {
    tokio::time::timeout(Duration::from_secs(20), cancelled().notified())
        .await
        .is_ok()
}
