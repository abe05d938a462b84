//! `jobmatch tls init`: a self-signed certificate for a resource centre's
//! laptop, which has no certificate authority. Staff check its SHA-256
//! fingerprint once in their browser (or pin it in a client) instead.

use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Subcommand;

/// How long a certificate made by `tls init` is valid, in days: about five
/// years, so that a centre is not cut off by an expiry nobody planned for.
/// Renewing means checking a new fingerprint on every machine.
const VALID_DAYS: u64 = 5 * 365;

#[derive(Subcommand)]
pub enum TlsCommand {
    /// Make a self-signed certificate and key for this machine's names and
    /// addresses, and print the certificate's SHA-256 fingerprint.
    Init {
        /// Directory for cert.pem and key.pem.
        #[arg(long, default_value = "./data/tls")]
        out: PathBuf,
        /// A further name or address clients use to reach this machine
        /// (repeatable), e.g. `mwrc-pursat.local` or `192.168.1.20`.
        #[arg(long = "name")]
        names: Vec<String>,
        /// Replace an existing certificate and key.
        #[arg(long)]
        force: bool,
    },
    /// Print the SHA-256 fingerprint of a PEM certificate.
    Fingerprint {
        /// The certificate (PEM).
        cert: PathBuf,
    },
}

pub fn run(command: TlsCommand) -> anyhow::Result<()> {
    match command {
        TlsCommand::Init { out, names, force } => {
            let made = init(&out, &names, force)?;
            println!("certificate: {}", made.cert.display());
            println!(
                "private key: {} (keep it on this machine)",
                made.key.display()
            );
            println!("valid for: {}", made.names.join(", "));
            println!(
                "serve with: jobmatch serve --bind 0.0.0.0:8443 --tls-cert {} --tls-key {}",
                made.cert.display(),
                made.key.display()
            );
            println!("SHA-256 fingerprint (check it once on each machine):");
            println!("{}", made.fingerprint);
            Ok(())
        }
        TlsCommand::Fingerprint { cert } => {
            println!("{}", fingerprint_of(&cert)?);
            Ok(())
        }
    }
}

/// What `init` wrote.
pub struct Made {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub names: Vec<String>,
    pub fingerprint: String,
}

/// Writes `cert.pem` and `key.pem` (readable by the owner only) under `out`.
pub fn init(out: &Path, extra_names: &[String], force: bool) -> anyhow::Result<Made> {
    let cert_path = out.join("cert.pem");
    let key_path = out.join("key.pem");
    if !force && (cert_path.exists() || key_path.exists()) {
        bail!(
            "{} or {} already exists; clients trust its fingerprint, so it is kept (--force replaces it)",
            cert_path.display(),
            key_path.display()
        );
    }
    let names = machine_names(extra_names);
    let mut params = rcgen::CertificateParams::new(names.clone())
        .context("a name cannot go in a certificate")?;
    let host = gethostname::gethostname().to_string_lossy().into_owned();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, format!("jobmatch on {host}"));
    let today = chrono::Utc::now().date_naive();
    let (year, month, day) = ymd(today - chrono::Days::new(1));
    params.not_before = rcgen::date_time_ymd(year, month, day);
    let (year, month, day) = ymd(today + chrono::Days::new(VALID_DAYS));
    params.not_after = rcgen::date_time_ymd(year, month, day);
    // A server certificate only: no client may use it to sign others.
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let key = rcgen::KeyPair::generate().context("could not make a key pair")?;
    let cert = params
        .self_signed(&key)
        .context("could not sign the certificate")?;

    std::fs::create_dir_all(out).with_context(|| format!("could not create {}", out.display()))?;
    write_private(&key_path, key.serialize_pem().as_bytes())?;
    std::fs::write(&cert_path, cert.pem())
        .with_context(|| format!("could not write {}", cert_path.display()))?;
    Ok(Made {
        cert: cert_path,
        key: key_path,
        names,
        fingerprint: jobmatch_api::tls::fingerprint(cert.der()),
    })
}

/// A date as rcgen takes it (months 1-12 and days 1-31 fit in a byte).
fn ymd(day: chrono::NaiveDate) -> (i32, u8, u8) {
    use chrono::Datelike;
    (day.year(), day.month() as u8, day.day() as u8)
}

/// `localhost`, the host name (and `NAME.local`, what mDNS answers on an
/// office network), loopback and every address of this machine's network
/// interfaces, then `extra`; each once.
fn machine_names(extra: &[String]) -> Vec<String> {
    let mut names = vec!["localhost".to_string()];
    let host = gethostname::gethostname().to_string_lossy().into_owned();
    if !host.is_empty() && host != "localhost" {
        names.push(host.clone());
        if !host.contains('.') {
            names.push(format!("{host}.local"));
        }
    }
    let mut addresses: Vec<IpAddr> =
        vec!["127.0.0.1".parse().expect("v4"), "::1".parse().expect("v6")];
    if let Ok(interfaces) = if_addrs::get_if_addrs() {
        addresses.extend(interfaces.iter().map(|interface| interface.ip()));
    }
    names.extend(addresses.iter().map(ToString::to_string));
    names.extend(extra.iter().cloned());
    let mut seen = std::collections::HashSet::new();
    names.retain(|name| seen.insert(name.clone()));
    names
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("could not write {}", path.display()))?;
    file.write_all(bytes)
        .with_context(|| format!("could not write {}", path.display()))
}

fn fingerprint_of(cert: &Path) -> anyhow::Result<String> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let der = CertificateDer::from_pem_file(cert)
        .with_context(|| format!("could not read a certificate from {}", cert.display()))?;
    Ok(jobmatch_api::tls::fingerprint(der.as_ref()))
}
