//! `tractor certs init CA_DIR`: a cluster CA for mutual TLS.

use std::path::Path;

use super::Failure;

pub fn run(dir: &Path) -> Result<(), Failure> {
    let ca = tractor::ipc::tls::certs::init_ca(dir)?;
    println!("cluster CA written: {}", ca.display());
    println!(
        "next, per host: tractor certs issue --name HOST {}",
        dir.display()
    );
    Ok(())
}
