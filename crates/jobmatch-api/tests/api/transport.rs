//! Transport security: TLS with a pinned certificate, HSTS, `no-store` on
//! answers with personal data, forwarding headers believed only from trusted
//! proxies.

use std::num::NonZeroU32;
use std::sync::Arc;

use jobmatch_api::auth::{Role, generate_key};
use jobmatch_api::limits::Limits;
use jobmatch_api::server::StartOptions;
use jobmatch_api::tls::TlsFiles;
use jobmatch_api::transport::TrustedProxies;
use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

/// A self-signed certificate for `localhost` and 127.0.0.1 written to `dir`,
/// and its DER bytes.
fn self_signed(dir: &std::path::Path) -> (TlsFiles, Vec<u8>) {
    let made =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .expect("certificate");
    let files = TlsFiles {
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    };
    std::fs::write(&files.cert, made.cert.pem()).expect("cert written");
    std::fs::write(&files.key, made.signing_key.serialize_pem()).expect("key written");
    (files, made.cert.der().to_vec())
}

/// A client that trusts `pinned` and nothing else (no system roots).
fn pinned_client(pinned: &[u8]) -> reqwest::Client {
    #[allow(deprecated)] // the ring provider, as the server uses (see jobmatch_api::tls)
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(pinned.to_vec()))
        .expect("certificate usable as a root");
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    // Offer HTTP/2 as browsers do; the server picks it by ALPN.
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .build()
        .expect("client")
}

/// A client pinned to the server's certificate reaches it over TLS, by
/// HTTP/2 (ALPN), and gets HSTS; a client pinned to another certificate is
/// refused at the handshake, before any key is sent.
#[tokio::test]
async fn a_client_pinned_to_the_certificate_gets_http2_and_hsts_and_others_are_refused() {
    let dir = tempfile::tempdir().expect("directory");
    let (files, der) = self_signed(dir.path());
    let app = spawn_app_with_options(StartOptions {
        tls: Some(files),
        ..StartOptions::default()
    })
    .await;
    assert!(app.address.starts_with("https://"), "{}", app.address);
    let client = pinned_client(&der);
    let answer = client
        .get(format!("{}/v1/sectors", app.address))
        .bearer_auth(&app.staff_key)
        .send()
        .await
        .expect("TLS request");
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.version(), reqwest::Version::HTTP_2);
    assert_eq!(
        answer.headers()["strict-transport-security"],
        jobmatch_api::transport::HSTS
    );
    // Even the server's own refusals carry it.
    let refused = client
        .get(format!("{}/v1/no-such-thing", app.address))
        .send()
        .await
        .expect("TLS request");
    assert_eq!(refused.status(), 404);
    assert!(refused.headers().contains_key("strict-transport-security"));

    let other_dir = tempfile::tempdir().expect("directory");
    let (_, other) = self_signed(other_dir.path());
    let error = pinned_client(&other)
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .expect_err("a certificate the client does not pin is refused");
    assert!(error.is_connect(), "{error:?}");
    // Plain HTTP to the TLS port gets no answer.
    assert!(
        reqwest::Client::new()
            .get(app.address.replace("https://", "http://") + "/healthz")
            .send()
            .await
            .is_err()
    );
}

/// Answers that carry a returnee's profile are never stored by a browser or
/// proxy cache; a plain-HTTP answer has no HSTS (it would be ignored and
/// says nothing true).
#[tokio::test]
async fn answers_with_profiles_carry_no_store() {
    let app = spawn_app().await;
    let created = app
        .post("/v1/workers", &app.staff_key, &worker_body())
        .await;
    assert_eq!(created.status(), 201);
    assert_eq!(created.headers()["cache-control"], "no-store");
    assert!(!created.headers().contains_key("strict-transport-security"));
    let worker: serde_json::Value = created.json().await.expect("json");
    let id = worker["id"].as_str().expect("id");
    for path in [format!("/v1/workers/{id}"), "/v1/workers".to_string()] {
        let answer = app.get(&path, &app.staff_key).await;
        assert_eq!(answer.status(), 200, "{path}");
        assert_eq!(answer.headers()["cache-control"], "no-store", "{path}");
    }
    let changed = app
        .request(Method::PATCH, &format!("/v1/workers/{id}"), &app.staff_key)
        .header("content-type", "application/merge-patch+json")
        .json(&json!({"max_travel_km": 30}))
        .send()
        .await
        .expect("request");
    assert_eq!(changed.status(), 200);
    assert_eq!(changed.headers()["cache-control"], "no-store");
    let matches = app
        .get(&format!("/v1/workers/{id}/vacancies"), &app.staff_key)
        .await;
    assert_eq!(matches.headers()["cache-control"], "no-store");
}

fn unknown_key() -> String {
    generate_key(Role::Admin, None, "never stored".into(), None).secret
}

fn one_unknown_key_per_address() -> Limits {
    Limits {
        requests_per_minute: NonZeroU32::new(1_000_000).expect("non-zero"),
        burst: NonZeroU32::new(100_000).expect("non-zero"),
        unknown_keys_per_minute: NonZeroU32::new(1).expect("non-zero"),
        unknown_keys_burst: NonZeroU32::new(1).expect("non-zero"),
        ..Limits::default()
    }
}

async fn status_from(app: &TestApp, forwarded_for: &str) -> u16 {
    app.request(Method::GET, "/v1/sectors", &unknown_key())
        .header("x-forwarded-for", forwarded_for)
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

/// A client that is not a trusted proxy cannot escape the per-address limit
/// on unknown keys by writing a new `X-Forwarded-For` each time, nor get
/// HSTS by claiming `X-Forwarded-Proto: https`.
#[tokio::test]
async fn a_forged_forwarded_for_from_an_untrusted_peer_is_ignored() {
    let app = spawn_app_with_options(StartOptions {
        limits: one_unknown_key_per_address(),
        trusted_proxies: TrustedProxies::new(vec!["10.0.0.0/8".parse().expect("network")]),
        ..StartOptions::default()
    })
    .await;
    assert_eq!(status_from(&app, "198.51.100.1").await, 401);
    assert_eq!(status_from(&app, "198.51.100.2").await, 429);
    let claimed = app
        .request(Method::GET, "/healthz", &app.staff_key)
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .expect("request");
    assert!(!claimed.headers().contains_key("strict-transport-security"));
}

/// Behind a trusted proxy each forwarded client has its own allowance, and
/// the proxy's word that the client used HTTPS brings HSTS.
#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_client_is_counted() {
    let app = spawn_app_with_options(StartOptions {
        limits: one_unknown_key_per_address(),
        trusted_proxies: TrustedProxies::new(vec!["127.0.0.1".parse().expect("address")]),
        ..StartOptions::default()
    })
    .await;
    assert_eq!(status_from(&app, "198.51.100.1").await, 401);
    assert_eq!(status_from(&app, "198.51.100.2").await, 401);
    assert_eq!(status_from(&app, "198.51.100.1").await, 429);
    // A client's own forged entry, left of what the proxy appended, is not
    // believed: this is still 198.51.100.2.
    assert_eq!(status_from(&app, "203.0.113.7, 198.51.100.2").await, 429);
    let forwarded = app
        .request(Method::GET, "/healthz", &app.staff_key)
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .expect("request");
    assert_eq!(
        forwarded.headers()["strict-transport-security"],
        jobmatch_api::transport::HSTS
    );
}
