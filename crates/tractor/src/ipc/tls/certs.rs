//! Making a cluster CA and node certificates (`tractor certs`), with rcgen.
//!
//! Layout: `init` writes `CA_DIR/ca.pem` and `CA_DIR/ca.key`; `issue`
//! writes a ready TLS folder `CA_DIR/<first name>/` holding `ca.pem`,
//! `node.pem` and `node.key`, to copy to that host and point
//! `TRACTOR_TLS_DIR` at. Every node certificate is good for both ends of
//! a connection (server and client authentication), since actors dial and
//! accept alike. Keys are ECDSA P-256, written owner-only.

use std::io::Write;
use std::net::IpAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, SanType,
};

use super::{CA_FILE, CERT_FILE, KEY_FILE};

/// The CA's private key in a CA folder (never copied to nodes).
pub const CA_KEY_FILE: &str = "ca.key";

/// Making certificates failed.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// A file could not be read or written.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `init` on a folder that already holds a CA.
    #[error(
        "{} already holds a CA ({key}); refusing to replace it (every node certificate it signed would stop working): remove it first or pick another folder",
        .0.display(),
        key = CA_KEY_FILE
    )]
    CaExists(PathBuf),
    /// `issue` on a folder without a CA.
    #[error(
        "{dir} holds no CA ({CA_FILE} and {CA_KEY_FILE}): create one with `tractor certs init {dir}`",
        dir = .0.display(),
        CA_FILE = CA_FILE,
        CA_KEY_FILE = CA_KEY_FILE
    )]
    NoCa(PathBuf),
    /// A name that is neither an IP address nor a DNS name.
    #[error("{name:?} is not a host name or IP address for a certificate: {reason}")]
    BadName {
        /// The name given.
        name: String,
        /// Why.
        reason: String,
    },
    /// rcgen refused.
    #[error("{what}: {source}")]
    Rcgen {
        /// What we were doing.
        what: &'static str,
        /// Why.
        #[source]
        source: rcgen::Error,
    },
}

fn rc(what: &'static str) -> impl FnOnce(rcgen::Error) -> CertError {
    move |source| CertError::Rcgen { what, source }
}

fn write_file(path: &Path, contents: &str, mode: u32) -> Result<(), CertError> {
    let io = |source| CertError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .map_err(io)?;
    f.write_all(contents.as_bytes()).map_err(io)
}

fn read_file(path: &Path) -> Result<String, CertError> {
    std::fs::read_to_string(path).map_err(|source| CertError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn mkdir(dir: &Path) -> Result<(), CertError> {
    std::fs::create_dir_all(dir).map_err(|source| CertError::Io {
        path: dir.to_path_buf(),
        source,
    })
}

/// Creates a cluster CA in `dir` (created if missing); refuses to replace
/// one. Returns the CA certificate's path.
pub fn init_ca(dir: &Path) -> Result<PathBuf, CertError> {
    if dir.join(CA_KEY_FILE).exists() {
        return Err(CertError::CaExists(dir.to_path_buf()));
    }
    mkdir(dir)?;
    let key = KeyPair::generate().map_err(rc("generating the CA key"))?;
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(rc("CA parameters"))?;
    // A name of its own, so two clusters' CAs never look alike to a
    // verifier that matches issuers by name.
    let tag = &uuid::Uuid::new_v4().simple().to_string()[..12];
    params
        .distinguished_name
        .push(DnType::CommonName, format!("tractor cluster CA {tag}"));
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let cert = params.self_signed(&key).map_err(rc("signing the CA"))?;
    write_file(&dir.join(CA_KEY_FILE), &key.serialize_pem(), 0o600)?;
    let ca = dir.join(CA_FILE);
    write_file(&ca, &cert.pem(), 0o644)?;
    Ok(ca)
}

/// A subject alternative name: an IP address if `name` parses as one,
/// else a DNS name.
fn san(name: &str) -> Result<SanType, CertError> {
    if let Ok(ip) = name.parse::<IpAddr>() {
        return Ok(SanType::IpAddress(ip));
    }
    let bad = |reason: String| CertError::BadName {
        name: name.to_owned(),
        reason,
    };
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if name.is_empty() || !ok_chars || name.starts_with('.') || name.ends_with('.') {
        return Err(bad(
            "expected an IP address or a DNS name of letters, digits, '-' and '.'".into(),
        ));
    }
    Ok(SanType::DnsName(
        name.try_into()
            .map_err(|e: rcgen::Error| bad(e.to_string()))?,
    ))
}

/// Issues a node certificate for `names` (IP addresses or DNS names; the
/// first also names the output folder) signed by the CA in `ca_dir`, into
/// `out` (default `ca_dir/<first name>`). Returns the folder written.
pub fn issue_node(
    ca_dir: &Path,
    names: &[String],
    out: Option<&Path>,
) -> Result<PathBuf, CertError> {
    let Some(first) = names.first() else {
        return Err(CertError::BadName {
            name: String::new(),
            reason: "at least one --name is needed".into(),
        });
    };
    let sans = names
        .iter()
        .map(|n| san(n))
        .collect::<Result<Vec<_>, _>>()?;
    if !ca_dir.join(CA_FILE).exists() || !ca_dir.join(CA_KEY_FILE).exists() {
        return Err(CertError::NoCa(ca_dir.to_path_buf()));
    }
    let ca_pem = read_file(&ca_dir.join(CA_FILE))?;
    let ca_key = KeyPair::from_pem(&read_file(&ca_dir.join(CA_KEY_FILE))?)
        .map_err(rc("reading the CA key"))?;
    let ca = CertificateParams::from_ca_cert_pem(&ca_pem)
        .map_err(rc("reading the CA certificate"))?
        .self_signed(&ca_key)
        .map_err(rc("loading the CA"))?;
    let key = KeyPair::generate().map_err(rc("generating the node key"))?;
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(rc("node parameters"))?;
    params.subject_alt_names = sans;
    params
        .distinguished_name
        .push(DnType::CommonName, first.as_str());
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    params.use_authority_key_identifier_extension = true;
    let cert = params
        .signed_by(&key, &ca, &ca_key)
        .map_err(rc("signing the node certificate"))?;
    let out = out
        .map(Path::to_path_buf)
        .unwrap_or_else(|| ca_dir.join(first));
    mkdir(&out)?;
    // Absolute, for the TRACTOR_TLS_DIR a person copies from the message.
    let out = std::fs::canonicalize(&out).unwrap_or(out);
    write_file(&out.join(CA_FILE), &ca_pem, 0o644)?;
    write_file(&out.join(CERT_FILE), &cert.pem(), 0o644)?;
    write_file(&out.join(KEY_FILE), &key.serialize_pem(), 0o600)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_init_is_refused_and_issue_needs_a_ca() {
        let tmp = tempfile::tempdir().unwrap();
        init_ca(tmp.path()).unwrap();
        let e = init_ca(tmp.path()).unwrap_err().to_string();
        assert!(e.contains("already holds a CA"), "{e}");
        let empty = tempfile::tempdir().unwrap();
        let e = issue_node(empty.path(), &["10.0.0.1".into()], None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("tractor certs init"), "{e}");
    }

    #[test]
    fn issued_folders_load_and_bad_names_are_named() {
        let tmp = tempfile::tempdir().unwrap();
        init_ca(tmp.path()).unwrap();
        let out = issue_node(
            tmp.path(),
            &["10.0.0.1".into(), "node-a.example".into()],
            None,
        )
        .unwrap();
        assert_eq!(out, tmp.path().canonicalize().unwrap().join("10.0.0.1"));
        super::super::TlsConfig::read(&out).expect("the folder loads into rustls");
        let e = issue_node(tmp.path(), &["no such/host".into()], None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a host name or IP address"), "{e}");
    }
}
