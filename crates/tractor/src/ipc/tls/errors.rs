//! What went wrong with TLS, in words that name the cause and the fix.
//!
//! rustls reports handshake failures as enum values (`UnknownIssuer`, an
//! `UnknownCA` alert...); a person wants to read "the peer's certificate
//! is not signed by our cluster CA". [`explain`] turns the one into the
//! other, for both ends of a refused handshake.

use std::io;
use std::path::PathBuf;

use rustls::{AlertDescription, CertificateError};

use super::Side;

const FIX_DIR: &str = "set TRACTOR_TLS_DIR (RuntimeVars::tls_dir) to a folder made by \
     `tractor certs init CA_DIR` and `tractor certs issue --name HOST CA_DIR`";

/// A TLS policy or setup failure.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A non-loopback (or `/tls`) address with no TLS folder configured.
    #[error(
        "refusing to {} {addr} without TLS: connections beyond loopback (and /tls addresses) must authenticate both ends; {fix}, or pass --insecure (RuntimeVars::insecure) to allow unauthenticated plain TCP",
        verb(.side),
        fix = FIX_DIR
    )]
    NoTlsDir {
        /// The address.
        addr: String,
        /// Listening or dialing.
        side: Side,
    },
    /// A non-loopback address while TLS is switched off.
    #[error(
        "refusing to {} {addr} over plain TCP: RuntimeVars::tls is \"off\"; set it to \"auto\" with a TLS folder, or pass --insecure (RuntimeVars::insecure) to allow unauthenticated plain TCP",
        verb(.side)
    )]
    TlsOff {
        /// The address.
        addr: String,
        /// Listening or dialing.
        side: Side,
    },
    /// A file of the TLS folder is missing or unreadable.
    #[error("TLS folder {}: cannot read {file}: {reason}; {fix}", .dir.display(), fix = FIX_DIR)]
    File {
        /// The folder.
        dir: PathBuf,
        /// The file name.
        file: &'static str,
        /// Why.
        reason: String,
    },
    /// The files are there but rustls refuses them together.
    #[error("TLS folder {}: {reason}", .dir.display())]
    Config {
        /// The folder.
        dir: PathBuf,
        /// Why.
        reason: String,
    },
}

fn verb(side: &Side) -> &'static str {
    match side {
        Side::Listen => "listen on",
        Side::Dial => "connect to",
    }
}

impl From<TlsError> for io::Error {
    fn from(e: TlsError) -> io::Error {
        let kind = match e {
            TlsError::NoTlsDir { .. } | TlsError::TlsOff { .. } => io::ErrorKind::PermissionDenied,
            TlsError::File { .. } | TlsError::Config { .. } => io::ErrorKind::InvalidInput,
        };
        io::Error::new(kind, e.to_string())
    }
}

/// Why a handshake with `peer` failed, naming the cause; `e` is what
/// tokio-rustls (or the read of the server's acknowledgement) returned.
pub(crate) fn explain(e: &io::Error, peer: &str) -> String {
    let Some(tls) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) else {
        return match e.kind() {
            io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset => format!(
                "TLS handshake with {peer} failed: the peer closed the connection ({e}); \
                 it may have refused our certificate, or it does not speak TLS"
            ),
            io::ErrorKind::TimedOut => format!("TLS handshake with {peer} timed out"),
            _ => format!("TLS handshake with {peer} failed: {e}"),
        };
    };
    let why = match tls {
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
            "the peer's certificate is not signed by our cluster CA (unknown issuer)".to_owned()
        }
        rustls::Error::InvalidCertificate(CertificateError::BadSignature) => {
            "the peer's certificate does not carry a valid signature from our cluster CA".to_owned()
        }
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => format!(
            "the peer's certificate is not issued for the address we dialed ({peer}); \
             issue it with `tractor certs issue --name HOST` naming that address"
        ),
        rustls::Error::InvalidCertificate(
            CertificateError::Expired | CertificateError::ExpiredContext { .. },
        ) => "the peer's certificate has expired".to_owned(),
        rustls::Error::AlertReceived(
            AlertDescription::UnknownCA
            | AlertDescription::BadCertificate
            | AlertDescription::CertificateUnknown
            | AlertDescription::DecryptError,
        ) => format!(
            "the peer refused our certificate: it is not signed by the peer's cluster CA \
             (TLS alert {tls_alert}); issue ours from the same CA",
            tls_alert = match tls {
                rustls::Error::AlertReceived(a) => format!("{a:?}"),
                _ => String::new(),
            }
        ),
        rustls::Error::AlertReceived(AlertDescription::CertificateRequired)
        | rustls::Error::NoCertificatesPresented => {
            "the peer presented no certificate (a client without TRACTOR_TLS_DIR?)".to_owned()
        }
        rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => {
            "the peer does not speak TLS (plain TCP, a Python actor?)".to_owned()
        }
        other => other.to_string(),
    };
    format!("TLS handshake with {peer} refused: {why}")
}
