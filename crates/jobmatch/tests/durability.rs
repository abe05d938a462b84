//! No acknowledged write is lost: writers hammer a real `jobmatch serve`, the
//! process is killed with SIGKILL mid-stream, and after a restart every write that
//! was answered 201 is in the database, in matching and (for vacancies) in search.
//! Runs on SQLite always, and on PostgreSQL when `JOBMATCH_TEST_POSTGRES_URL` is
//! set.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod common;
use common::{Server, create_key, searchable_vacancies, status_of, wait_until_ready};

/// A skill id of the embedded ESCO subset, so that vacancies and profiles meet
/// in matching.
fn skill_id() -> String {
    jobmatch_domain::Reference::embedded().taxonomy.skills()[0]
        .id
        .clone()
}

fn worker_body(writer: usize, sequence: usize) -> Value {
    json!({
        "full_name": format!("Durability writer {writer} record {sequence}"),
        "province_code": "22",
        "expected_wage_usd": 200 + sequence % 100,
        "skills": [{"skill": skill_id(), "level": 2}],
        "external_id": format!("durability-{writer}-{sequence}")
    })
}

fn vacancy_body(employer_id: &str, writer: usize, sequence: usize) -> Value {
    json!({
        "employer_id": employer_id,
        "title": format!("Sewing operator {writer}-{sequence}"),
        "sector": "garment",
        "province_code": "22",
        "positions": 1 + sequence % 5,
        "wage_min_usd": 200,
        "wage_max_usd": 260,
        "required_skills": [{"skill": skill_id(), "min_level": 1}],
        "external_id": format!("durability-vacancy-{writer}-{sequence}")
    })
}

/// What was acknowledged, by kind.
#[derive(Default)]
struct Acknowledged {
    workers: Vec<String>,
    vacancies: Vec<String>,
}

impl Acknowledged {
    fn len(&self) -> usize {
        self.workers.len() + self.vacancies.len()
    }
}

/// 8 writers (4 posting profiles, 4 posting vacancies) write until the server
/// dies; returns what was acknowledged.
async fn write_until_killed(
    address: &str,
    key: &str,
    employer_id: &str,
    server: Server,
) -> Acknowledged {
    let acknowledged = Arc::new(Mutex::new(Acknowledged::default()));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut writers = Vec::new();
    for writer in 0..8 {
        let client = client.clone();
        let acknowledged = acknowledged.clone();
        let writes_vacancies = writer % 2 == 1;
        let url = if writes_vacancies {
            format!("{address}/v1/vacancies")
        } else {
            format!("{address}/v1/workers")
        };
        let key = key.to_string();
        let employer_id = employer_id.to_string();
        writers.push(tokio::spawn(async move {
            for sequence in 0.. {
                if Instant::now() > deadline {
                    break;
                }
                let body = if writes_vacancies {
                    vacancy_body(&employer_id, writer, sequence)
                } else {
                    worker_body(writer, sequence)
                };
                let response = client.post(&url).bearer_auth(&key).json(&body).send().await;
                match response {
                    Ok(response) if response.status() == 201 => {
                        let body: Value = match response.json().await {
                            Ok(body) => body,
                            // The body was cut off by the kill: not acknowledged.
                            Err(_) => break,
                        };
                        let id = body["id"]
                            .as_str()
                            .expect("created record has an id")
                            .to_string();
                        let mut acknowledged = acknowledged.lock().expect("not poisoned");
                        if writes_vacancies {
                            acknowledged.vacancies.push(id);
                        } else {
                            acknowledged.workers.push(id);
                        }
                    }
                    Ok(response) => panic!("unexpected status {}", response.status()),
                    Err(_) => break,
                }
            }
        }));
    }
    // Let the writers get going, then pull the plug while requests are in flight.
    while acknowledged.lock().expect("not poisoned").len() < 200 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill_hard();
    for writer in writers {
        writer.await.expect("writer task finished");
    }
    Arc::try_unwrap(acknowledged)
        .ok()
        .expect("writers are done")
        .into_inner()
        .expect("not poisoned")
}

async fn no_acknowledged_write_is_lost(database_url: &str) {
    let data_dir = tempfile::tempdir().expect("temporary directory");
    let key = create_key(data_dir.path(), database_url);
    let server = Server::start(data_dir.path(), database_url);
    let address = server.address.clone();
    let client = reqwest::Client::new();
    let employer: Value = client
        .post(format!("{address}/v1/employers"))
        .bearer_auth(&key)
        .json(&json!({"name": "Durability Garment", "sector": "garment", "province_code": "22"}))
        .send()
        .await
        .expect("employer created")
        .json()
        .await
        .expect("employer JSON");
    let employer_id = employer["id"].as_str().expect("employer id").to_string();
    let acknowledged = write_until_killed(&address, &key, &employer_id, server).await;
    assert!(
        acknowledged.len() >= 200,
        "only {} writes were acknowledged",
        acknowledged.len()
    );

    let restarted = Server::start(data_dir.path(), database_url);
    let address = restarted.address.clone();
    wait_until_ready(&address, Duration::from_secs(60)).await;
    let mut lost = Vec::new();
    for id in &acknowledged.workers {
        if status_of(&client, format!("{address}/v1/workers/{id}"), &key).await != 200 {
            lost.push(format!("worker {id} in the database"));
        }
        if status_of(
            &client,
            format!("{address}/v1/workers/{id}/vacancies"),
            &key,
        )
        .await
            != 200
        {
            lost.push(format!("worker {id} in matching"));
        }
    }
    let searchable = searchable_vacancies(&client, &address, &key).await;
    for id in &acknowledged.vacancies {
        if status_of(&client, format!("{address}/v1/vacancies/{id}"), &key).await != 200 {
            lost.push(format!("vacancy {id} in the database"));
        }
        if status_of(
            &client,
            format!("{address}/v1/vacancies/{id}/candidates"),
            &key,
        )
        .await
            != 200
        {
            lost.push(format!("vacancy {id} in matching"));
        }
        if !searchable.contains(id) {
            lost.push(format!("vacancy {id} in search"));
        }
    }
    restarted.kill_hard();
    let mut stderr = std::io::stderr();
    // Written past the test harness's capture, so the figure shows in CI logs.
    let _ = writeln!(
        stderr,
        "durability: 8 writers, {} acknowledged writes ({} profiles, {} vacancies), {} lost",
        acknowledged.len(),
        acknowledged.workers.len(),
        acknowledged.vacancies.len(),
        lost.len()
    );
    assert!(
        lost.is_empty(),
        "{} acknowledged writes were lost: {lost:?}",
        lost.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_acknowledged_write_is_lost_after_sigkill_on_sqlite() {
    let data_dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite:{}", data_dir.path().join("durability.db").display());
    no_acknowledged_write_is_lost(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_acknowledged_write_is_lost_after_sigkill_on_postgres() {
    let Some(scratch) = jobmatch_store::testing::ScratchPostgres::from_env().await else {
        jobmatch_store::testing::report_skipped("durability test");
        return;
    };
    no_acknowledged_write_is_lost(scratch.url()).await;
    scratch.drop_schema().await;
}
