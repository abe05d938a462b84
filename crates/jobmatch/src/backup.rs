//! `jobmatch backup`, `jobmatch restore` and the backups `serve` takes on a
//! schedule.
//!
//! A backup is one file. Unencrypted it is a line `JOBMATCH-BACKUP 1`, a line
//! with the manifest (JSON: when, schema version, change-feed position, row
//! counts, size and SHA-256 of the database), then the database: a
//! consistent copy made by SQLite's `VACUUM INTO` while the server runs.
//! Encrypted, that whole stream is an age file (passphrase or X25519
//! recipients), whose chunks are authenticated: a wrong passphrase, a changed
//! byte or a cut-off end is refused. Restore checks the manifest, the size and
//! the checksum, and the copy's own counts, before the copy replaces anything.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use age::secrecy::SecretString;
use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use jobmatch_store::{ErasureJournal, SCHEMA_VERSION, SnapshotInfo, Store};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The first line of an unencrypted backup (and of an encrypted one's plaintext).
const MAGIC: &str = "JOBMATCH-BACKUP 1";
/// The first bytes of an age file.
const AGE_MAGIC: &[u8] = b"age-encryption.org/";
/// The manifest line is small; a longer one is not a manifest.
const MAX_MANIFEST_BYTES: u64 = 64 * 1024;
/// The erasure journal's file name in a backup directory.
pub const JOURNAL_FILE: &str = "erasure-journal.jsonl";
/// Environment variable that may hold the passphrase (never a flag: flags show
/// in the process list).
const PASSPHRASE_ENV: &str = "JOBMATCH_BACKUP_PASSPHRASE";
/// The key id the audit log records for an erasure replayed from the journal.
const JOURNAL_AUDIT_KEY: &str = "erasure-journal";

/// What a backup holds, written at its start.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    /// When the copy was taken (RFC 3339 UTC).
    pub created_at: DateTime<Utc>,
    /// The jobmatch version that wrote it.
    pub jobmatch_version: String,
    /// The database's schema version (its last migration).
    pub schema_version: i64,
    /// The last change-feed position the copy holds.
    pub change_feed_seq: i64,
    /// Rows per table in the copy.
    pub rows: std::collections::BTreeMap<String, i64>,
    /// Size of the database that follows the manifest, in bytes.
    pub database_bytes: u64,
    /// SHA-256 of those bytes, hex.
    pub database_sha256: String,
}

/// How to encrypt a backup.
#[derive(clap::Args, Clone, Default)]
pub struct EncryptArgs {
    /// Encrypt with the passphrase in this file (its first line). The
    /// passphrase may instead be in the environment variable
    /// JOBMATCH_BACKUP_PASSPHRASE.
    #[arg(long, env = "JOBMATCH_BACKUP_PASSPHRASE_FILE")]
    pub passphrase_file: Option<PathBuf>,
    /// Encrypt to this age public key (`age1...`); may be repeated. Only the
    /// holder of the matching secret key can restore.
    #[arg(long = "recipient", env = "JOBMATCH_BACKUP_RECIPIENT")]
    pub recipients: Vec<String>,
}

/// How to decrypt a backup.
#[derive(clap::Args, Clone, Default)]
pub struct DecryptArgs {
    /// The passphrase is the first line of this file (or in
    /// JOBMATCH_BACKUP_PASSPHRASE).
    #[arg(long, env = "JOBMATCH_BACKUP_PASSPHRASE_FILE")]
    pub passphrase_file: Option<PathBuf>,
    /// An age secret key file (`AGE-SECRET-KEY-1...` lines, as `age-keygen` writes).
    #[arg(long)]
    pub identity_file: Option<PathBuf>,
}

fn read_passphrase(file: Option<&Path>) -> anyhow::Result<Option<SecretString>> {
    if let Some(file) = file {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("could not read the passphrase file {}", file.display()))?;
        let line = text.lines().next().unwrap_or_default();
        if line.is_empty() {
            bail!("the passphrase file {} is empty", file.display());
        }
        return Ok(Some(SecretString::from(line.to_string())));
    }
    match std::env::var(PASSPHRASE_ENV) {
        Ok(value) if !value.is_empty() => Ok(Some(SecretString::from(value))),
        _ => Ok(None),
    }
}

/// The encryption a backup gets.
pub struct Encryption {
    passphrase: Option<SecretString>,
    recipients: Vec<age::x25519::Recipient>,
}

impl Encryption {
    pub fn from_args(args: &EncryptArgs) -> anyhow::Result<Encryption> {
        let passphrase = read_passphrase(args.passphrase_file.as_deref())?;
        let recipients = args
            .recipients
            .iter()
            .map(|text| {
                text.trim()
                    .parse::<age::x25519::Recipient>()
                    .map_err(|error| anyhow::anyhow!("--recipient {text}: {error}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        if passphrase.is_some() && !recipients.is_empty() {
            bail!("give a passphrase or recipients, not both");
        }
        Ok(Encryption {
            passphrase,
            recipients,
        })
    }

    pub fn is_encrypted(&self) -> bool {
        self.passphrase.is_some() || !self.recipients.is_empty()
    }

    fn encryptor(&self) -> anyhow::Result<Option<age::Encryptor>> {
        if let Some(passphrase) = &self.passphrase {
            return Ok(Some(age::Encryptor::with_user_passphrase(
                passphrase.clone(),
            )));
        }
        if self.recipients.is_empty() {
            return Ok(None);
        }
        let encryptor = age::Encryptor::with_recipients(
            self.recipients
                .iter()
                .map(|recipient| recipient as &dyn age::Recipient),
        )
        .context("could not set up encryption")?;
        Ok(Some(encryptor))
    }
}

/// Takes a backup of the SQLite database behind `store` into `out` and returns
/// its manifest. `out` appears only once complete (written beside it, flushed
/// to the disk, then renamed); an existing file is replaced.
pub async fn create(
    store: &Store,
    out: &Path,
    encryption: Arc<Encryption>,
) -> anyhow::Result<Manifest> {
    let Some(database) = store.sqlite_file() else {
        bail!("only an SQLite database file can be backed up this way");
    };
    // The plain copy stays beside the live database (same disk, same people
    // may read it), never on the backup medium.
    let directory = database
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let snapshot = directory.join(format!(".jobmatch-backup-{}.db", uuid::Uuid::new_v4()));
    let created_at = Utc::now();
    let result = async {
        let info = store
            .snapshot_sqlite(&snapshot)
            .await
            .context("could not copy the database")?;
        let out = out.to_path_buf();
        let snapshot = snapshot.clone();
        tokio::task::spawn_blocking(move || {
            write_backup(&snapshot, &info, created_at, &out, &encryption)
        })
        .await
        .context("the backup writer stopped")?
    }
    .await;
    remove_if_present(&snapshot);
    result
}

fn remove_if_present(path: &Path) {
    if let Err(error) = std::fs::remove_file(path)
        && error.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(%error, path = %path.display(), "could not remove a temporary file");
    }
}

/// SHA-256 and size of a file.
fn digest_file(path: &Path) -> std::io::Result<(String, u64)> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let bytes = std::io::copy(&mut file, &mut hasher)?;
    Ok((hex::encode(hasher.finalize()), bytes))
}

fn write_backup(
    snapshot: &Path,
    info: &SnapshotInfo,
    created_at: DateTime<Utc>,
    out: &Path,
    encryption: &Encryption,
) -> anyhow::Result<Manifest> {
    let (database_sha256, database_bytes) =
        digest_file(snapshot).context("could not read the database copy")?;
    let manifest = Manifest {
        created_at,
        jobmatch_version: env!("CARGO_PKG_VERSION").to_string(),
        schema_version: info.schema_version,
        change_feed_seq: info.change_feed_seq,
        rows: info.rows.clone(),
        database_bytes,
        database_sha256,
    };
    let partial = partial_path(out);
    let result = (|| -> anyhow::Result<()> {
        let file = create_private(&partial, false)
            .with_context(|| format!("could not create {}", partial.display()))?;
        let mut output = std::io::BufWriter::with_capacity(1 << 20, file);
        match encryption.encryptor()? {
            Some(encryptor) => {
                let mut writer = encryptor.wrap_output(&mut output)?;
                write_plain(&mut writer, &manifest, snapshot)?;
                writer.finish()?;
            }
            None => write_plain(&mut output, &manifest, snapshot)?,
        }
        let file = output.into_inner().map_err(|error| error.into_error())?;
        file.sync_all()?;
        std::fs::rename(&partial, out)?;
        sync_directory(out);
        Ok(())
    })();
    if result.is_err() {
        remove_if_present(&partial);
    }
    result.with_context(|| format!("could not write the backup {}", out.display()))?;
    Ok(manifest)
}

/// Creates a file only its owner may read (it holds personal data); with
/// `new`, fails if it exists.
fn create_private(path: &Path, new: bool) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if new {
        options.create_new(true);
    } else {
        options.create(true).truncate(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Removes what a backup or restore cut short by a stop left beside the
/// database: plain copies holding personal data, perhaps of people erased since.
pub fn remove_leftover_copies(database: &Path) {
    let Some(directory) = database.parent() else {
        return;
    };
    let directory = if directory.as_os_str().is_empty() {
        Path::new(".")
    } else {
        directory
    };
    let Ok(entries) = std::fs::read_dir(directory) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(".jobmatch-backup-") || name.starts_with(".jobmatch-restore-") {
            remove_if_present(&entry.path());
        }
    }
}

fn partial_path(out: &Path) -> PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    out.with_file_name(name)
}

/// Flushes a rename in `file`'s directory to the disk (best effort: not every
/// file system lets a directory be opened).
fn sync_directory(file: &Path) {
    if let Some(parent) = file.parent() {
        let parent = if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        };
        if let Ok(directory) = std::fs::File::open(parent) {
            let _ = directory.sync_all();
        }
    }
}

fn write_plain(
    output: &mut impl Write,
    manifest: &Manifest,
    snapshot: &Path,
) -> anyhow::Result<()> {
    writeln!(output, "{MAGIC}")?;
    serde_json::to_writer(&mut *output, manifest)?;
    writeln!(output)?;
    let mut database = std::fs::File::open(snapshot)?;
    let copied = std::io::copy(&mut database, output)?;
    if copied != manifest.database_bytes {
        bail!("the database copy changed while it was written");
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Restore
// ---------------------------------------------------------------------------

/// Why a backup was refused, in words an operator can act on.
fn damaged(detail: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("the backup is damaged or incomplete ({detail}); use another copy")
}

/// Opens a backup for reading its plaintext: decrypts an age file with the
/// given passphrase or identities.
fn open_backup(file: &Path, keys: &DecryptArgs) -> anyhow::Result<Box<dyn BufRead>> {
    let handle =
        std::fs::File::open(file).with_context(|| format!("could not open {}", file.display()))?;
    let mut input = BufReader::with_capacity(1 << 20, handle);
    let start = input.fill_buf().context("could not read the backup")?;
    if start.is_empty() {
        return Err(damaged("the file is empty"));
    }
    if !start.starts_with(AGE_MAGIC) {
        return Ok(Box::new(input));
    }
    let decryptor = age::Decryptor::new_buffered(input).map_err(|error| match error {
        age::DecryptError::Io(error) => damaged(error),
        other => damaged(other),
    })?;
    let passphrase = read_passphrase(keys.passphrase_file.as_deref())?;
    let mut identities: Vec<Box<dyn age::Identity>> = Vec::new();
    if decryptor.is_scrypt() {
        let Some(passphrase) = passphrase else {
            bail!(
                "this backup is encrypted with a passphrase: give it in {PASSPHRASE_ENV} or with --passphrase-file"
            );
        };
        identities.push(Box::new(age::scrypt::Identity::new(passphrase)));
    } else {
        let Some(identity_file) = &keys.identity_file else {
            bail!(
                "this backup is encrypted to a public key: give the secret key with --identity-file"
            );
        };
        let text = std::fs::read_to_string(identity_file).with_context(|| {
            format!(
                "could not read the identity file {}",
                identity_file.display()
            )
        })?;
        for line in text.lines().map(str::trim) {
            if line.starts_with("AGE-SECRET-KEY-") {
                let identity: age::x25519::Identity = line
                    .parse()
                    .map_err(|error| anyhow::anyhow!("{}: {error}", identity_file.display()))?;
                identities.push(Box::new(identity));
            }
        }
        if identities.is_empty() {
            bail!("{} holds no age secret key", identity_file.display());
        }
    }
    let reader = decryptor
        .decrypt(identities.iter().map(|identity| identity.as_ref()))
        .map_err(|error| match error {
            age::DecryptError::DecryptionFailed
            | age::DecryptError::NoMatchingKeys
            | age::DecryptError::KeyDecryptionFailed => {
                anyhow::anyhow!("wrong passphrase or key: this backup cannot be decrypted with it")
            }
            age::DecryptError::Io(error) => damaged(error),
            other => damaged(other),
        })?;
    Ok(Box::new(BufReader::with_capacity(1 << 20, reader)))
}

/// Reads the magic line and the manifest.
fn read_manifest(input: &mut dyn BufRead) -> anyhow::Result<Manifest> {
    let mut line = String::new();
    input
        .take(MAGIC.len() as u64 + 1)
        .read_line(&mut line)
        .map_err(damaged)?;
    if line.trim_end() != MAGIC {
        bail!("this is not a jobmatch backup (or it is damaged)");
    }
    let mut manifest_line = Vec::new();
    input
        .take(MAX_MANIFEST_BYTES)
        .read_until(b'\n', &mut manifest_line)
        .map_err(damaged)?;
    serde_json::from_slice(&manifest_line).map_err(|error| damaged(format!("manifest: {error}")))
}

/// What a restore did.
pub struct Restored {
    pub manifest: Manifest,
    /// Erasures from the journal applied to the restored database.
    pub erasures_replayed: usize,
    /// Journal entries whose person was already absent from the backup.
    pub erasures_already_absent: usize,
    pub journal: Option<PathBuf>,
}

/// Restores `file` into `data_dir` (whose database must not exist unless
/// `replace`), replays the erasure journal at `journal`, and removes the
/// search index so that the server rebuilds it from the restored database.
pub async fn restore(
    file: &Path,
    data_dir: &Path,
    keys: &DecryptArgs,
    journal: Option<&Path>,
    replace: bool,
) -> anyhow::Result<Restored> {
    let database = data_dir.join("jobmatch.db");
    if database.exists() && !replace {
        bail!(
            "{} already holds a database; stop the server and add --replace to overwrite it",
            data_dir.display()
        );
    }
    let journal_entries = match journal {
        Some(path) => ErasureJournal::read(path)
            .with_context(|| format!("could not read the erasure journal {}", path.display()))?,
        None => Vec::new(),
    };
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("could not create {}", data_dir.display()))?;
    let restoring = data_dir.join(format!(".jobmatch-restore-{}.db", uuid::Uuid::new_v4()));
    let result = async {
        let manifest = {
            let file = file.to_path_buf();
            let keys = keys.clone();
            let restoring = restoring.clone();
            tokio::task::spawn_blocking(move || unpack(&file, &keys, &restoring))
                .await
                .context("the restore reader stopped")??
        };
        let info = jobmatch_store::inspect_sqlite_file(&restoring)
            .await
            .map_err(|error| damaged(format!("the database: {error}")))?;
        if info.schema_version != manifest.schema_version
            || info.change_feed_seq != manifest.change_feed_seq
            || info.rows != manifest.rows
        {
            return Err(damaged("the database does not hold what its manifest says"));
        }
        // Connecting migrates an older schema to this build's.
        let store = Store::connect(&restoring.to_string_lossy())
            .await
            .context("could not open the restored database")?;
        let replayed = replay_journal(&store, &journal_entries).await;
        store.close().await;
        let erasures_replayed = replayed?;
        // Closing the last connection checkpointed the write-ahead log and
        // removed it; an empty leftover is harmless, a full one is not.
        for suffix in ["-wal", "-shm"] {
            let side = sidecar(&restoring, suffix);
            if suffix == "-wal" && std::fs::metadata(&side).is_ok_and(|meta| meta.len() > 0) {
                bail!("the restored database was not closed cleanly; try again");
            }
            remove_if_present(&side);
        }
        for suffix in ["-wal", "-shm"] {
            remove_if_present(&sidecar(&database, suffix));
        }
        std::fs::rename(&restoring, &database)
            .with_context(|| format!("could not put the database in {}", data_dir.display()))?;
        sync_directory(&database);
        // The search index records the feed position of the database it was
        // built from. The server already rebuilds an index that is ahead of the
        // feed, but one built from another history (a backup of another
        // machine) can be behind it and still hold other records: removed, it
        // is always rebuilt from the restored database.
        let search = data_dir.join("search");
        if search.exists() {
            std::fs::remove_dir_all(&search).with_context(|| {
                format!("could not remove the old search index {}", search.display())
            })?;
        }
        Ok(Restored {
            manifest,
            erasures_replayed,
            erasures_already_absent: journal_entries.len() - erasures_replayed,
            journal: journal.map(Path::to_path_buf),
        })
    }
    .await;
    if result.is_err() {
        remove_if_present(&restoring);
        for suffix in ["-wal", "-shm"] {
            remove_if_present(&sidecar(&restoring, suffix));
        }
    }
    result
}

fn sidecar(database: &Path, suffix: &str) -> PathBuf {
    let mut name = database.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

/// Decrypts and checks the backup, writing its database to `restoring`.
fn unpack(file: &Path, keys: &DecryptArgs, restoring: &Path) -> anyhow::Result<Manifest> {
    let mut input = open_backup(file, keys)?;
    let manifest = read_manifest(&mut *input)?;
    if manifest.schema_version > SCHEMA_VERSION {
        bail!(
            "this backup was made by a newer jobmatch ({}, schema {}); this one knows schema {} at most: restore it with that version or newer",
            manifest.jobmatch_version,
            manifest.schema_version,
            SCHEMA_VERSION
        );
    }
    let output = create_private(restoring, true)
        .with_context(|| format!("could not create {}", restoring.display()))?;
    let mut output = std::io::BufWriter::with_capacity(1 << 20, output);
    let mut hasher = Sha256::new();
    let mut remaining = manifest.database_bytes;
    let mut buffer = vec![0u8; 1 << 20];
    while remaining > 0 {
        let want = remaining.min(buffer.len() as u64) as usize;
        let read = input.read(&mut buffer[..want]).map_err(damaged)?;
        if read == 0 {
            return Err(damaged(format!(
                "it ends after {} of {} database bytes",
                manifest.database_bytes - remaining,
                manifest.database_bytes
            )));
        }
        hasher.update(&buffer[..read]);
        output.write_all(&buffer[..read])?;
        remaining -= read as u64;
    }
    // Reading to the end also checks an encrypted file's last chunk.
    let mut rest = [0u8; 1];
    if input.read(&mut rest).map_err(damaged)? != 0 {
        return Err(damaged("bytes follow the database"));
    }
    if hex::encode(hasher.finalize()) != manifest.database_sha256 {
        return Err(damaged(
            "the database's checksum does not match its manifest",
        ));
    }
    let output = output.into_inner().map_err(|error| error.into_error())?;
    output.sync_all()?;
    Ok(manifest)
}

/// Erases every journalled person still in the restored database; returns how
/// many were.
async fn replay_journal(
    store: &Store,
    entries: &[jobmatch_store::JournalEntry],
) -> anyhow::Result<usize> {
    let mut erased = 0;
    for entry in entries {
        let event = jobmatch_store::AuditEvent {
            key_id: JOURNAL_AUDIT_KEY,
            role: "admin",
            action: jobmatch_store::AuditAction::ProfileErased,
            worker_id: &entry.worker_id,
            vacancy_id: None,
            request_id: None,
        };
        if store
            .erase_worker(&event)
            .await
            .context("could not replay the erasure journal")?
        {
            erased += 1;
        }
    }
    Ok(erased)
}

// ---------------------------------------------------------------------------
// Scheduled backups (serve)
// ---------------------------------------------------------------------------

/// `serve`'s backup flags.
#[derive(clap::Args, Clone)]
pub struct ScheduleArgs {
    /// Take backups into this directory on a schedule (SQLite only). The
    /// erasure journal is kept there too unless --erasure-journal says otherwise.
    #[arg(long, env = "JOBMATCH_BACKUP_DIR")]
    pub backup_dir: Option<PathBuf>,
    /// Time between backups: a number with s, m, h or d (`6h`).
    #[arg(long, env = "JOBMATCH_BACKUP_EVERY", default_value = "6h", value_parser = parse_interval)]
    pub backup_every: Duration,
    /// Backups to keep; older ones are deleted after each good backup.
    #[arg(long, env = "JOBMATCH_BACKUP_KEEP", default_value_t = 14, value_parser = clap::value_parser!(u32).range(1..))]
    pub backup_keep: u32,
    #[command(flatten)]
    pub encryption: EncryptArgs,
    /// Append every erasure to this journal before it commits, so that
    /// `restore` erases again whoever was erased after a backup. Defaults to
    /// erasure-journal.jsonl in --backup-dir.
    #[arg(long, env = "JOBMATCH_ERASURE_JOURNAL")]
    pub erasure_journal: Option<PathBuf>,
}

impl ScheduleArgs {
    /// Where erasures are journalled, if anywhere.
    pub fn journal_path(&self) -> Option<PathBuf> {
        self.erasure_journal
            .clone()
            .or_else(|| self.backup_dir.as_ref().map(|dir| dir.join(JOURNAL_FILE)))
    }
}

/// `6h`, `30m`, `90s`, `1d`.
pub fn parse_interval(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("`{text}` needs a unit: s, m, h or d"))?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` does not start with a number"))?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("`{unit}` is not a unit: use s, m, h or d")),
    };
    if number == 0 {
        return Err("the interval must be more than zero".to_string());
    }
    Ok(Duration::from_secs(number * seconds))
}

/// Backup files in a backup directory are named by their UTC time, so that
/// names sort in time order.
const FILE_PREFIX: &str = "jobmatch-";
const NAME_TIME_FORMAT: &str = "%Y%m%dT%H%M%SZ";

fn backup_name(at: DateTime<Utc>, encrypted: bool) -> String {
    let suffix = if encrypted { ".backup.age" } else { ".backup" };
    format!("{FILE_PREFIX}{}{suffix}", at.format(NAME_TIME_FORMAT))
}

/// The backups in `dir`, oldest first, with the time in their names.
fn list_backups(dir: &Path) -> Vec<(DateTime<Utc>, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<(DateTime<Utc>, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let stem = name
                .strip_prefix(FILE_PREFIX)?
                .strip_suffix(".backup.age")
                .or_else(|| name.strip_prefix(FILE_PREFIX)?.strip_suffix(".backup"))?;
            let at = chrono::NaiveDateTime::parse_from_str(stem, NAME_TIME_FORMAT).ok()?;
            Some((at.and_utc(), entry.path()))
        })
        .collect();
    found.sort();
    found
}

/// Starts taking backups on a schedule: at once when `dir` holds none, else
/// when the newest is `every` old. Records each good backup in `status`.
pub fn spawn_schedule(
    store: Store,
    args: &ScheduleArgs,
    dir: PathBuf,
    status: Arc<jobmatch_api::backups::BackupStatus>,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("could not create the backup directory {}", dir.display()))?;
    let encryption = Arc::new(Encryption::from_args(&args.encryption)?);
    if !encryption.is_encrypted() {
        tracing::warn!(
            "scheduled backups are not encrypted: they hold personal data (see --recipient)"
        );
    }
    // Leftovers of a backup cut short by a stop.
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.filter_map(Result::ok) {
            if entry.file_name().to_string_lossy().ends_with(".partial") {
                remove_if_present(&entry.path());
            }
        }
    }
    if let Some(database) = store.sqlite_file() {
        remove_leftover_copies(&database);
    }
    if let Some((at, _)) = list_backups(&dir).last() {
        status.record_success(*at);
    }
    let every = args.backup_every;
    let keep = args.backup_keep as usize;
    tokio::spawn(async move {
        loop {
            let next = match status.last_success() {
                Some(at) => {
                    let age = (Utc::now() - at).to_std().unwrap_or_default();
                    every.saturating_sub(age)
                }
                None => Duration::ZERO,
            };
            tokio::time::sleep(next).await;
            let at = Utc::now();
            let out = dir.join(backup_name(at, encryption.is_encrypted()));
            match create(&store, &out, encryption.clone()).await {
                Ok(manifest) => {
                    status.record_success(manifest.created_at);
                    tracing::info!(
                        file = %out.display(),
                        bytes = manifest.database_bytes,
                        change_feed_seq = manifest.change_feed_seq,
                        "backup taken"
                    );
                    let backups = list_backups(&dir);
                    let excess = backups.len().saturating_sub(keep);
                    for (_, old) in &backups[..excess] {
                        remove_if_present(old);
                    }
                }
                Err(error) => {
                    tracing::error!(error = format!("{error:#}"), "backup failed");
                    // Try again sooner than a whole interval, but do not spin.
                    tokio::time::sleep(every.min(Duration::from_secs(600))).await;
                }
            }
        }
    });
    Ok(())
}

/// The `pg_dump` command that backs up the PostgreSQL database at `url`
/// (password removed: pg_dump reads it from PGPASSWORD or ~/.pgpass).
pub fn pg_dump_command(url: &str) -> String {
    let without_password = match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            let user = credentials.split(':').next().unwrap_or_default();
            format!("{}{}{}", &url[..scheme_end + 3], user, &url[at..])
        }
        _ => url.to_string(),
    };
    format!(
        "pg_dump --format=custom --file=jobmatch-$(date -u +%Y%m%dT%H%M%SZ).dump '{without_password}'"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_take_a_unit() {
        assert_eq!(parse_interval("6h"), Ok(Duration::from_secs(6 * 3600)));
        assert_eq!(parse_interval("90s"), Ok(Duration::from_secs(90)));
        assert!(parse_interval("6").is_err());
        assert!(parse_interval("0h").is_err());
        assert!(parse_interval("6w").is_err());
    }

    #[test]
    fn the_pg_dump_command_never_shows_the_password() {
        let command =
            pg_dump_command("postgres://jobmatch:s3cret@db:5432/jobmatch?sslmode=require");
        assert!(!command.contains("s3cret"), "{command}");
        assert!(
            command.contains("'postgres://jobmatch@db:5432/jobmatch?sslmode=require'"),
            "{command}"
        );
    }

    #[test]
    fn backup_names_sort_in_time_order_and_parse_back() {
        let dir = tempfile::tempdir().expect("temp dir");
        let early = "2026-01-02T03:04:05Z"
            .parse::<DateTime<Utc>>()
            .expect("time");
        let late = "2026-11-02T03:04:05Z"
            .parse::<DateTime<Utc>>()
            .expect("time");
        std::fs::write(dir.path().join(backup_name(late, true)), b"x").expect("write");
        std::fs::write(dir.path().join(backup_name(early, false)), b"x").expect("write");
        std::fs::write(dir.path().join(JOURNAL_FILE), b"").expect("write");
        let found: Vec<_> = list_backups(dir.path())
            .into_iter()
            .map(|(at, _)| at)
            .collect();
        assert_eq!(found, vec![early, late]);
    }
}
