//! `tractor registrar`: a root actor that is only a registrar.

use tractor::ipc::Addr;
use tractor::{RootConfig, RuntimeVars};

use super::{Ended, Failure};
use crate::interrupt::FirstSignal;

/// Serves until interrupted: a signal ends it with [`Ended::BySignal`]; a
/// remote `self.cancel` with [`Ended::Done`].
pub async fn run(addr: Addr, mut rv: RuntimeVars) -> Result<Ended, Failure> {
    let first_signal = FirstSignal::listen();
    // A long-running server: its warnings (a refused TLS peer...) show.
    tractor::devx::logging::init(&rv.loglevel);
    rv.transport = addr.proto();
    rv.registry_addrs = vec![addr.clone()];
    let root = tractor::open_root_actor(RootConfig::named("registrar").with_vars(rv)).await?;
    if !root.actor().is_registrar() {
        root.shutdown().await;
        return Err(Failure::Error(format!(
            "a registrar already serves {addr}; not starting another"
        )));
    }
    println!("registrar listening on {addr}; Ctrl-C to stop");
    let out = root
        .run(async {
            std::future::pending::<()>().await;
            Ok::<(), tractor::Error>(())
        })
        .await;
    let canceller = root.actor().scope().canceller();
    root.shutdown().await;
    match out {
        Err(tractor::Error::Cancelled(_)) => {
            println!("registrar stopped");
            // The root cancels itself with no canceller only on a signal;
            // a remote `self.cancel` names the peer.
            if canceller.is_none()
                && let Some(sig) = first_signal.wait().await
            {
                return Ok(Ended::BySignal(sig));
            }
            Ok(Ended::Done)
        }
        Err(e) => Err(e.into()),
        Ok(()) => Ok(Ended::Done),
    }
}
