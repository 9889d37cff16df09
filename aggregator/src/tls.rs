//! Optional HTTPS: government intranets run their own CA, so the server takes a certificate
//! chain and key from PEM files. (The accept loop in `server` runs each handshake in a task of
//! its own, with a timeout.)

use std::path::Path;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Why a TLS setup cannot be made of the files configured, naming the file.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TlsError(String);

/// The certificates of a PEM file, at least one; the message names the file as `what`.
pub fn certificates(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .and_then(Iterator::collect)
        .map_err(|e| TlsError(format!("cannot read {what} {}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(TlsError(format!("{what} {} holds no PEM certificate", path.display())));
    }
    Ok(certs)
}

/// Reads the certificate chain and private key (PEM) into a server configuration.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let certs = certificates(cert, "the certificate")?;
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| TlsError(format!("cannot read the private key {}: {e}", key.display())))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(certs, key))
        .map_err(|e| TlsError(format!("the certificate and key do not make a TLS setup: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
