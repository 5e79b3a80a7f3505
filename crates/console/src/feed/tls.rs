//! TLS for `wss://`: rustls with the ring provider, trusting the system's
//! certificate authorities plus an optional PEM file of extra ones.

use super::FeedError;
use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use std::path::Path;
use std::sync::Arc;

pub(super) fn client_config(
    ca_file: Option<&Path>,
) -> Result<Arc<rustls::ClientConfig>, FeedError> {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for err in &native.errors {
        tracing::warn!("could not load a system certificate: {err}");
    }
    let (added, ignored) = roots.add_parsable_certificates(native.certs);
    tracing::debug!(added, ignored, "system certificate authorities");
    if let Some(path) = ca_file {
        let extra = read_ca_file(path)?;
        for cert in extra {
            roots.add(cert).map_err(|err| FeedError::CaFile {
                path: path.to_owned(),
                reason: err.to_string(),
            })?;
        }
    }
    if roots.is_empty() {
        // Not an error yet: the handshake will say the certificate is not
        // trusted, which tells the supervisor what to fix.
        tracing::warn!(
            "no trusted certificate authorities: the system has none and no ca_file is set"
        );
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| FeedError::Tls(err.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, FeedError> {
    let failure = |reason: String| FeedError::CaFile {
        path: path.to_owned(),
        reason,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|err| failure(err.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| failure(err.to_string()))?;
    if certs.is_empty() {
        return Err(failure("it holds no PEM certificate".into()));
    }
    Ok(certs)
}
