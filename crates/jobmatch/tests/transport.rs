//! Transport security of the real binary: it refuses clear text off this
//! machine, and `tls init` makes a certificate that a client pinned to it
//! (and trusting nothing else) reaches the server with, also after the
//! certificate is renewed and the server told so with SIGHUP.

use std::ffi::OsStr;
use std::process::Command;
use std::sync::Arc;

use sha2::{Digest, Sha256};

#[allow(dead_code)]
mod common;
use common::Server;

const BINARY: &str = env!("CARGO_BIN_EXE_jobmatch");

#[test]
fn plain_http_on_an_address_other_machines_reach_is_refused_at_start() {
    let dir = tempfile::tempdir().expect("directory");
    let data = dir.path().join("data");
    let output = Command::new(BINARY)
        .args(["serve", "--bind", "0.0.0.0:0", "--data-dir"])
        .arg(&data)
        .env_remove("JOBMATCH_DATABASE_URL")
        .env_remove("JOBMATCH_ALLOW_INSECURE_HTTP")
        .env_remove("JOBMATCH_TRUSTED_PROXY")
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("jobmatch runs");
    assert!(!output.status.success(), "it must not start");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("refusing to serve plain HTTP on 0.0.0.0:0")
            && stderr.contains("--tls-cert")
            && stderr.contains("--allow-insecure-http"),
        "says why and what to do instead: {stderr}"
    );
    // Refused before anything was opened.
    assert!(!data.exists(), "no database was created");
}

#[tokio::test]
async fn a_client_pinned_to_the_certificate_of_tls_init_reaches_the_server() {
    let dir = tempfile::tempdir().expect("directory");
    let tls_dir = dir.path().join("tls");
    let output = Command::new(BINARY)
        .args(["tls", "init", "--out"])
        .arg(&tls_dir)
        .output()
        .expect("tls init runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    let printed = stdout
        .lines()
        .last()
        .expect("the fingerprint is the last line");
    let cert_path = tls_dir.join("cert.pem");
    let key_path = tls_dir.join("key.pem");
    let pem = std::fs::read_to_string(&cert_path).expect("cert.pem");
    let der = pem_to_der(&pem);
    let fingerprint = Sha256::digest(&der)
        .iter()
        .map(|byte| format!("{byte:02X}"))
        .collect::<Vec<_>>()
        .join(":");
    assert_eq!(
        printed, fingerprint,
        "the printed fingerprint is the certificate's"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_path)
            .expect("key.pem")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the key is readable by its owner only");
    }
    // A second init keeps the certificate clients already trust.
    let again = Command::new(BINARY)
        .args(["tls", "init", "--out"])
        .arg(&tls_dir)
        .output()
        .expect("tls init runs");
    assert!(!again.status.success());
    assert_eq!(std::fs::read_to_string(&cert_path).expect("cert.pem"), pem);

    let data = dir.path().join("data");
    let url = format!("sqlite:{}", data.join("jobmatch.db").display());
    std::fs::create_dir_all(&data).expect("data directory");
    let server = Server::start_with_args(
        &data,
        &url,
        &[
            OsStr::new("--tls-cert"),
            cert_path.as_os_str(),
            OsStr::new("--tls-key"),
            key_path.as_os_str(),
        ],
    );
    assert!(
        server.address.starts_with("https://127.0.0.1:"),
        "{}",
        server.address
    );

    let client = pinned_client(der.clone());
    for host in ["127.0.0.1", "localhost"] {
        let address = server.address.replace("127.0.0.1", host);
        let answer = client
            .get(format!("{address}/healthz"))
            .send()
            .await
            .unwrap_or_else(|error| panic!("TLS to {address}: {error:?}"));
        assert_eq!(answer.status(), 200);
        assert_eq!(answer.version(), reqwest::Version::HTTP_2);
        assert!(answer.headers().contains_key("strict-transport-security"));
    }

    // A renewed certificate is served after SIGHUP, without a restart.
    let renewed = Command::new(BINARY)
        .args(["tls", "init", "--force", "--out"])
        .arg(&tls_dir)
        .output()
        .expect("tls init runs");
    assert!(renewed.status.success());
    let renewed_der = pem_to_der(&std::fs::read_to_string(&cert_path).expect("cert.pem"));
    assert_ne!(renewed_der, der);
    server.signal("HUP");
    let renewed_client = pinned_client(renewed_der);
    let mut served = false;
    for _ in 0..200 {
        let answer = renewed_client
            .get(format!("{}/healthz", server.address))
            .send()
            .await;
        if answer.is_ok_and(|answer| answer.status() == 200) {
            served = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(served, "the renewed certificate was never served");
    // New connections of a client pinned to the old one are refused.
    let old = pinned_client(der)
        .get(format!("{}/healthz", server.address))
        .send()
        .await;
    assert!(old.is_err(), "{old:?}");
    server.kill_hard();
}

/// A client that trusts `pinned` and nothing else, offering HTTP/2.
fn pinned_client(pinned: Vec<u8>) -> reqwest::Client {
    #[allow(deprecated)] // ring, as the server uses (see jobmatch_api::tls)
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(pinned))
        .expect("the certificate is usable as the only root");
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .build()
        .expect("client")
}

/// The DER bytes of the first certificate in `pem`.
fn pem_to_der(pem: &str) -> Vec<u8> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::from_pem_slice(pem.as_bytes())
        .expect("a PEM certificate")
        .to_vec()
}
