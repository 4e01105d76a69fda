//! Supervision: OTP restart strategies on top of a nursery, with
//! escalation.
//!
//! [`supervise`] opens a nursery whose children are *supervised*: when
//! one ends, the supervisor decides, from the child's [`Restart`] type
//! and its own [`Strategy`], whether to start it (and which siblings)
//! again, instead of cancelling everything as a plain
//! [`crate::open_nursery`] does. Restarts are limited by an intensity
//! budget (at most `intensity` in `period`, 3 in 5 s by default, as OTP);
//! one more and the supervisor stops its children gracefully and returns
//! one [`Error::Escalated`] to its parent, naming the child and its
//! restart history. Every start, exit, restart and escalation is a
//! `tracing` event and a [`SupervisorEvent`] (see
//! [`Supervisor::subscribe`]).
//!
//! Guarantees:
//!
//! * a restarted child keeps its name, is started by the same spawn
//!   backend with the same namespaces enabled, and registers anew (a
//!   killed instance is removed from the registrar by the supervisor);
//! * one child never has two instances: the old one is stopped (or found
//!   dead) and reaped before the new one is spawned;
//! * a portal of an instance that is gone fails every call with
//!   [`Error::PeerGone`] naming the actor; [`Supervisor::portal`] and
//!   [`crate::wait_for_actor`] give the current one.
//!
//! The module is one idea per file: [`strategy`] (what to restart),
//! [`budget`] (how often, how soon), [`events`] (what is reported) and
//! the supervisor loop itself.

pub mod budget;
pub mod events;
pub mod strategy;
mod supervisor;

use std::future::Future;

pub use budget::{Backoff, Escalation, RestartBudget, RestartRecord};
pub use events::{ExitReason, SupervisorEvent};
pub use strategy::{ChildSpec, Restart, Strategy, SupervisorSpec};
pub use supervisor::Supervisor;

use crate::errors::Error;

/// Runs `body` with a [`Supervisor`] and supervises the children it
/// starts until the body has returned and no child is left to run, the
/// enclosing scope is cancelled, or the restart budget runs out.
///
/// A child's end is never an error of the supervisor by itself; an error
/// returned by the body cancels the children and is returned, as in a
/// nursery. When the budget runs out the result is one
/// [`Error::Escalated`] (after every child was stopped).
///
/// ```no_run
/// use tractor::supervision::{ChildSpec, Strategy, SupervisorSpec};
///
/// mod work {
///     /// What each worker serves.
///     #[tractor::rpc]
///     pub async fn ping() -> u32 {
///         1
///     }
/// }
///
/// #[tractor::main]
/// async fn main() -> Result<(), tractor::Error> {
///     tractor::supervise(SupervisorSpec::new(Strategy::OneForOne), |sup| async move {
///         for i in 0..3 {
///             let name = format!("worker-{i}");
///             sup.start_child(ChildSpec::new(&name, &[work::ping::NS])).await?;
///         }
///         let mut events = sup.subscribe();
///         while let Ok(ev) = events.recv().await {
///             println!("{ev:?}");
///         }
///         Ok(())
///     })
///     .await
/// }
/// ```
pub async fn supervise<F, Fut, T>(spec: SupervisorSpec, body: F) -> Result<T, Error>
where
    F: FnOnce(Supervisor) -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    crate::nursery::open_nursery(|n| async move {
        let (sup, core) = supervisor::new(n, spec);
        let body = body(sup.clone());
        let run = core.run();
        tokio::pin!(body);
        tokio::pin!(run);
        let mut value = None;
        loop {
            tokio::select! {
                r = &mut body, if value.is_none() => {
                    value = Some(r?);
                    sup.body_done();
                }
                r = &mut run => {
                    r?;
                    // The loop only ends well after the body is done.
                    return value.ok_or_else(|| {
                        Error::Cancelled("the supervisor ended before its body".into())
                    });
                }
            }
        }
    })
    .await
}
