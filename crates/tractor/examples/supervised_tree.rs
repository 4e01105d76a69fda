//! A supervision tree: the root supervises three workers one-for-one,
//! each permanent. It prints the registrar's address and every (re)start
//! with the worker's pid, and runs until Ctrl-C.
//!
//! ```text
//! cargo run -p tractor --example supervised_tree
//! kill -9 <a worker's pid>   # it comes back under the same name, new pid
//! ```
//!
//! The other workers keep their pids; more than 3 restarts within 5 s
//! exhausts the budget and the supervisor gives up (the program exits
//! with the escalated error). Ctrl-C cancels everything.

use tokio::sync::broadcast::error::RecvError;
use tractor::supervision::{ChildSpec, Strategy, SupervisorEvent, SupervisorSpec};

/// What a worker answers.
#[tractor::rpc]
async fn whoami() -> String {
    let me = tractor::current_actor().expect("in an actor");
    format!("{} (pid {})", me.name(), std::process::id())
}

#[tractor::main(name = "root")]
async fn main() -> Result<(), tractor::Error> {
    const WORKERS: usize = 3;
    tractor::supervise(SupervisorSpec::new(Strategy::OneForOne), |sup| async move {
        let mut events = sup.subscribe();
        let me = tractor::current_actor().expect("in the root actor");
        let addr = me
            .accept_addrs()
            .first()
            .map(ToString::to_string)
            .unwrap_or_default();
        println!("root (pid {}) registrar at {addr}", std::process::id());
        for i in 0..WORKERS {
            sup.start_child(ChildSpec::new(&format!("worker-{i}"), &[whoami::NS]))
                .await?;
        }
        let mut first_starts = 0;
        loop {
            let ev = match events.recv().await {
                Ok(ev) => ev,
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => break,
            };
            match ev {
                SupervisorEvent::Started {
                    child,
                    pid,
                    restarts: 0,
                    ..
                } => {
                    println!("started {child} pid {}", pid.unwrap_or(0));
                    first_starts += 1;
                    if first_starts == WORKERS {
                        println!(
                            "supervising {WORKERS} workers; kill -9 one, or press Ctrl-C to stop"
                        );
                    }
                }
                SupervisorEvent::Started {
                    child,
                    pid,
                    restarts,
                    ..
                } => {
                    // Ask the new instance who it is: it answers at once.
                    let answer = match sup.portal(&child) {
                        Some(p) => p.run(whoami {}).await?,
                        None => String::from("?"),
                    };
                    println!(
                        "restarted {child} pid {} (restart {restarts}): {answer}",
                        pid.unwrap_or(0)
                    );
                }
                SupervisorEvent::Exited {
                    child, pid, reason, ..
                } => {
                    println!("{child} pid {} {reason}", pid.unwrap_or(0));
                }
                _ => {}
            }
        }
        Ok(())
    })
    .await
}
