//! `jobmatch import` and `jobmatch gen`, run as the real binary against a fresh
//! SQLite data directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use jobmatch_store::{Entity, Store};
use serde_json::{Value, json};

const BINARY: &str = env!("CARGO_BIN_EXE_jobmatch");

struct DataDir {
    dir: tempfile::TempDir,
}

impl DataDir {
    fn new() -> DataDir {
        DataDir {
            dir: tempfile::tempdir().expect("temporary directory"),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("file written");
        path
    }

    fn jobmatch(&self, args: &[&str]) -> Output {
        Command::new(BINARY)
            .args(args)
            .arg("--data-dir")
            .arg(self.dir.path().join("data"))
            .env_remove("JOBMATCH_DATABASE_URL")
            .env("JOBMATCH_LOG", "warn")
            .output()
            .expect("jobmatch runs")
    }

    fn import(&self, kind: &str, file: &Path, extra: &[&str]) -> Output {
        let mut args = vec!["import", kind, file.to_str().expect("UTF-8 path")];
        args.extend_from_slice(extra);
        self.jobmatch(&args)
    }

    async fn store(&self) -> Store {
        Store::connect(&format!(
            "sqlite:{}",
            self.dir.path().join("data").join("jobmatch.db").display()
        ))
        .await
        .expect("the import made the database")
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The closing summary's count for `what` ("read", "created", "rejected", ...):
/// `read 5, created 2, updated 0, unchanged 0, rejected 3 in 0.1 s (50 rows/s)`.
fn count(output: &Output, what: &str) -> u64 {
    let text = stdout(output);
    let summary = text
        .lines()
        .find(|line| line.starts_with("read "))
        .unwrap_or_else(|| panic!("no summary in {text:?}; stderr {}", stderr(output)));
    summary
        .split(", ")
        .find_map(|part| {
            let mut words = part.split_whitespace();
            (words.next() == Some(what)).then(|| words.next()?.parse().ok())?
        })
        .unwrap_or_else(|| panic!("no {what} in {summary:?}"))
}

fn skill() -> String {
    jobmatch_domain::Reference::embedded().taxonomy.skills()[0]
        .id
        .clone()
}

fn worker(external_id: &str, province: &str) -> Value {
    json!({
        "full_name": "Sok Dara",
        "province_code": province,
        "phone": "012 345 678",
        "skills": [{"skill": skill(), "level": 2}],
        "consent": {"share_with_employers": true},
        "external_id": external_id
    })
}

fn ndjson(rows: &[Value]) -> String {
    rows.iter().map(|row| format!("{row}\n")).collect()
}

#[tokio::test]
async fn ndjson_keeps_good_rows_rejects_bad_ones_by_line_and_field_and_exits_2() {
    let data = DataDir::new();
    let mut bad_level = worker("W-3", "01");
    bad_level["skills"][0]["level"] = json!(9);
    let text = format!(
        "{}{}\n{}{{not json\n",
        ndjson(&[worker("W-1", "01"), worker("W-2", "99")]),
        "",
        ndjson(&[bad_level, worker("W-4", "22")])
    );
    let file = data.file("workers.ndjson", &text);
    let report = data.path().join("rejected.ndjson");
    let output = data.import(
        "workers",
        &file,
        &["--source", "kobo", "--report", report.to_str().unwrap()],
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert_eq!(count(&output, "read"), 5);
    assert_eq!(count(&output, "created"), 2);
    assert_eq!(count(&output, "rejected"), 3);
    let errors = stderr(&output);
    // Line 3 is blank; the API's field paths and messages.
    assert!(
        errors.contains("line 2: province_code: is not a province code"),
        "{errors}"
    );
    assert!(
        errors.contains("line 4: skills[0].level: must be between 1 and 4"),
        "{errors}"
    );
    assert!(
        errors.contains("line 6: body: is not valid JSON"),
        "{errors}"
    );

    let rejected: Vec<Value> = std::fs::read_to_string(&report)
        .expect("report written")
        .lines()
        .map(|line| serde_json::from_str(line).expect("report lines are JSON"))
        .collect();
    let lines: Vec<u64> = rejected
        .iter()
        .map(|row| row["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [2, 4, 6]);
    assert_eq!(rejected[0]["row"]["external_id"], "W-2");
    assert_eq!(rejected[0]["errors"][0]["field"], "province_code");

    let store = data.store().await;
    assert_eq!(store.count(Entity::Worker).await.unwrap(), 2);
    for (external_id, stored) in [("W-1", true), ("W-2", false), ("W-3", false), ("W-4", true)] {
        let found = store
            .get_by_external_id(Entity::Worker, "kobo", external_id)
            .await
            .unwrap();
        assert_eq!(found.is_some(), stored, "{external_id}");
    }
    let record = store
        .get_by_external_id(Entity::Worker, "kobo", "W-1")
        .await
        .unwrap()
        .unwrap();
    // Validated and normalised exactly as the API stores it.
    assert_eq!(record.body["phone"], "+85512345678");
    assert_eq!(record.columns.province_code.as_deref(), Some("01"));
    assert_eq!(store.latest_change_seq().await.unwrap(), 2);
}

#[tokio::test]
async fn re_importing_creates_nothing_and_updates_only_changed_rows() {
    let data = DataDir::new();
    let rows: Vec<Value> = (0..30).map(|n| worker(&format!("W-{n}"), "15")).collect();
    let file = data.file("workers.ndjson", &ndjson(&rows));
    let first = data.import("workers", &file, &[]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert_eq!(count(&first, "created"), 30);
    let store = data.store().await;
    let feed_after_first = store.latest_change_seq().await.unwrap();

    // The same file again: nothing new, no version bumped, the feed untouched
    // (the consent times the first import filled in are kept).
    let again = data.import("workers", &file, &[]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(count(&again, "created"), 0);
    assert_eq!(count(&again, "unchanged"), 30);
    assert_eq!(store.latest_change_seq().await.unwrap(), feed_after_first);

    // One changed row updates its record.
    let mut changed = rows.clone();
    changed[7]["province_code"] = json!("22");
    let file = data.file("workers.ndjson", &ndjson(&changed));
    let third = data.import("workers", &file, &[]);
    assert!(third.status.success(), "{}", stderr(&third));
    assert_eq!(count(&third, "updated"), 1);
    assert_eq!(count(&third, "unchanged"), 29);
    assert_eq!(store.count(Entity::Worker).await.unwrap(), 30);
    let record = store
        .get_by_external_id(Entity::Worker, "import", "W-7")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.version, 2);
    assert_eq!(record.columns.province_code.as_deref(), Some("22"));
    assert_eq!(
        store.latest_change_seq().await.unwrap(),
        feed_after_first + 1
    );
}

#[tokio::test]
async fn the_csv_examples_import_with_vacancies_finding_their_employers() {
    let data = DataDir::new();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/import");
    for kind in ["employers", "vacancies", "workers"] {
        let output = data.import(kind, &fixtures.join(format!("{kind}.csv")), &[]);
        assert!(
            output.status.success(),
            "{kind}: {}{}",
            stdout(&output),
            stderr(&output)
        );
        assert_eq!(count(&output, "created"), 2, "{kind}");
    }
    let store = data.store().await;
    let employer = store
        .get_by_external_id(Entity::Employer, "import", "EMP-001")
        .await
        .unwrap()
        .unwrap();
    let vacancy = store
        .get_by_external_id(Entity::Vacancy, "import", "VAC-001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(vacancy.body["employer_id"], employer.id.as_str());
    assert!(vacancy.body.get("employer_external_id").is_none());
    assert_eq!(vacancy.body["required_skills"][0]["min_level"], 2);
    assert_eq!(
        vacancy.body["benefits"],
        json!(["meals", "transport", "social_security"])
    );
    // The KoboToolbox-style export: `;`, group prefixes, `_uuid` as external id,
    // `_submission_time` as the consent time.
    let worker = store
        .get_by_external_id(
            Entity::Worker,
            "import",
            "6f1c2a9e-0b7d-4c55-9f0e-3d2b8a1c4e70",
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(worker.body["full_name"], "សុខ ចាន់ធី");
    assert_eq!(worker.body["skills"][0]["certified"], true);
    assert_eq!(worker.body["skills"][0]["years"], json!(6.0));
    assert_eq!(
        worker.body["consent"],
        json!({"share_with_employers": true, "recorded_at": "2025-08-02T02:14:51Z"})
    );
    assert_eq!(
        worker.body["preferred_sectors"],
        json!(["garment", "production"])
    );
}

#[tokio::test]
async fn csv_rows_that_fail_are_reported_with_their_line_and_an_unknown_column_imports_nothing() {
    let data = DataDir::new();
    let good = data.file(
        "employers.csv",
        "external_id,name,sector,province_code\n\
         E-1,Good Co.,garment,12\n\
         E-2,,mining,12\n\
         E-3,Also Good,construction,01\n",
    );
    let report = data.path().join("rejected.csv");
    let output = data.import("employers", &good, &["--report", report.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert_eq!(count(&output, "created"), 2);
    let errors = stderr(&output);
    assert!(errors.contains("line 3: name: is required"), "{errors}");
    assert!(errors.contains("line 3: sector:"), "{errors}");
    let report = std::fs::read_to_string(&report).expect("report");
    let mut lines = report.lines();
    assert_eq!(
        lines.next(),
        Some("line,errors,external_id,name,sector,province_code")
    );
    let rejected = lines.next().expect("one rejected row");
    assert!(rejected.starts_with("3,"), "{rejected}");
    assert!(rejected.ends_with(",E-2,,mining,12"), "{rejected}");
    assert_eq!(lines.next(), None);

    let misspelt = data.file(
        "more.csv",
        "external_id,name,sector,provnce_code\nE-9,Lost Co.,garment,12\n",
    );
    let output = data.import("employers", &misspelt, &[]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("provnce_code"),
        "{}",
        stderr(&output)
    );
    let store = data.store().await;
    assert_eq!(store.count(Entity::Employer).await.unwrap(), 2);
}

#[tokio::test]
async fn a_generated_data_set_imports_whole_and_again_without_duplicates() {
    let data = DataDir::new();
    let out = data.path().join("gen");
    let output = Command::new(BINARY)
        .args([
            "gen",
            "--workers",
            "2500",
            "--vacancies",
            "120",
            "--seed",
            "3",
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .expect("jobmatch gen runs");
    assert!(output.status.success(), "{}", stderr(&output));
    for (kind, rows) in [("employers", 3), ("vacancies", 120), ("workers", 2500)] {
        let file = out.join(format!("{kind}.ndjson"));
        let first = data.import(kind, &file, &[]);
        assert!(first.status.success(), "{kind}: {}", stderr(&first));
        assert_eq!(count(&first, "created"), rows, "{kind}");
        let second = data.import(kind, &file, &[]);
        assert!(second.status.success(), "{kind}: {}", stderr(&second));
        assert_eq!(count(&second, "unchanged"), rows, "{kind}");
    }
    let store = data.store().await;
    assert_eq!(store.count(Entity::Worker).await.unwrap(), 2500);
    assert_eq!(store.count(Entity::Vacancy).await.unwrap(), 120);
    // Imported under another source, the vacancies find no employer there.
    let output = data.import(
        "vacancies",
        &out.join("vacancies.ndjson"),
        &["--source", "elsewhere"],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("employer_external_id: no employer was imported"),
        "{}",
        stderr(&output)
    );
}

/// Issue 11, item 5, through the import path: importing the same file again
/// neither brings back a profile staff erased nor undoes the consent staff
/// withdrew, until an admin lifts the erasure.
#[tokio::test]
async fn re_importing_keeps_erasures_and_staff_consent_until_an_erasure_is_lifted() {
    let data = DataDir::new();
    let rows = [worker("W-1", "15"), worker("W-2", "15")];
    let file = data.file("workers.ndjson", &ndjson(&rows));
    let first = data.import("workers", &file, &["--source", "kobo"]);
    assert!(first.status.success(), "{}", stderr(&first));
    let store = data.store().await;
    let erased = store
        .get_by_external_id(Entity::Worker, "kobo", "W-1")
        .await
        .unwrap()
        .unwrap();
    store
        .erase_worker(&jobmatch_store::AuditEvent {
            key_id: "staff-key",
            role: "staff",
            action: jobmatch_store::AuditAction::ProfileErased,
            worker_id: &erased.id,
            vacancy_id: None,
            request_id: None,
        })
        .await
        .unwrap();
    let kept = store
        .get_by_external_id(Entity::Worker, "kobo", "W-2")
        .await
        .unwrap()
        .unwrap();
    let mut withdrawn = kept.body.clone();
    withdrawn["consent"] = json!({"share_with_employers": false});
    store
        .update_worker(
            &kept.id,
            None,
            &kept.columns,
            &withdrawn,
            Some(("staff-key", "staff")),
            None,
        )
        .await
        .unwrap();

    let again = data.import("workers", &file, &["--source", "kobo"]);
    assert_eq!(again.status.code(), Some(2), "{}", stderr(&again));
    assert_eq!(count(&again, "created"), 0);
    assert_eq!(count(&again, "rejected"), 1);
    assert!(
        stderr(&again).contains("line 1: external_id: "),
        "{}",
        stderr(&again)
    );
    assert!(
        stdout(&again).contains("consent kept as staff decided for 1"),
        "{}",
        stdout(&again)
    );
    assert_eq!(store.count(Entity::Worker).await.unwrap(), 1);
    let now = store.get(Entity::Worker, &kept.id).await.unwrap().unwrap();
    assert_eq!(now.body["consent"]["share_with_employers"], false);

    let lifted = data.jobmatch(&[
        "erasures",
        "lift",
        "--source",
        "kobo",
        "--external-id",
        "W-1",
    ]);
    assert!(lifted.status.success(), "{}", stderr(&lifted));
    let last = data.import("workers", &file, &["--source", "kobo"]);
    assert!(last.status.success(), "{}", stderr(&last));
    assert_eq!(count(&last, "created"), 1);
}
