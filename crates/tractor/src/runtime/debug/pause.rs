//! `tractor::pause!()`: the crash card and the terminal lock at a point
//! the programmer chose; the task continues on `c`.

use super::card::Crash;
use super::hold::hold;

/// Pauses the calling actor's task (see [`crate::pause!`]). `at` is the
/// source location. Outside an actor it prints a line and returns.
pub async fn pause(at: &str) {
    let Some(actor) = crate::runtime::actor::current_actor() else {
        crate::runtime::debug::say!("tractor::pause!() at {at}: not in an actor; not pausing");
        return;
    };
    let crash = Crash {
        task: format!("pause!() at {at}"),
        error_type: String::new(),
        message: format!("tractor::pause!() at {at}"),
        traceback: String::new(),
        relayed_from: Vec::new(),
    };
    hold(&actor, crash).await;
}

/// Pauses here (in an async function of an actor): takes the tree's
/// terminal lock, prints the card (actor, pid, thread, task tree, how to
/// attach a debugger) and waits for `c` (continue), `q` (quit the tree) or
/// `t` (task tree again). The tree's lock is served by a root in debug
/// mode; elsewhere the card is shown without it.
///
/// ```no_run
/// async fn work() {
///     tractor::pause!();
/// }
/// ```
#[macro_export]
macro_rules! pause {
    () => {
        $crate::runtime::debug::pause::pause(::core::concat!(::core::file!(), ":", ::core::line!()))
            .await
    };
}
