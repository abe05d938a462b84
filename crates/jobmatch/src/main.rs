//! The `jobmatch` command: the server, key management, bulk import, synthetic
//! data and the OpenAPI document.

mod backup;
mod demo;
mod r#gen;
mod import;
mod tls;

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use jobmatch_api::auth::{Role, generate_key, rotated_key};
use jobmatch_store::Store;
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "jobmatch",
    version,
    about = "Job matching for Cambodian returnee migrant workers"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the data lives; shared by every command that opens the database.
#[derive(clap::Args, Clone)]
struct StorageArgs {
    /// Directory for the embedded SQLite database (used when no database URL is given).
    #[arg(
        long,
        global = true,
        env = "JOBMATCH_DATA_DIR",
        default_value = "./data"
    )]
    data_dir: PathBuf,
    /// `postgres://...` for PostgreSQL, or `sqlite:PATH`; defaults to SQLite under the data directory.
    #[arg(
        long,
        global = true,
        env = "JOBMATCH_DATABASE_URL",
        hide_env_values = true
    )]
    database_url: Option<String>,
}

impl StorageArgs {
    fn url(&self) -> String {
        match &self.database_url {
            Some(url) if !url.is_empty() => url.clone(),
            _ => format!("sqlite:{}", self.data_dir.join("jobmatch.db").display()),
        }
    }

    async fn open(&self) -> anyhow::Result<Store> {
        let url = self.url();
        Store::connect(&url)
            .await
            .with_context(|| format!("could not open the database ({})", redact(&url)))
    }
}

/// A database URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://***{}", &url[..scheme_end], &url[at..])
        }
        _ => url.to_string(),
    }
}

/// How much each API key may ask of the server.
#[derive(clap::Args)]
struct LimitArgs {
    /// Sustained requests per minute per API key.
    #[arg(long, env = "JOBMATCH_RATE_LIMIT_PER_MINUTE", default_value = "3000")]
    rate_limit_per_minute: std::num::NonZeroU32,
    /// Requests a key may send at once before the sustained rate applies.
    #[arg(long, env = "JOBMATCH_RATE_LIMIT_BURST", default_value = "300")]
    rate_limit_burst: std::num::NonZeroU32,
    /// Longest a request may run before it is abandoned with 503, in seconds.
    #[arg(long, env = "JOBMATCH_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    request_timeout_secs: u64,
    /// Sustained unknown API keys per minute per client address.
    #[arg(long, env = "JOBMATCH_UNKNOWN_KEYS_PER_MINUTE", default_value = "60")]
    unknown_keys_per_minute: std::num::NonZeroU32,
    /// Unknown API keys a client address may send at once.
    #[arg(long, env = "JOBMATCH_UNKNOWN_KEYS_BURST", default_value = "30")]
    unknown_keys_burst: std::num::NonZeroU32,
}

impl From<LimitArgs> for jobmatch_api::limits::Limits {
    fn from(args: LimitArgs) -> Self {
        jobmatch_api::limits::Limits {
            requests_per_minute: args.rate_limit_per_minute,
            burst: args.rate_limit_burst,
            request_timeout: std::time::Duration::from_secs(args.request_timeout_secs.max(1)),
            unknown_keys_per_minute: args.unknown_keys_per_minute,
            unknown_keys_burst: args.unknown_keys_burst,
        }
    }
}

/// How clients reach the server: TLS, and proxies in front of it.
#[derive(clap::Args)]
struct TransportArgs {
    /// PEM certificate chain to serve HTTPS with (with --tls-key); read again
    /// on SIGHUP and when the file changes.
    #[arg(long, env = "JOBMATCH_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, env = "JOBMATCH_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve plain HTTP on an address other machines can reach (refused otherwise).
    #[arg(long, env = "JOBMATCH_ALLOW_INSECURE_HTTP")]
    allow_insecure_http: bool,
    /// A TLS-terminating reverse proxy's address or network (CIDR), repeatable:
    /// only its X-Forwarded-For and X-Forwarded-Proto are believed, and plain
    /// HTTP is then allowed off loopback.
    #[arg(long, env = "JOBMATCH_TRUSTED_PROXY", value_delimiter = ',')]
    trusted_proxy: Vec<jobmatch_api::transport::IpNetwork>,
}

impl TransportArgs {
    /// Refuses, before anything is opened, to serve clear text off this machine.
    fn check(&self, bind: &str) -> anyhow::Result<()> {
        use std::net::ToSocketAddrs;
        let addresses: Vec<std::net::SocketAddr> = bind
            .to_socket_addrs()
            .with_context(|| format!("cannot listen on `{bind}`"))?
            .collect();
        match jobmatch_api::transport::clear_text_refusal(
            &addresses,
            self.tls_cert.is_some(),
            self.allow_insecure_http,
            !self.trusted_proxy.is_empty(),
        ) {
            Some(refusal) => bail!(refusal),
            None => Ok(()),
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API.
    Serve {
        /// Address and port to listen on.
        #[arg(long, env = "JOBMATCH_BIND", default_value = "127.0.0.1:8080")]
        bind: String,
        #[command(flatten)]
        storage: StorageArgs,
        /// Load a demonstration data set into an empty database and print a key to try it with.
        #[arg(long)]
        demo: bool,
        #[command(flatten)]
        limits: LimitArgs,
        #[command(flatten)]
        backups: backup::ScheduleArgs,
        #[command(flatten)]
        transport: TransportArgs,
    },
    /// Copy the SQLite database, consistently, while the server runs.
    ///
    /// Writes one file: a manifest (time, schema version, change-feed position,
    /// row counts, SHA-256) and the database, encrypted with age when a
    /// passphrase or a recipient is given. On PostgreSQL, prints the pg_dump
    /// command to use instead.
    Backup {
        /// The backup file to write (replaced if it exists).
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        encryption: backup::EncryptArgs,
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// Restore a backup into a data directory, then replay the erasure journal.
    ///
    /// Checks the manifest and checksum first; refuses a backup of a newer
    /// schema, a wrong passphrase, a damaged or truncated file. Start the
    /// server afterwards: it rebuilds search and matching from the restored
    /// database.
    Restore {
        /// The backup file.
        file: PathBuf,
        #[command(flatten)]
        keys: backup::DecryptArgs,
        /// The erasure journal to replay; defaults to erasure-journal.jsonl
        /// beside the backup file.
        #[arg(long)]
        erasure_journal: Option<PathBuf>,
        /// Replace the database already in the data directory (stop the server first).
        #[arg(long)]
        replace: bool,
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// Make a TLS certificate for this machine.
    Tls {
        #[command(subcommand)]
        command: tls::TlsCommand,
    },
    /// Manage API keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// Manage what erasures leave behind.
    Erasures {
        #[command(subcommand)]
        command: ErasuresCommand,
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Write a synthetic national-scale data set as NDJSON files for `import`.
    Gen {
        /// Returnee profiles to write (workers.ndjson).
        #[arg(long)]
        workers: usize,
        /// Vacancies to write (vacancies.ndjson).
        #[arg(long)]
        vacancies: usize,
        /// Employers to write (employers.ndjson); one per 50 vacancies when absent.
        #[arg(long)]
        employers: Option<usize>,
        /// Directory for the three files; created if missing.
        #[arg(long)]
        out: PathBuf,
        /// The same seed (and date) gives the same files.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The day dates are relative to (YYYY-MM-DD); today when absent.
        #[arg(long)]
        as_of: Option<chrono::NaiveDate>,
    },
    /// Import employers, vacancies or returnee profiles from NDJSON or CSV.
    ///
    /// Every row is validated as the API validates a create request; bad rows are
    /// reported (line, field, message) and skipped, good rows are stored. Rows are
    /// keyed on (source, external_id): importing again updates changed rows and
    /// leaves the others alone. Exit status 2 when any row was rejected.
    Import {
        /// What the file holds.
        #[arg(value_enum)]
        kind: import::Kind,
        /// The NDJSON or CSV file.
        file: PathBuf,
        /// Where the records come from; scopes their external_id.
        #[arg(long, default_value = "import")]
        source: String,
        /// ndjson or csv; guessed from the file's extension when absent.
        #[arg(long, value_enum)]
        format: Option<import::Format>,
        /// Write the rejected rows, with their line and errors, to this file.
        #[arg(long)]
        report: Option<PathBuf>,
        #[command(flatten)]
        storage: StorageArgs,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create a key; prints the key alone on the last line (it is shown only once).
    Create {
        /// admin, staff, employer or partner.
        #[arg(long)]
        role: String,
        /// The employer an employer key acts for.
        #[arg(long)]
        employer: Option<String>,
        /// Who the key is for, e.g. "Pursat MWRC counter 2".
        #[arg(long, default_value = "")]
        name: String,
        /// Days until the key expires; never when absent.
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// Make a new key for the holder of key ID, with the same role, employer,
    /// name and source: what the old key sent, and the erasures, consent
    /// decisions and links that go with it, stay the new key's. Prints the
    /// new key alone on the last line. The old key keeps working (revoked or
    /// not) until `keys revoke ID`.
    Rotate {
        /// The key to replace (from `keys list`); it may be revoked already.
        id: String,
        /// Days until the new key expires; never when absent.
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// List keys (never their secrets).
    List,
    /// Revoke a key at once.
    Revoke { id: String },
    /// Let a partner read an employer's records and vacancies (beside the
    /// employers it registered itself), with every key of its source.
    Link {
        /// One of the partner's key ids (from `keys list`).
        #[arg(long)]
        key: String,
        #[arg(long)]
        employer: String,
    },
    /// Undo `keys link`.
    Unlink {
        /// One of the partner's key ids (from `keys list`).
        #[arg(long)]
        key: String,
        #[arg(long)]
        employer: String,
    },
}

#[derive(Subcommand)]
enum ErasuresCommand {
    /// Let a source register a profile under an external id again after staff
    /// erased the profile it sent under that id. Until then its batch items and
    /// imported rows with that id are rejected, so that a re-send cannot bring
    /// an erased person back.
    Lift {
        /// The source: the sending key's source (from `keys list`) for the
        /// API, the `--source` of `import`.
        #[arg(long)]
        source: String,
        /// The external id the profile was sent with.
        #[arg(long)]
        external_id: String,
    },
}

/// mimalloc instead of the system allocator: parsing and validating documents
/// allocates small objects on every core at once, and glibc's arenas made
/// threads wait on each other's locks (a third of an import's time in malloc and
/// free, measured with perf).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("JOBMATCH_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::Openapi => {
            let document = jobmatch_api::api_document();
            println!("{}", document.to_pretty_json()?);
            Ok(())
        }
        Command::Keys { command, storage } => runtime.block_on(keys(command, storage)),
        Command::Erasures { command, storage } => runtime.block_on(erasures(command, storage)),
        Command::Gen {
            workers,
            vacancies,
            employers,
            out,
            seed,
            as_of,
        } => {
            let started = std::time::Instant::now();
            let today = as_of.unwrap_or_else(|| chrono::Utc::now().date_naive());
            let written = r#gen::write(&out, workers, vacancies, employers, seed, today)?;
            println!(
                "wrote {} employers, {} vacancies and {} workers to {} in {:.1} s",
                written.sizes.employers,
                written.sizes.vacancies,
                written.sizes.workers,
                out.display(),
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Import {
            kind,
            file,
            source,
            format,
            report,
            storage,
        } => {
            let Some(format) = format.or_else(|| import::Format::guess(&file)) else {
                bail!(
                    "cannot tell the format of {} from its name; add --format ndjson or --format csv",
                    file.display()
                );
            };
            let options = import::Options {
                kind,
                file,
                source,
                format,
                report,
            };
            let summary = runtime.block_on(async {
                let store = storage.open().await?;
                let summary = import::run(&store, &options).await;
                store.close().await;
                summary
            })?;
            println!("{summary}");
            if summary.rejected > 0 {
                eprintln!(
                    "{} rows were rejected and not imported; the other rows were",
                    summary.rejected
                );
                std::process::exit(2);
            }
            Ok(())
        }
        Command::Serve {
            bind,
            storage,
            demo,
            limits,
            backups,
            transport,
        } => {
            transport.check(&bind)?;
            runtime.block_on(serve(
                bind,
                storage,
                demo,
                limits.into(),
                backups,
                transport,
            ))
        }
        Command::Tls { command } => tls::run(command),
        Command::Backup {
            out,
            encryption,
            storage,
        } => runtime.block_on(backup_command(out, encryption, storage)),
        Command::Restore {
            file,
            keys,
            erasure_journal,
            replace,
            storage,
        } => runtime.block_on(restore_command(
            file,
            keys,
            erasure_journal,
            replace,
            storage,
        )),
    }
}

async fn serve(
    bind: String,
    storage: StorageArgs,
    demo: bool,
    limits: jobmatch_api::limits::Limits,
    backups: backup::ScheduleArgs,
    transport: TransportArgs,
) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    if storage.database_url.is_none() {
        std::fs::create_dir_all(&storage.data_dir).with_context(|| {
            format!(
                "could not create the data directory {}",
                storage.data_dir.display()
            )
        })?;
    }
    let mut store = storage.open().await?;
    if (backups.backup_dir.is_some() || backups.erasure_journal.is_some())
        && store.sqlite_file().is_none()
    {
        bail!(
            "--backup-dir and --erasure-journal are for the SQLite database; PostgreSQL's own tools own its backups: {}",
            backup::pg_dump_command(&storage.url())
        );
    }
    if let Some(path) = backups.journal_path() {
        let journal = jobmatch_store::ErasureJournal::open(&path)
            .with_context(|| format!("could not open the erasure journal {}", path.display()))?;
        store = store.with_erasure_journal(journal);
    }
    let backup_status = backups
        .backup_dir
        .as_ref()
        .map(|_| std::sync::Arc::new(jobmatch_api::backups::BackupStatus::new()));
    let reference = jobmatch_domain::Reference::embedded();
    tracing::info!(
        skills = reference.taxonomy.skills().len(),
        occupations = reference.taxonomy.occupations().len(),
        provinces = reference.gazetteer.provinces().len(),
        "reference data loaded"
    );
    let demo_key = if demo {
        Some(demo::load(&store).await?)
    } else {
        None
    };
    let search_dir = storage.data_dir.join("search");
    let tls = transport
        .tls_cert
        .zip(transport.tls_key)
        .map(|(cert, key)| jobmatch_api::tls::TlsFiles { cert, key });
    let scheme = if tls.is_some() { "https" } else { "http" };
    let options = jobmatch_api::server::StartOptions {
        limits,
        backups: backup_status.clone(),
        tls,
        trusted_proxies: jobmatch_api::transport::TrustedProxies::new(transport.trusted_proxy),
        ..Default::default()
    };
    let application =
        jobmatch_api::Application::build_with(&bind, store.clone(), Some(&search_dir), options)
            .await?;
    if let (Some(dir), Some(status)) = (&backups.backup_dir, backup_status) {
        backup::spawn_schedule(store, &backups, dir.clone(), status)?;
    }
    let address = format!("{scheme}://{}", display_address(&bind, application.port()));
    tracing::info!(%address, backend = "ready", elapsed_ms = started.elapsed().as_millis() as u64, "jobmatch is listening");
    println!("jobmatch is listening on {address}");
    println!("API documentation: {address}/docs/");
    if let Some(key) = demo_key {
        println!("Try it with this staff key (demo data only):");
        println!("  curl -H 'Authorization: Bearer {key}' {address}/v1/vacancies?limit=3");
    }
    application.run().await?;
    Ok(())
}

fn display_address(bind: &str, port: u16) -> String {
    let host = bind
        .rsplit_once(':')
        .map(|(host, _)| host)
        .unwrap_or("127.0.0.1");
    let host = if host == "0.0.0.0" || host.is_empty() {
        "127.0.0.1"
    } else {
        host
    };
    format!("{host}:{port}")
}

async fn backup_command(
    out: PathBuf,
    encryption: backup::EncryptArgs,
    storage: StorageArgs,
) -> anyhow::Result<()> {
    let url = storage.url();
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        eprintln!(
            "jobmatch does not back up PostgreSQL: the database's own tools do (pg_dump, or base backups with WAL archiving for point-in-time recovery). For this database:"
        );
        println!("{}", backup::pg_dump_command(&url));
        std::process::exit(2);
    }
    let encryption = std::sync::Arc::new(backup::Encryption::from_args(&encryption)?);
    if !encryption.is_encrypted() {
        eprintln!(
            "warning: this backup is not encrypted and holds personal data; give --recipient or a passphrase to encrypt it"
        );
    }
    let store = storage.open().await?;
    let started = std::time::Instant::now();
    let result = backup::create(&store, &out, encryption).await;
    store.close().await;
    let manifest = result?;
    eprintln!(
        "backed up {} bytes to {} in {:.1} s",
        manifest.database_bytes,
        out.display(),
        started.elapsed().as_secs_f64()
    );
    println!("{}", serde_json::to_string_pretty(&manifest)?);
    Ok(())
}

async fn restore_command(
    file: PathBuf,
    keys: backup::DecryptArgs,
    erasure_journal: Option<PathBuf>,
    replace: bool,
    storage: StorageArgs,
) -> anyhow::Result<()> {
    if storage
        .database_url
        .as_deref()
        .is_some_and(|url| !url.is_empty())
    {
        bail!(
            "restore writes the SQLite database of --data-dir; drop --database-url (PostgreSQL restores with pg_restore)"
        );
    }
    let journal = erasure_journal.unwrap_or_else(|| {
        file.parent()
            .unwrap_or(std::path::Path::new("."))
            .join(backup::JOURNAL_FILE)
    });
    let journal = if journal.exists() {
        Some(journal)
    } else {
        eprintln!(
            "warning: no erasure journal at {}: people erased after this backup was taken are not erased again",
            journal.display()
        );
        None
    };
    let started = std::time::Instant::now();
    let restored =
        backup::restore(&file, &storage.data_dir, &keys, journal.as_deref(), replace).await?;
    println!(
        "restored the backup of {} (change feed at {}) into {} in {:.1} s",
        restored.manifest.created_at.to_rfc3339(),
        restored.manifest.change_feed_seq,
        storage.data_dir.display(),
        started.elapsed().as_secs_f64()
    );
    if let Some(journal) = &restored.journal {
        println!(
            "erasure journal {}: {} erased again, {} already absent",
            journal.display(),
            restored.erasures_replayed,
            restored.erasures_already_absent
        );
    }
    println!("start the server: it rebuilds search and matching from the restored database");
    Ok(())
}

async fn erasures(command: ErasuresCommand, storage: StorageArgs) -> anyhow::Result<()> {
    let store = storage.open().await?;
    match command {
        ErasuresCommand::Lift {
            source,
            external_id,
        } => {
            if !store.lift_erasure(&source, &external_id).await? {
                bail!("source {source} has no erased profile under that external id");
            }
            println!("source {source} may register that external id again");
        }
    }
    Ok(())
}

async fn keys(command: KeysCommand, storage: StorageArgs) -> anyhow::Result<()> {
    let store = storage.open().await?;
    match command {
        KeysCommand::Create {
            role,
            employer,
            name,
            expires_in_days,
        } => {
            let Some(role) = Role::from_code(&role) else {
                bail!("--role must be one of admin, staff, employer, partner");
            };
            match (role, &employer) {
                (Role::Employer, None) => bail!("an employer key needs --employer ID"),
                (Role::Employer, Some(id)) => {
                    if store
                        .get(jobmatch_store::Entity::Employer, id)
                        .await?
                        .is_none()
                    {
                        bail!("no employer has the id {id}");
                    }
                }
                (_, Some(_)) => bail!("--employer goes only with --role employer"),
                (_, None) => {}
            }
            let expires_at = expires_in_days
                .map(|days| chrono::Utc::now() + chrono::Duration::days(i64::from(days)));
            let key = generate_key(role, employer, name, expires_at);
            store.insert_api_key(&key.record).await?;
            eprintln!(
                "created {} key {}; it is shown once:",
                role.code(),
                key.record.id
            );
            println!("{}", key.secret);
        }
        KeysCommand::Rotate {
            id,
            expires_in_days,
        } => {
            let Some(previous) = stored_key(&store, &id).await? else {
                bail!("no key has the id {id}");
            };
            let expires_at = expires_in_days
                .map(|days| chrono::Utc::now() + chrono::Duration::days(i64::from(days)));
            let key = rotated_key(&previous, expires_at);
            store.insert_api_key(&key.record).await?;
            eprintln!(
                "created {} key {} for source {}, replacing {id} (revoke it with `keys revoke {id}` \
                 once the new key is in use); it is shown once:",
                key.record.role, key.record.id, key.record.source
            );
            println!("{}", key.secret);
        }
        KeysCommand::List => {
            println!(
                "{:<36}  {:<8}  {:<36}  {:<36}  {:<20}  {:<20}  name",
                "id", "role", "source", "employer", "created", "state"
            );
            for key in store.list_api_keys().await? {
                let state = match (key.revoked_at, key.expires_at) {
                    (Some(at), _) => format!("revoked {}", at.format("%Y-%m-%d")),
                    (None, Some(at)) if at <= chrono::Utc::now() => {
                        format!("expired {}", at.format("%Y-%m-%d"))
                    }
                    (None, Some(at)) => format!("expires {}", at.format("%Y-%m-%d")),
                    (None, None) => "active".to_string(),
                };
                println!(
                    "{:<36}  {:<8}  {:<36}  {:<36}  {:<20}  {:<20}  {}",
                    key.id,
                    key.role,
                    key.source,
                    key.employer_id.as_deref().unwrap_or("-"),
                    key.created_at.format("%Y-%m-%d %H:%M"),
                    state,
                    key.name
                );
            }
        }
        KeysCommand::Revoke { id } => {
            if !store.revoke_api_key(&id).await? {
                bail!("no key has the id {id}");
            }
            println!("revoked {id}");
        }
        KeysCommand::Link { key, employer } => {
            let source = partner_source(&store, &key).await?;
            match store.link_partner(&source, &employer).await {
                Ok(()) => println!(
                    "partner {source} (key {key}) may now read employer {employer} with every key"
                ),
                Err(jobmatch_store::StoreError::ReferenceMissing) => {
                    bail!("no employer has the id {employer}")
                }
                Err(error) => return Err(error.into()),
            }
        }
        KeysCommand::Unlink { key, employer } => {
            let source = partner_source(&store, &key).await?;
            if !store.unlink_partner(&source, &employer).await? {
                bail!("partner {source} (key {key}) was not linked to employer {employer}");
            }
            println!("partner {source} (key {key}) no longer reads employer {employer}");
        }
    }
    Ok(())
}

/// The stored key with this id, revoked or not.
async fn stored_key(
    store: &jobmatch_store::Store,
    id: &str,
) -> anyhow::Result<Option<jobmatch_store::ApiKey>> {
    Ok(store
        .list_api_keys()
        .await?
        .into_iter()
        .find(|stored| stored.id == id))
}

/// The source of the partner key with this id: links belong to the partner,
/// whichever of its keys names it.
async fn partner_source(store: &jobmatch_store::Store, key_id: &str) -> anyhow::Result<String> {
    match stored_key(store, key_id).await? {
        Some(stored) if stored.role == Role::Partner.code() => Ok(stored.source),
        _ => bail!("no partner key has the id {key_id}"),
    }
}
