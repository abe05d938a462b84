//! Backups a resource centre can trust, tested on the real binary: a backup taken
//! while 8 writers write holds every write acknowledged before it started; a
//! restore over a live data directory leaves search and matching agreeing with
//! the restored database; damaged, truncated, newer or wrongly keyed backups are
//! refused; a person erased after a backup stays erased after a restore; and
//! `serve --backup-dir` takes backups and shows their age.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

// This file starts its servers with backup flags, so it uses only part of `common`.
#[allow(dead_code)]
mod common;
use common::{create_key, searchable_vacancies, status_of, wait_until_ready};

const BINARY: &str = env!("CARGO_BIN_EXE_jobmatch");

/// A `jobmatch serve` on SQLite under `data_dir`, with extra flags.
struct Server {
    child: Child,
    address: String,
}

impl Server {
    fn start(data_dir: &Path, extra: &[&str]) -> Server {
        let mut child = Command::new(BINARY)
            .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(extra)
            .env_remove("JOBMATCH_DATABASE_URL")
            .env("JOBMATCH_LOG", "warn")
            .env("JOBMATCH_RATE_LIMIT_PER_MINUTE", "10000000")
            .env("JOBMATCH_RATE_LIMIT_BURST", "1000000")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("jobmatch starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let address = loop {
            let line = lines
                .next()
                .expect("server printed its address")
                .expect("readable stdout");
            if let Some(address) = line.strip_prefix("jobmatch is listening on ") {
                break address.trim().to_string();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Server { child, address }
    }

    /// SIGTERM, and wait until the process has gone (its database closed).
    fn stop(mut self) {
        let delivered = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(delivered.success(), "SIGTERM delivered");
        self.child.wait().expect("server reaped");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn jobmatch(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut command = Command::new(BINARY);
    command
        .args(args)
        .env_remove("JOBMATCH_DATABASE_URL")
        .env_remove("JOBMATCH_BACKUP_PASSPHRASE")
        .env("JOBMATCH_LOG", "warn");
    for (name, value) in envs {
        command.env(name, value);
    }
    command.output().expect("jobmatch runs")
}

fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn path(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

fn skill_id() -> String {
    jobmatch_domain::Reference::embedded().taxonomy.skills()[0]
        .id
        .clone()
}

fn worker_body(name: &str) -> Value {
    json!({
        "full_name": name,
        "province_code": "22",
        "expected_wage_usd": 220,
        "skills": [{"skill": skill_id(), "level": 2}],
    })
}

fn vacancy_body(employer_id: &str, title: &str) -> Value {
    json!({
        "employer_id": employer_id,
        "title": title,
        "sector": "garment",
        "province_code": "22",
        "positions": 2,
        "wage_min_usd": 200,
        "wage_max_usd": 260,
        "required_skills": [{"skill": skill_id(), "min_level": 1}],
    })
}

async fn create(client: &reqwest::Client, url: String, key: &str, body: &Value) -> String {
    let response = client
        .post(url)
        .bearer_auth(key)
        .json(body)
        .send()
        .await
        .expect("server answers");
    assert_eq!(response.status(), 201, "created");
    let body: Value = response.json().await.expect("JSON");
    body["id"].as_str().expect("id").to_string()
}

/// What the writers had acknowledged, in order, by kind.
#[derive(Default)]
struct Acknowledged {
    workers: Vec<String>,
    vacancies: Vec<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_eight_writers_restores_every_earlier_write_and_the_indexes_follow_it() {
    let data_dir = tempfile::tempdir().expect("temporary directory");
    let backups = tempfile::tempdir().expect("temporary directory");
    let key = create_key(data_dir.path(), "");
    let server = Server::start(data_dir.path(), &[]);
    let address = server.address.clone();
    let client = reqwest::Client::new();
    let employer_id = create(
        &client,
        format!("{address}/v1/employers"),
        &key,
        &json!({"name": "Backup Garment", "sector": "garment", "province_code": "22"}),
    )
    .await;

    let acknowledged = Arc::new(Mutex::new(Acknowledged::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for writer in 0..8 {
        let (client, acknowledged, stop) = (client.clone(), acknowledged.clone(), stop.clone());
        let (address, key, employer_id) = (address.clone(), key.clone(), employer_id.clone());
        writers.push(tokio::spawn(async move {
            let writes_vacancies = writer % 2 == 1;
            let mut sequence = 0;
            while !stop.load(Ordering::Relaxed) {
                sequence += 1;
                let name = format!("Backup writer {writer} record {sequence}");
                let id = if writes_vacancies {
                    let body = vacancy_body(&employer_id, &name);
                    create(&client, format!("{address}/v1/vacancies"), &key, &body).await
                } else {
                    create(
                        &client,
                        format!("{address}/v1/workers"),
                        &key,
                        &worker_body(&name),
                    )
                    .await
                };
                let mut acknowledged = acknowledged.lock().expect("not poisoned");
                if writes_vacancies {
                    acknowledged.vacancies.push(id);
                } else {
                    acknowledged.workers.push(id);
                }
            }
        }));
    }
    let count = |acknowledged: &Mutex<Acknowledged>| {
        let acknowledged = acknowledged.lock().expect("not poisoned");
        (acknowledged.workers.len(), acknowledged.vacancies.len())
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while count(&acknowledged).0 + count(&acknowledged).1 < 150 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Everything acknowledged now was acknowledged before the backup started.
    let (workers_before, vacancies_before) = count(&acknowledged);
    let backup_file = backups.path().join("under-load.backup");
    let backup = {
        let (data, out) = (
            path(data_dir.path()).to_string(),
            path(&backup_file).to_string(),
        );
        tokio::task::spawn_blocking(move || {
            jobmatch(&["backup", "--out", &out, "--data-dir", &data], &[])
        })
        .await
        .expect("backup ran")
    };
    assert!(
        backup.status.success(),
        "backup failed: {}",
        stderr_of(&backup)
    );
    // Writes go on after the backup, so the live indexes get ahead of it.
    let goal = count(&acknowledged).0 + count(&acknowledged).1 + 100;
    while count(&acknowledged).0 + count(&acknowledged).1 < goal && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.await.expect("writer finished");
    }
    wait_until_ready(&address, Duration::from_secs(60)).await;
    server.stop();
    let acknowledged = Arc::try_unwrap(acknowledged)
        .ok()
        .expect("writers are done")
        .into_inner()
        .expect("not poisoned");
    assert!(
        acknowledged.workers.len() > workers_before
            && acknowledged.vacancies.len() > vacancies_before,
        "writes went on after the backup"
    );

    // Restore over the data directory the server used: its search index holds
    // vacancies written after the backup.
    let restore = jobmatch(
        &[
            "restore",
            path(&backup_file),
            "--data-dir",
            path(data_dir.path()),
            "--replace",
        ],
        &[],
    );
    assert!(
        restore.status.success(),
        "restore failed: {}",
        stderr_of(&restore)
    );

    let server = Server::start(data_dir.path(), &[]);
    let address = server.address.clone();
    wait_until_ready(&address, Duration::from_secs(60)).await;
    // Writes after the restore reach search and matching too (a search index
    // left claiming a feed position ahead of the restored feed would skip them).
    let mut acknowledged = acknowledged;
    let after_restore = "Backup writer after the restore";
    acknowledged.vacancies.push(
        create(
            &client,
            format!("{address}/v1/vacancies?wait_for=indexed"),
            &key,
            &vacancy_body(&employer_id, after_restore),
        )
        .await,
    );
    acknowledged.workers.push(
        create(
            &client,
            format!("{address}/v1/workers?wait_for=indexed"),
            &key,
            &worker_body(after_restore),
        )
        .await,
    );
    let store = jobmatch_store::Store::connect(path(&data_dir.path().join("jobmatch.db")))
        .await
        .expect("restored database opens");
    let in_database = |entity| {
        let store = store.clone();
        async move {
            let filter = jobmatch_store::ListFilter {
                limit: 100_000,
                ..Default::default()
            };
            store
                .list(entity, &filter)
                .await
                .expect("list")
                .into_iter()
                .map(|record| record.id)
                .collect::<HashSet<String>>()
        }
    };
    let workers = in_database(jobmatch_store::Entity::Worker).await;
    let vacancies = in_database(jobmatch_store::Entity::Vacancy).await;
    let mut problems = Vec::new();
    for id in &acknowledged.workers[..workers_before] {
        if !workers.contains(id) {
            problems.push(format!(
                "worker {id} acknowledged before the backup is missing"
            ));
        }
    }
    for id in &acknowledged.vacancies[..vacancies_before] {
        if !vacancies.contains(id) {
            problems.push(format!(
                "vacancy {id} acknowledged before the backup is missing"
            ));
        }
    }
    // Search and matching hold exactly what the restored database holds.
    let searchable = searchable_vacancies(&client, &address, &key).await;
    if searchable != vacancies {
        problems.push(format!(
            "search finds {} vacancies, the database holds {} ({} only in search)",
            searchable.len(),
            vacancies.len(),
            searchable.difference(&vacancies).count()
        ));
    }
    for id in &acknowledged.vacancies {
        let status = status_of(
            &client,
            format!("{address}/v1/vacancies/{id}/candidates"),
            &key,
        )
        .await;
        let expected = if vacancies.contains(id) { 200 } else { 404 };
        if status != expected {
            problems.push(format!(
                "matching answers {status} for vacancy {id}, not {expected}"
            ));
        }
    }
    for id in &acknowledged.workers {
        let status = status_of(
            &client,
            format!("{address}/v1/workers/{id}/vacancies"),
            &key,
        )
        .await;
        let expected = if workers.contains(id) { 200 } else { 404 };
        if status != expected {
            problems.push(format!(
                "matching answers {status} for worker {id}, not {expected}"
            ));
        }
    }
    let some_vacancy = acknowledged.vacancies[0].clone();
    let candidates: Value = client
        .get(format!(
            "{address}/v1/vacancies/{some_vacancy}/candidates?limit=100"
        ))
        .bearer_auth(&key)
        .send()
        .await
        .expect("candidates")
        .json()
        .await
        .expect("JSON");
    for candidate in candidates["items"].as_array().expect("items") {
        let id = candidate["worker_id"].as_str().expect("worker_id");
        if !workers.contains(id) {
            problems.push(format!("matching lists worker {id}, not in the database"));
        }
    }
    store.close().await;
    server.stop();
    assert!(problems.is_empty(), "{problems:#?}");
}

/// A small data directory with a backup of it, plain and encrypted.
struct Backed {
    _data_dir: tempfile::TempDir,
    dir: tempfile::TempDir,
    plain: std::path::PathBuf,
    encrypted: std::path::PathBuf,
}

fn backed_up() -> Backed {
    let data_dir = tempfile::tempdir().expect("temporary directory");
    let dir = tempfile::tempdir().expect("temporary directory");
    create_key(data_dir.path(), "");
    let plain = dir.path().join("plain.backup");
    let encrypted = dir.path().join("encrypted.backup.age");
    let output = jobmatch(
        &[
            "backup",
            "--out",
            path(&plain),
            "--data-dir",
            path(data_dir.path()),
        ],
        &[],
    );
    assert!(output.status.success(), "{}", stderr_of(&output));
    let output = jobmatch(
        &[
            "backup",
            "--out",
            path(&encrypted),
            "--data-dir",
            path(data_dir.path()),
        ],
        &[("JOBMATCH_BACKUP_PASSPHRASE", "correct horse battery staple")],
    );
    assert!(output.status.success(), "{}", stderr_of(&output));
    #[cfg(unix)]
    for file in [&plain, &encrypted] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(file)
            .expect("backup")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "a backup is readable by others: {mode:o}");
    }
    Backed {
        _data_dir: data_dir,
        dir,
        plain,
        encrypted,
    }
}

/// Restores `file` into a fresh directory; the command's output and whether a
/// database appeared.
fn restore_into_fresh(file: &Path, envs: &[(&str, &str)]) -> (Output, bool) {
    let target = tempfile::tempdir().expect("temporary directory");
    let output = jobmatch(
        &["restore", path(file), "--data-dir", path(target.path())],
        envs,
    );
    (output, target.path().join("jobmatch.db").exists())
}

fn assert_refused(output: &Output, restored: bool, says: &str) {
    assert!(!output.status.success(), "a bad backup was restored");
    assert!(!restored, "a refused restore left a database behind");
    let stderr = stderr_of(output);
    assert!(stderr.contains(says), "expected {says:?} in: {stderr}");
}

#[test]
fn damaged_truncated_newer_and_wrongly_keyed_backups_are_refused() {
    let backed = backed_up();
    let passphrase = [("JOBMATCH_BACKUP_PASSPHRASE", "correct horse battery staple")];
    // The good ones restore.
    let (output, restored) = restore_into_fresh(&backed.plain, &[]);
    assert!(
        output.status.success() && restored,
        "{}",
        stderr_of(&output)
    );
    let (output, restored) = restore_into_fresh(&backed.encrypted, &passphrase);
    assert!(
        output.status.success() && restored,
        "{}",
        stderr_of(&output)
    );

    for (name, original) in [("plain", &backed.plain), ("encrypted", &backed.encrypted)] {
        let bytes = std::fs::read(original).expect("backup readable");
        let damaged = backed.dir.path().join(format!("{name}-damaged"));
        let mut flipped = bytes.clone();
        let middle = flipped.len() / 2;
        flipped[middle] ^= 0x55;
        std::fs::write(&damaged, &flipped).expect("write");
        let (output, restored) = restore_into_fresh(&damaged, &passphrase);
        assert_refused(&output, restored, "damaged or incomplete");

        let truncated = backed.dir.path().join(format!("{name}-truncated"));
        std::fs::write(&truncated, &bytes[..bytes.len() - 1000]).expect("write");
        let (output, restored) = restore_into_fresh(&truncated, &passphrase);
        assert_refused(&output, restored, "damaged or incomplete");
    }

    let (output, restored) = restore_into_fresh(
        &backed.encrypted,
        &[(
            "JOBMATCH_BACKUP_PASSPHRASE",
            "correct horse battery stapler",
        )],
    );
    assert_refused(&output, restored, "wrong passphrase");
    let (output, restored) = restore_into_fresh(&backed.encrypted, &[]);
    assert_refused(&output, restored, "encrypted with a passphrase");

    // A backup written by a newer schema.
    let text = std::fs::read(&backed.plain).expect("backup readable");
    let newer = String::from_utf8_lossy(&text[..200])
        .find("\"schema_version\":")
        .map(|at| {
            let mut bytes = text.clone();
            let digit = at + "\"schema_version\":".len();
            bytes.splice(digit..digit, b"9".iter().copied());
            bytes
        })
        .expect("the manifest names its schema version");
    let newer_file = backed.dir.path().join("newer.backup");
    std::fs::write(&newer_file, newer).expect("write");
    let (output, restored) = restore_into_fresh(&newer_file, &[]);
    assert_refused(&output, restored, "newer jobmatch");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_erased_after_a_backup_stays_erased_after_a_restore() {
    let data_dir = tempfile::tempdir().expect("temporary directory");
    let backups = tempfile::tempdir().expect("temporary directory");
    let key = create_key(data_dir.path(), "");
    // A plain copy left by a backup cut short by a stop.
    let leftover = data_dir.path().join(".jobmatch-backup-cut-short.db");
    std::fs::write(&leftover, b"personal data").expect("write");
    let server = Server::start(
        data_dir.path(),
        &[
            "--backup-dir",
            path(backups.path()),
            "--backup-every",
            "1h",
            "--backup-keep",
            "2",
        ],
    );
    let address = server.address.clone();
    let client = reqwest::Client::new();
    // The first scheduled backup is taken at once; /readyz and /metrics show its age.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ready: Value = client
            .get(format!("{address}/readyz"))
            .send()
            .await
            .expect("readyz")
            .json()
            .await
            .unwrap_or_default();
        if ready["backup"]["age_seconds"].is_i64() {
            break;
        }
        assert!(Instant::now() < deadline, "no scheduled backup: {ready}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let metrics = client
        .get(format!("{address}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    let age = metrics
        .lines()
        .find_map(|line| line.strip_prefix("jobmatch_backup_age_seconds "))
        .expect("the backup age gauge");
    assert!(age.parse::<f64>().is_ok_and(|age| age.is_finite()), "{age}");
    assert!(!leftover.exists(), "a leftover plain copy was kept");

    let name = "Sokha Backup-Erasure";
    let erased = create(
        &client,
        format!("{address}/v1/workers"),
        &key,
        &worker_body(name),
    )
    .await;
    let kept = create(
        &client,
        format!("{address}/v1/workers"),
        &key,
        &worker_body("Dara Kept"),
    )
    .await;
    let backup_file = backups.path().join("manual.backup");
    let output = jobmatch(
        &[
            "backup",
            "--out",
            path(&backup_file),
            "--data-dir",
            path(data_dir.path()),
        ],
        &[],
    );
    assert!(output.status.success(), "{}", stderr_of(&output));
    let response = client
        .delete(format!("{address}/v1/workers/{erased}"))
        .bearer_auth(&key)
        .send()
        .await
        .expect("erasure answered");
    assert_eq!(response.status(), 204);
    server.stop();

    // The journal beside the backups holds the id, and nothing personal.
    let journal = std::fs::read_to_string(backups.path().join("erasure-journal.jsonl"))
        .expect("the erasure journal is beside the backups");
    assert!(journal.contains(&erased), "{journal}");
    assert!(
        !journal.contains("Sokha"),
        "the journal holds a name: {journal}"
    );

    // Without the journal the backup brings the person back: the journal is what
    // keeps them erased.
    let elsewhere = tempfile::tempdir().expect("temporary directory");
    let missing = backups.path().join("no-such-journal.jsonl");
    let output = jobmatch(
        &[
            "restore",
            path(&backup_file),
            "--data-dir",
            path(elsewhere.path()),
            "--erasure-journal",
            path(&missing),
        ],
        &[],
    );
    assert!(output.status.success(), "{}", stderr_of(&output));
    let unjournalled = jobmatch_store::Store::connect(path(&elsewhere.path().join("jobmatch.db")))
        .await
        .expect("opens");
    assert!(
        unjournalled
            .get(jobmatch_store::Entity::Worker, &erased)
            .await
            .expect("get")
            .is_some(),
        "the backup holds the person"
    );
    unjournalled.close().await;

    let output = jobmatch(
        &[
            "restore",
            path(&backup_file),
            "--data-dir",
            path(data_dir.path()),
            "--replace",
        ],
        &[],
    );
    assert!(output.status.success(), "{}", stderr_of(&output));
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(said.contains("1 erased again"), "{said}");

    let server = Server::start(data_dir.path(), &[]);
    let address = server.address.clone();
    wait_until_ready(&address, Duration::from_secs(60)).await;
    assert_eq!(
        status_of(&client, format!("{address}/v1/workers/{erased}"), &key).await,
        404
    );
    assert_eq!(
        status_of(
            &client,
            format!("{address}/v1/workers/{erased}/vacancies"),
            &key
        )
        .await,
        404
    );
    assert_eq!(
        status_of(&client, format!("{address}/v1/workers/{kept}"), &key).await,
        200
    );
    server.stop();
}

#[test]
fn on_postgresql_backup_points_to_pg_dump_without_the_password() {
    let output = jobmatch(
        &[
            "backup",
            "--out",
            "unused.backup",
            "--database-url",
            "postgres://jobmatch:s3cret@db.example:5432/jobmatch",
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("pg_dump")
            && stdout.contains("postgres://jobmatch@db.example:5432/jobmatch"),
        "{stdout}"
    );
    assert!(!stdout.contains("s3cret") && !stderr_of(&output).contains("s3cret"));
    assert!(!Path::new("unused.backup").exists());
}
