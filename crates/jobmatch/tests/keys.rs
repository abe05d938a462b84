//! `jobmatch keys`: rotating a partner's key keeps its source, the identity
//! that scopes its external ids, erasures, consent decisions and links.

use std::path::Path;
use std::process::{Command, Output};

const BINARY: &str = env!("CARGO_BIN_EXE_jobmatch");

fn keys(data: &Path, args: &[&str]) -> Output {
    let output = Command::new(BINARY)
        .arg("keys")
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env_remove("JOBMATCH_DATABASE_URL")
        .output()
        .expect("jobmatch runs");
    assert!(
        output.status.success(),
        "keys {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The id in the `created partner key ID ...` line of a command's standard
/// error (which also carries log lines).
fn created_id(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line = stderr
        .lines()
        .find_map(|line| line.split_once("created partner key "))
        .unwrap_or_else(|| panic!("says which key it created: {stderr}"))
        .1;
    line.split([' ', ';']).next().expect("an id").to_string()
}

/// The `keys list` row of the key `id`, as its columns.
fn listed(data: &Path, id: &str) -> Vec<String> {
    let list = keys(data, &["list"]);
    String::from_utf8_lossy(&list.stdout)
        .lines()
        .find(|line| line.starts_with(id))
        .unwrap_or_else(|| panic!("key {id} is listed"))
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

#[test]
fn a_rotated_key_is_new_but_keeps_the_role_and_source_of_the_key_it_replaces() {
    let dir = tempfile::tempdir().expect("directory");
    let data = dir.path().join("data");
    let created = keys(&data, &["create", "--role", "partner", "--name", "NEA"]);
    let old_id = created_id(&created);
    keys(&data, &["revoke", &old_id]);

    let rotated = keys(&data, &["rotate", &old_id]);
    let new_secret = String::from_utf8_lossy(&rotated.stdout).trim().to_string();
    assert!(new_secret.starts_with("jm_"), "{new_secret}");
    assert_ne!(new_secret, String::from_utf8_lossy(&created.stdout).trim());
    let new_id = created_id(&rotated);
    assert_ne!(new_id, old_id);

    // id, role, source, ...: a new key keeps the old key's source.
    let old_row = listed(&data, &old_id);
    let new_row = listed(&data, &new_id);
    assert_eq!(old_row[1..3], ["partner".to_string(), old_id.clone()]);
    assert_eq!(new_row[1..3], ["partner".to_string(), old_id.clone()]);
    assert!(new_row.contains(&"active".to_string()), "{new_row:?}");
}
