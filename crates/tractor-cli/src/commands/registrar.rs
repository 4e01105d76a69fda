//! `tractor registrar`: a root actor that is only a registrar.

use tractor::ipc::Addr;
use tractor::{RootConfig, RuntimeVars};

use super::Failure;

pub async fn run(addr: Addr, mut rv: RuntimeVars) -> Result<(), Failure> {
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
    root.shutdown().await;
    match out {
        Err(tractor::Error::Cancelled(_)) => {
            println!("registrar stopped");
            Ok(())
        }
        Err(e) => Err(e.into()),
        Ok(()) => Ok(()),
    }
}
