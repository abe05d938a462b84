//! TLS for `serve --tls-cert FILE --tls-key FILE`: rustls with the ring
//! provider (no OpenSSL), TLS 1.2 and 1.3 only, HTTP/2 offered by ALPN
//! (actix-web adds `h2` and `http/1.1`).
//!
//! The certificate and key are read again on SIGHUP and whenever either
//! file's modification time changes (looked at every
//! [`WATCH_INTERVAL`]), so a renewed certificate is served to new connections
//! without a restart. A pair that cannot be read, or whose key does not match
//! the certificate, is refused and logged; the previous pair stays in use.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

/// How often the certificate and key files are looked at for a change.
pub const WATCH_INTERVAL: Duration = Duration::from_secs(5);

/// Where the PEM certificate chain and private key are.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The certificate chain, the server's own certificate first.
    pub cert: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("could not read the TLS certificate {path}: {reason}")]
    Certificate { path: PathBuf, reason: String },
    #[error("could not read the TLS private key {path}: {reason}")]
    Key { path: PathBuf, reason: String },
    #[error("the TLS private key {key} does not belong to the certificate {cert}: {reason}")]
    Mismatch {
        cert: PathBuf,
        key: PathBuf,
        reason: String,
    },
}

/// The ring provider: every TLS 1.2 and 1.3 suite it has is forward secret
/// and authenticated. rustls 0.23.48 deprecates it for lacking post-quantum
/// key exchange; the provider that has it (aws-lc-rs) is a C and CMake build,
/// which this workspace avoids (see zstd in the workspace `Cargo.toml`).
#[allow(deprecated)]
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The certificate being served, replaced in place when its files change.
pub struct ReloadingCertificate {
    files: TlsFiles,
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<CertifiedKey>>,
    /// The files' modification times when last read.
    stamps: Mutex<(Option<SystemTime>, Option<SystemTime>)>,
}

impl std::fmt::Debug for ReloadingCertificate {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ReloadingCertificate")
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

impl ReloadingCertificate {
    /// Reads the pair; fails when either file is unreadable or they do not match.
    pub fn load(files: TlsFiles) -> Result<Arc<ReloadingCertificate>, TlsError> {
        let provider = provider();
        let stamps = modification_times(&files);
        let key = read_pair(&files, &provider)?;
        Ok(Arc::new(ReloadingCertificate {
            files,
            provider,
            current: RwLock::new(Arc::new(key)),
            stamps: Mutex::new(stamps),
        }))
    }

    /// Reads the files again. On success new connections get the new pair;
    /// on failure the old one stays and the error is returned.
    pub fn reload(&self) -> Result<(), TlsError> {
        let stamps = modification_times(&self.files);
        let key = read_pair(&self.files, &self.provider)?;
        *self
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(key);
        *self
            .stamps
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = stamps;
        Ok(())
    }

    /// SHA-256 of the certificate being served (its DER bytes), as browsers
    /// show it: upper-case hex pairs separated by colons.
    pub fn fingerprint(&self) -> String {
        let current = self
            .current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        current
            .cert
            .first()
            .map(|cert| fingerprint(cert.as_ref()))
            .unwrap_or_default()
    }

    fn files_changed(&self) -> bool {
        let stamps = modification_times(&self.files);
        *self
            .stamps
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            != stamps
    }

    fn reload_and_log(&self, why: &str) {
        match self.reload() {
            Ok(()) => tracing::info!(
                why,
                fingerprint = %self.fingerprint(),
                "TLS certificate reloaded"
            ),
            Err(error) => tracing::error!(
                why,
                error = %error,
                "TLS certificate not reloaded; the previous one is still served"
            ),
        }
    }

    /// Reloads on SIGHUP and when the files change, for as long as the
    /// certificate is in use.
    pub fn spawn_watch(self: &Arc<Self>) {
        let watched = Arc::downgrade(self);
        tokio::spawn(async move {
            #[cfg(unix)]
            let mut hangups =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
            let mut every = tokio::time::interval(WATCH_INTERVAL);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                #[cfg(unix)]
                let hangup = async {
                    match hangups.as_mut() {
                        Some(signal) => signal.recv().await,
                        None => std::future::pending().await,
                    }
                };
                #[cfg(not(unix))]
                let hangup = std::future::pending::<Option<()>>();
                let signalled = tokio::select! {
                    _ = hangup => true,
                    _ = every.tick() => false,
                };
                let Some(certificate) = watched.upgrade() else {
                    break;
                };
                if signalled {
                    certificate.reload_and_log("SIGHUP");
                } else if certificate.files_changed() {
                    certificate.reload_and_log("file changed");
                }
            }
        });
    }

    /// A rustls server configuration serving this certificate: TLS 1.3 and
    /// 1.2, no client certificates.
    pub fn server_config(self: &Arc<Self>) -> rustls::ServerConfig {
        rustls::ServerConfig::builder_with_provider(self.provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .expect("the ring provider supports TLS 1.2 and 1.3")
            .with_no_client_auth()
            .with_cert_resolver(self.clone())
    }
}

impl ResolvesServerCert for ReloadingCertificate {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .clone(),
        )
    }
}

fn modification_times(files: &TlsFiles) -> (Option<SystemTime>, Option<SystemTime>) {
    let stamp = |path: &Path| {
        std::fs::metadata(path)
            .and_then(|meta| meta.modified())
            .ok()
    };
    (stamp(&files.cert), stamp(&files.key))
}

fn read_pair(files: &TlsFiles, provider: &CryptoProvider) -> Result<CertifiedKey, TlsError> {
    let chain = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|error| TlsError::Certificate {
            path: files.cert.clone(),
            reason: error.to_string(),
        })?;
    if chain.is_empty() {
        return Err(TlsError::Certificate {
            path: files.cert.clone(),
            reason: "no CERTIFICATE block in the file".to_string(),
        });
    }
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|error| TlsError::Key {
        path: files.key.clone(),
        reason: error.to_string(),
    })?;
    CertifiedKey::from_der(chain, key, provider).map_err(|error| TlsError::Mismatch {
        cert: files.cert.clone(),
        key: files.key.clone(),
        reason: error.to_string(),
    })
}

/// SHA-256 of `der`, as browsers show a certificate's fingerprint:
/// `AB:CD:...`, 32 upper-case hex pairs.
pub fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|byte| format!("{byte:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes a fresh self-signed pair to `files`; returns its fingerprint.
    fn write_pair(files: &TlsFiles) -> String {
        let made =
            rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("certificate");
        std::fs::write(&files.cert, made.cert.pem()).expect("cert written");
        std::fs::write(&files.key, made.signing_key.serialize_pem()).expect("key written");
        fingerprint(made.cert.der())
    }

    #[test]
    fn a_reload_serves_the_new_pair_and_a_bad_one_keeps_the_old() {
        let dir = tempfile::tempdir().expect("directory");
        let files = TlsFiles {
            cert: dir.path().join("cert.pem"),
            key: dir.path().join("key.pem"),
        };
        let first = write_pair(&files);
        let certificate = ReloadingCertificate::load(files.clone()).expect("loads");
        assert_eq!(certificate.fingerprint(), first);

        std::fs::write(&files.cert, "not a certificate").expect("written");
        assert!(matches!(
            certificate.reload(),
            Err(TlsError::Certificate { .. })
        ));
        assert_eq!(certificate.fingerprint(), first, "the old pair is kept");

        let second = write_pair(&files);
        certificate.reload().expect("the new pair loads");
        assert_eq!(certificate.fingerprint(), second);
        assert_ne!(first, second);

        // A key from another pair is refused.
        let other = TlsFiles {
            cert: dir.path().join("other-cert.pem"),
            key: dir.path().join("other-key.pem"),
        };
        write_pair(&other);
        std::fs::copy(&other.key, &files.key).expect("copied");
        assert!(matches!(
            certificate.reload(),
            Err(TlsError::Mismatch { .. })
        ));
        assert_eq!(certificate.fingerprint(), second);
    }

    #[test]
    fn fingerprints_are_colon_separated_upper_case_sha256() {
        assert_eq!(
            fingerprint(b""),
            "E3:B0:C4:42:98:FC:1C:14:9A:FB:F4:C8:99:6F:B9:24:27:AE:41:E4:64:9B:93:4C:A4:95:99:1B:78:52:B8:55"
        );
    }
}
