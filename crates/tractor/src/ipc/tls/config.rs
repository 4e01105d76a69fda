//! A TLS folder read into rustls configurations for both ends.
//!
//! Both ends verify the other against the folder's CA only (no system
//! roots): the cluster is its own trust domain. Loading is cached per
//! folder, since every dial would otherwise re-read and re-parse the PEMs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};

use super::{CA_FILE, CERT_FILE, KEY_FILE, TlsError};

/// The rustls configurations made from one TLS folder.
#[derive(Debug)]
pub struct TlsConfig {
    /// The folder they were read from.
    pub dir: PathBuf,
    /// For accepted connections: requires a client certificate from the CA.
    pub server: Arc<ServerConfig>,
    /// For dialed connections: presents our certificate, trusts the CA only.
    pub client: Arc<ClientConfig>,
}

static CACHE: Mutex<Option<HashMap<PathBuf, Arc<TlsConfig>>>> = Mutex::new(None);

/// The configurations of `dir`, read on first use.
pub(super) fn load(dir: &Path) -> Result<Arc<TlsConfig>, TlsError> {
    let mut cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    let map = cache.get_or_insert_with(HashMap::new);
    if let Some(c) = map.get(dir) {
        return Ok(c.clone());
    }
    let c = Arc::new(TlsConfig::read(dir)?);
    map.insert(dir.to_path_buf(), c.clone());
    Ok(c)
}

impl TlsConfig {
    /// Reads `dir` (uncached).
    pub fn read(dir: &Path) -> Result<TlsConfig, TlsError> {
        let file_err = |file: &'static str, reason: String| TlsError::File {
            dir: dir.to_path_buf(),
            file,
            reason,
        };
        let certs = |file: &'static str| -> Result<Vec<CertificateDer<'static>>, TlsError> {
            let v = CertificateDer::pem_file_iter(dir.join(file))
                .map_err(|e| file_err(file, e.to_string()))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| file_err(file, e.to_string()))?;
            if v.is_empty() {
                return Err(file_err(file, "it holds no PEM certificate".into()));
            }
            Ok(v)
        };
        let ca = certs(CA_FILE)?;
        let chain = certs(CERT_FILE)?;
        let key = PrivateKeyDer::from_pem_file(dir.join(KEY_FILE))
            .map_err(|e| file_err(KEY_FILE, e.to_string()))?;
        let bad = |what: &str, e: &dyn std::fmt::Display| TlsError::Config {
            dir: dir.to_path_buf(),
            reason: format!("{what}: {e}"),
        };
        let mut roots = RootCertStore::empty();
        for c in ca {
            roots
                .add(c)
                .map_err(|e| bad(&format!("{CA_FILE} is not a usable CA certificate"), &e))?;
        }
        let roots = Arc::new(roots);
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone())
            .build()
            .map_err(|e| bad("cannot build the client verifier", &e))?;
        let server = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| bad("protocol versions", &e))?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain.clone(), key.clone_key())
            .map_err(|e| bad(&format!("{CERT_FILE} and {KEY_FILE} do not match"), &e))?;
        let client = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| bad("protocol versions", &e))?
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)
            .map_err(|e| bad(&format!("{CERT_FILE} and {KEY_FILE} do not match"), &e))?;
        Ok(TlsConfig {
            dir: dir.to_path_buf(),
            server: Arc::new(server),
            client: Arc::new(client),
        })
    }
}
