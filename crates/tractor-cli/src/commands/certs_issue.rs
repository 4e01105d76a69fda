//! `tractor certs issue --name HOST CA_DIR`: a node certificate signed by
//! the cluster CA, as a TLS folder for `TRACTOR_TLS_DIR`.

use std::path::Path;

use super::Failure;

pub fn run(dir: &Path, names: &[String], out: Option<&Path>) -> Result<(), Failure> {
    let folder = tractor::ipc::tls::certs::issue_node(dir, names, out)?;
    println!(
        "node certificate for {} written: {}",
        names.join(", "),
        folder.display()
    );
    println!(
        "copy that folder to the host and set TRACTOR_TLS_DIR={}",
        folder.display()
    );
    Ok(())
}
