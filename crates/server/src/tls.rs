//! TLS for `wss://`: the server's certificate chain and private key, PEM
//! files read once when the server starts, with rustls' ring provider.

use anyhow::{Context as _, anyhow};
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_rustls::TlsAcceptor;

/// Where the server's certificate and key are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM: the server's certificate, then any intermediate certificates.
    pub cert_chain: PathBuf,
    /// PEM: the certificate's private key (PKCS#8, PKCS#1 or SEC1).
    pub private_key: PathBuf,
}

/// Reads the files into what accepts TLS connections; every error names
/// the file and says what is wrong with it.
pub(crate) fn acceptor(files: &TlsFiles) -> anyhow::Result<TlsAcceptor> {
    let cert_chain = read_certs(&files.cert_chain).with_context(|| {
        format!(
            "cannot use the TLS certificate chain {}",
            files.cert_chain.display()
        )
    })?;
    let key = PrivateKeyDer::from_pem_file(&files.private_key)
        .map_err(|e| anyhow!(pem_reason(e, "private key")))
        .with_context(|| {
            format!(
                "cannot use the TLS private key {}",
                files.private_key.display()
            )
        })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("the TLS provider offers no safe protocol version")?
        .with_no_client_auth()
        .with_single_cert(cert_chain, key)
        .map_err(|e| match e {
            rustls::Error::InconsistentKeys(_) => anyhow!(
                "the TLS private key {} is not the key of the certificate in {}",
                files.private_key.display(),
                files.cert_chain.display()
            ),
            other => anyhow!(
                "cannot use the TLS private key {} with the certificate chain {}: {other}",
                files.private_key.display(),
                files.cert_chain.display()
            ),
        })?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

fn read_certs(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|e| anyhow!(pem_reason(e, "certificate")))?;
    if certs.is_empty() {
        return Err(anyhow!(pem_reason(pem::Error::NoItemsFound, "certificate")));
    }
    Ok(certs)
}

/// What is wrong with a PEM file, in words.
fn pem_reason(e: pem::Error, what: &str) -> String {
    match e {
        pem::Error::NoItemsFound => format!("it holds no PEM {what}"),
        pem::Error::Io(e) => e.to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, KeyPair};

    /// A self-signed certificate for 127.0.0.1 and its key, as PEM files.
    fn files(dir: &Path) -> TlsFiles {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["127.0.0.1".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let files = TlsFiles {
            cert_chain: dir.join("cert.pem"),
            private_key: dir.join("key.pem"),
        };
        std::fs::write(&files.cert_chain, cert.pem()).unwrap();
        std::fs::write(&files.private_key, key.serialize_pem()).unwrap();
        files
    }

    fn error(files: &TlsFiles) -> String {
        format!("{:#}", acceptor(files).err().unwrap())
    }

    #[test]
    fn a_certificate_and_its_key_are_accepted() {
        let dir = tempfile::tempdir().unwrap();
        acceptor(&files(dir.path())).unwrap();
    }

    #[test]
    fn each_bad_file_is_named_with_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let good = files(dir.path());
        let garbage = dir.path().join("garbage.pem");
        std::fs::write(&garbage, "not a PEM file\n").unwrap();
        let missing = dir.path().join("missing.pem");
        let other = files(&{
            let other = dir.path().join("other");
            std::fs::create_dir(&other).unwrap();
            other
        });
        let cases = [
            (
                TlsFiles {
                    cert_chain: missing.clone(),
                    ..good.clone()
                },
                format!(
                    "cannot use the TLS certificate chain {}: No such file",
                    missing.display()
                ),
            ),
            (
                TlsFiles {
                    cert_chain: garbage.clone(),
                    ..good.clone()
                },
                format!(
                    "cannot use the TLS certificate chain {}: it holds no PEM certificate",
                    garbage.display()
                ),
            ),
            (
                TlsFiles {
                    private_key: garbage.clone(),
                    ..good.clone()
                },
                format!(
                    "cannot use the TLS private key {}: it holds no PEM private key",
                    garbage.display()
                ),
            ),
            (
                // A certificate is no key.
                TlsFiles {
                    private_key: good.cert_chain.clone(),
                    ..good.clone()
                },
                "it holds no PEM private key".to_owned(),
            ),
            (
                TlsFiles {
                    private_key: other.private_key.clone(),
                    ..good.clone()
                },
                format!(
                    "the TLS private key {} is not the key of the certificate in {}",
                    other.private_key.display(),
                    good.cert_chain.display()
                ),
            ),
        ];
        for (files, expected) in cases {
            let error = error(&files);
            assert!(error.contains(&expected), "{error:?} lacks {expected:?}");
        }
    }
}
