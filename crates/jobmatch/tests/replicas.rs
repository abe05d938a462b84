//! Several `serve` processes sharing one PostgreSQL database: a write through one
//! reaches matching on the other within a second, through the change feed.

use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod common;
use common::{Server, create_key};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_written_through_one_server_is_matched_by_another_within_a_second() {
    let Some(scratch) = jobmatch_store::testing::ScratchPostgres::from_env().await else {
        jobmatch_store::testing::report_skipped("replica test");
        return;
    };
    // Each process has its own data directory (its own search index), as replicas
    // on separate machines do; the database is what they share.
    let writer_dir = tempfile::tempdir().expect("temporary directory");
    let reader_dir = tempfile::tempdir().expect("temporary directory");
    let key = create_key(writer_dir.path(), scratch.url());
    let writer = Server::start(writer_dir.path(), scratch.url());
    let reader = Server::start(reader_dir.path(), scratch.url());
    let client = reqwest::Client::new();
    let skill = jobmatch_domain::Reference::embedded().taxonomy.skills()[10]
        .id
        .clone();

    let post = |server: &Server, path: &str, body: Value| {
        client
            .post(format!("{}{path}", server.address))
            .bearer_auth(&key)
            .json(&body)
            .send()
    };
    let employer: Value = post(
        &writer,
        "/v1/employers",
        json!({"name": "Replica Garment", "sector": "garment", "province_code": "12"}),
    )
    .await
    .expect("sent")
    .json()
    .await
    .expect("json");
    let vacancy: Value = post(&writer, "/v1/vacancies", json!({
        "employer_id": employer["id"], "title": "Sewer", "sector": "garment", "province_code": "12",
        "required_skills": [{"skill": skill, "min_level": 1}]
    }))
    .await
    .expect("sent")
    .json()
    .await
    .expect("json");
    let vacancy_id = vacancy["id"].as_str().expect("vacancy created").to_string();

    let worker: Value = post(&writer, "/v1/workers", json!({
        "full_name": "Replica Worker", "province_code": "12", "skills": [{"skill": skill, "level": 2}]
    }))
    .await
    .expect("sent")
    .json()
    .await
    .expect("json");
    let worker_id = worker["id"].as_str().expect("worker created").to_string();
    let written_at = Instant::now();

    let seen_after = loop {
        let list: Value = client
            .get(format!(
                "{}/v1/vacancies/{vacancy_id}/candidates",
                reader.address
            ))
            .bearer_auth(&key)
            .send()
            .await
            .expect("sent")
            .json()
            .await
            .expect("json");
        let found = list["items"].as_array().is_some_and(|items| {
            items
                .iter()
                .any(|item| item["worker_id"] == worker_id.as_str())
        });
        if found {
            break written_at.elapsed();
        }
        assert!(
            written_at.elapsed() < Duration::from_secs(1),
            "the other server did not see the write within 1 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    writer.kill_hard();
    reader.kill_hard();
    scratch.drop_schema().await;
    // Written past the test harness's capture, so the figure shows in CI logs.
    let _ = writeln!(
        std::io::stderr(),
        "replicas: write visible to matching on the other server after {} ms",
        seen_after.as_millis()
    );
    assert!(seen_after < Duration::from_secs(1));
}
