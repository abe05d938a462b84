//! The audit log, erasure and partner links, on SQLite and (with
//! `JOBMATCH_TEST_POSTGRES_URL`) on PostgreSQL.

use jobmatch_store::testing::{ScratchPostgres, report_skipped};
use jobmatch_store::{
    ApiKey, AuditAction, AuditEvent, AuditFilter, ChangeOp, Columns, Entity, IdempotencyClaim,
    IdempotencyRequester, ListFilter, NewRecord, Store, StoreError,
};
use serde_json::json;
use sqlx::Connection;

/// Runs `case` on a fresh SQLite database, then on a fresh PostgreSQL schema
/// when one is configured. `case` gets the store and its URL (for raw SQL).
async fn on_every_backend<F, Fut>(case: F)
where
    F: Fn(Store, String) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite:{}", dir.path().join("privacy.db").display());
    let store = Store::connect(&url).await.expect("SQLite store");
    case(store.clone(), url).await;
    store.close().await;

    let Some(scratch) = ScratchPostgres::from_env().await else {
        report_skipped("privacy storage tests");
        return;
    };
    let store = Store::connect(scratch.url())
        .await
        .expect("PostgreSQL store");
    // In a task, so that the schema is dropped even when the case panics.
    let outcome = tokio::spawn(case(store.clone(), scratch.url().to_string())).await;
    store.close().await;
    scratch.drop_schema().await;
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}

async fn add_worker(store: &Store, id: &str, province: &str) {
    let columns = Columns {
        province_code: Some(province.to_string()),
        status: Some("seeking".to_string()),
        ..Columns::default()
    };
    let body = json!({"full_name": "Sokha Chan", "phone": "+85512345678"});
    store
        .insert(
            Entity::Worker,
            NewRecord {
                id,
                source: None,
                external_id: None,
                columns: &columns,
                body: &body,
            },
        )
        .await
        .expect("worker stored");
}

async fn add_employer(store: &Store, id: &str, source: Option<&str>) {
    let body = json!({"name": "Pursat Garment Co."});
    store
        .insert(
            Entity::Employer,
            NewRecord {
                id,
                source,
                external_id: source.map(|_| id),
                columns: &Columns::default(),
                body: &body,
            },
        )
        .await
        .expect("employer stored");
}

fn event<'a>(action: AuditAction, worker_id: &'a str) -> AuditEvent<'a> {
    AuditEvent {
        key_id: "key-staff-1",
        role: "staff",
        action,
        worker_id,
        vacancy_id: None,
        request_id: Some("req-1"),
    }
}

async fn whole_log(store: &Store) -> Vec<jobmatch_store::AuditRecord> {
    store
        .audit_log(&AuditFilter {
            limit: 1000,
            ..AuditFilter::default()
        })
        .await
        .expect("audit log")
}

#[tokio::test]
async fn an_audited_read_returns_the_profile_and_logs_it_once_and_a_missing_one_logs_nothing() {
    on_every_backend(|store, _| async move {
        add_worker(&store, "w-1", "15").await;
        let record = store
            .get_worker_audited(&event(AuditAction::ProfileRead, "w-1"))
            .await
            .expect("audited read")
            .expect("profile exists");
        assert_eq!(record.body["full_name"], "Sokha Chan");
        let missing = store
            .get_worker_audited(&event(AuditAction::ProfileRead, "w-404"))
            .await
            .expect("audited read of a missing profile");
        assert!(missing.is_none());
        let log = whole_log(&store).await;
        assert_eq!(log.len(), 1, "one read of an existing profile: {log:?}");
        assert_eq!(log[0].action, "profile_read");
        assert_eq!(log[0].worker_id.as_deref(), Some("w-1"));
        assert_eq!(log[0].key_id, "key-staff-1");
        assert_eq!(log[0].request_id.as_deref(), Some("req-1"));
    })
    .await;
}

#[tokio::test]
async fn erasure_removes_the_profile_feeds_a_delete_counts_it_anonymously_and_logs_it() {
    on_every_backend(|store, _| async move {
        add_worker(&store, "w-1", "15").await;
        add_worker(&store, "w-2", "15").await;
        add_worker(&store, "w-3", "22").await;
        for id in ["w-1", "w-2", "w-3"] {
            assert!(
                store
                    .erase_worker(&event(AuditAction::ProfileErased, id))
                    .await
                    .expect("erase")
            );
        }
        assert!(
            !store
                .erase_worker(&event(AuditAction::ProfileErased, "w-1"))
                .await
                .expect("second erase"),
            "erasing twice finds nothing the second time"
        );
        assert!(
            store
                .get(Entity::Worker, "w-1")
                .await
                .expect("get")
                .is_none()
        );
        let changes = store.changes_since(0, 100).await.expect("feed");
        let last = changes.last().expect("feed rows");
        assert_eq!((last.entity, last.op), (Entity::Worker, ChangeOp::Delete));
        let counts = store.erased_worker_counts().await.expect("counts");
        let by_province: Vec<(String, i64)> = counts
            .iter()
            .map(|count| (count.province_code.clone(), count.erased))
            .collect();
        assert_eq!(by_province, vec![("15".into(), 2), ("22".into(), 1)]);
        assert!(counts.iter().all(|count| count.month.len() == 7));
        let log = whole_log(&store).await;
        assert_eq!(log.len(), 3, "one row per erasure that happened");
        assert!(log.iter().all(|row| row.action == "profile_erased"));
    })
    .await;
}

#[tokio::test]
async fn the_audit_log_refuses_updates_and_deletes_even_in_raw_sql() {
    on_every_backend(|store, url| async move {
        add_worker(&store, "w-1", "15").await;
        store
            .append_audit(&event(AuditAction::ContactReleased, "w-1"))
            .await
            .expect("append");
        let statements = [
            "UPDATE audit_log SET key_id = 'someone-else'",
            "DELETE FROM audit_log",
        ];
        for statement in statements {
            let outcome = if url.starts_with("sqlite:") {
                let mut connection = sqlx::SqliteConnection::connect(&url).await.expect("raw");
                sqlx::query(statement)
                    .execute(&mut connection)
                    .await
                    .map(|_| ())
            } else {
                let mut connection = sqlx::PgConnection::connect(&url).await.expect("raw");
                sqlx::query(statement)
                    .execute(&mut connection)
                    .await
                    .map(|_| ())
            };
            let error = outcome.expect_err(statement);
            assert!(
                error.to_string().contains("append-only"),
                "{statement}: {error}"
            );
        }
        let log = whole_log(&store).await;
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].key_id, "key-staff-1");
    })
    .await;
}

#[tokio::test]
async fn the_audit_log_filters_by_worker_key_and_action_and_pages_by_seq() {
    on_every_backend(|store, _| async move {
        add_worker(&store, "w-1", "15").await;
        add_worker(&store, "w-2", "15").await;
        for (action, worker) in [
            (AuditAction::ProfileRead, "w-1"),
            (AuditAction::ProfileRead, "w-2"),
            (AuditAction::ContactReleased, "w-1"),
            (AuditAction::ProfileRead, "w-1"),
        ] {
            store
                .append_audit(&event(action, worker))
                .await
                .expect("append");
        }
        let for_w1 = store
            .audit_log(&AuditFilter {
                worker_id: Some("w-1".into()),
                limit: 10,
                ..AuditFilter::default()
            })
            .await
            .expect("filtered");
        assert_eq!(for_w1.len(), 3);
        assert!(for_w1.windows(2).all(|pair| pair[0].seq < pair[1].seq));
        let releases = store
            .audit_log(&AuditFilter {
                action: Some(AuditAction::ContactReleased),
                limit: 10,
                ..AuditFilter::default()
            })
            .await
            .expect("filtered");
        assert_eq!(releases.len(), 1);
        let first_page = store
            .audit_log(&AuditFilter {
                limit: 2,
                ..AuditFilter::default()
            })
            .await
            .expect("page 1");
        let second_page = store
            .audit_log(&AuditFilter {
                after_seq: Some(first_page[1].seq),
                limit: 2,
                ..AuditFilter::default()
            })
            .await
            .expect("page 2");
        assert_eq!(first_page.len() + second_page.len(), 4);
        assert!(first_page[1].seq < second_page[0].seq);
        let by_other_key = store
            .audit_log(&AuditFilter {
                key_id: Some("nobody".into()),
                limit: 10,
                ..AuditFilter::default()
            })
            .await
            .expect("filtered");
        assert!(by_other_key.is_empty());
    })
    .await;
}

#[tokio::test]
async fn a_partner_sees_the_employers_it_sent_and_those_linked_to_it() {
    on_every_backend(|store, _| async move {
        for id in ["partner-1", "partner-2"] {
            store
                .insert_api_key(&ApiKey {
                    id: id.to_string(),
                    name: id.to_string(),
                    role: "partner".to_string(),
                    employer_id: None,
                    source: id.to_string(),
                    hash: format!("hash-{id}"),
                    created_at: chrono::Utc::now(),
                    expires_at: None,
                    revoked_at: None,
                })
                .await
                .expect("key");
        }
        add_employer(&store, "e-sent", Some("partner-1")).await;
        add_employer(&store, "e-linked", None).await;
        add_employer(&store, "e-other", None).await;
        store
            .link_partner("partner-1", "e-linked")
            .await
            .expect("link");
        store
            .link_partner("partner-1", "e-linked")
            .await
            .expect("linking twice is harmless");
        assert_eq!(
            store.partner_employer_ids("partner-1").await.expect("ids"),
            vec!["e-linked".to_string(), "e-sent".to_string()]
        );
        assert!(
            store
                .partner_employer_ids("partner-2")
                .await
                .expect("ids")
                .is_empty()
        );
        assert!(matches!(
            store.link_partner("partner-1", "e-missing").await,
            Err(StoreError::ReferenceMissing)
        ));
        assert!(
            store
                .unlink_partner("partner-1", "e-linked")
                .await
                .expect("unlink")
        );
        assert!(
            !store
                .unlink_partner("partner-1", "e-linked")
                .await
                .expect("unlink")
        );
        assert_eq!(
            store.partner_employer_ids("partner-1").await.expect("ids"),
            vec!["e-sent".to_string()]
        );
    })
    .await;
}

/// A partner's view of the employers list is one query over the ids it may
/// see, filtered and paged like any list, however long the list of ids (here
/// longer than SQLite's limit on bind parameters, 32,766).
#[tokio::test]
async fn employers_among_many_ids_are_listed_filtered_and_paged_by_id() {
    on_every_backend(|store, _| async move {
        for (id, province) in [("e-1", "12"), ("e-2", "15"), ("e-3", "12"), ("e-4", "12")] {
            let columns = Columns {
                province_code: Some(province.to_string()),
                ..Columns::default()
            };
            store
                .insert(
                    Entity::Employer,
                    NewRecord {
                        id,
                        source: None,
                        external_id: None,
                        columns: &columns,
                        body: &json!({"name": id}),
                    },
                )
                .await
                .expect("employer stored");
        }
        // Ids nobody has, then three of the four stored ones (not e-4).
        let mut ids: Vec<String> = (0..40_000).map(|n| format!("missing-{n}")).collect();
        ids.extend(["e-3", "e-1", "e-2"].map(str::to_string));
        let ids_of = |records: Vec<jobmatch_store::Record>| -> Vec<String> {
            records.into_iter().map(|record| record.id).collect()
        };
        let in_province_12 = ListFilter {
            columns: Columns {
                province_code: Some("12".to_string()),
                ..Columns::default()
            },
            after_id: None,
            limit: 10,
        };
        assert_eq!(
            ids_of(
                store
                    .list_among(Entity::Employer, &ids, &in_province_12)
                    .await
                    .expect("listed")
            ),
            ["e-1", "e-3"]
        );
        let next_page = ListFilter {
            after_id: Some("e-1".to_string()),
            limit: 1,
            ..in_province_12.clone()
        };
        assert_eq!(
            ids_of(
                store
                    .list_among(Entity::Employer, &ids, &next_page)
                    .await
                    .expect("listed")
            ),
            ["e-3"]
        );
        assert!(
            store
                .list_among(Entity::Employer, &[], &in_province_12)
                .await
                .expect("listed")
                .is_empty()
        );
    })
    .await;
}

#[tokio::test]
async fn a_server_secret_is_created_once_and_then_always_the_same() {
    on_every_backend(|store, _| async move {
        let first = store
            .server_secret("pseudonym_key", "aaaa")
            .await
            .expect("created");
        let second = store
            .server_secret("pseudonym_key", "bbbb")
            .await
            .expect("read back");
        assert_eq!((first.as_str(), second.as_str()), ("aaaa", "aaaa"));
        let other = store
            .server_secret("other", "cccc")
            .await
            .expect("another name");
        assert_eq!(other, "cccc");
    })
    .await;
}

#[tokio::test]
async fn an_idempotency_key_is_claimed_once_answered_once_and_told_apart_by_request() {
    use chrono::{Duration, Utc};
    on_every_backend(|store, _| async move {
        let now = Utc::now();
        let (forget, stale) = (now - Duration::hours(24), now - Duration::seconds(60));
        let claim = |key: &'static str, hash: &'static str| {
            let store = store.clone();
            async move {
                store
                    .claim_idempotency_key(&requester("key-1"), key, hash, forget, stale)
                    .await
                    .expect("claim")
            }
        };
        let claimed_at = |claim: IdempotencyClaim| match claim {
            IdempotencyClaim::Claimed { claimed_at } => claimed_at,
            other => panic!("not claimed: {other:?}"),
        };
        let first = claimed_at(claim("k", "h1").await);
        assert_eq!(claim("k", "h1").await, IdempotencyClaim::InProgress);
        assert_eq!(claim("k", "h2").await, IdempotencyClaim::OtherRequest);
        store
            .complete_idempotency_key("key-1", "k", first, 201, "{\"id\":\"w-1\"}", None)
            .await
            .expect("complete");
        assert_eq!(
            claim("k", "h1").await,
            IdempotencyClaim::Answered {
                status: 201,
                response: "{\"id\":\"w-1\"}".to_string()
            }
        );
        // Another API key's same key is its own.
        let other = store
            .claim_idempotency_key(&requester("key-2"), "k", "h9", forget, stale)
            .await
            .expect("claim");
        claimed_at(other);

        // A released claim (the request failed on the server) is free again.
        let released = claimed_at(claim("r", "h1").await);
        store
            .release_idempotency_key("key-1", "r", released)
            .await
            .expect("release");
        let abandoned = claimed_at(claim("r", "h1").await);

        // A claim whose process died is taken over once stale; an answer is
        // forgotten after the retention period.
        let later = now + Duration::seconds(120);
        let retaken = store
            .claim_idempotency_key(
                &requester("key-1"),
                "r",
                "h1",
                forget,
                later - Duration::seconds(60),
            )
            .await
            .expect("claim");
        let retaken = claimed_at(retaken);
        // The abandoned request can neither complete nor free its successor's claim.
        store
            .complete_idempotency_key("key-1", "r", abandoned, 201, "late", None)
            .await
            .expect("complete");
        store
            .release_idempotency_key("key-1", "r", abandoned)
            .await
            .expect("release");
        let still = store
            .claim_idempotency_key(&requester("key-1"), "r", "h1", forget, stale)
            .await
            .expect("claim");
        assert_eq!(still, IdempotencyClaim::InProgress);
        store
            .release_idempotency_key("key-1", "r", retaken)
            .await
            .expect("release");
        let much_later = now + Duration::hours(25);
        let fresh = store
            .claim_idempotency_key(
                &requester("key-1"),
                "k",
                "h2",
                much_later - Duration::hours(24),
                much_later - Duration::seconds(60),
            )
            .await
            .expect("claim");
        claimed_at(fresh);
    })
    .await;
}

/// A staff key claiming idempotency keys, as the API layer names it.
fn requester(key_id: &str) -> IdempotencyRequester<'_> {
    IdempotencyRequester {
        key_id,
        role: "staff",
        request_id: Some("req-1"),
    }
}

fn claimed_at(claim: IdempotencyClaim) -> chrono::DateTime<chrono::Utc> {
    match claim {
        IdempotencyClaim::Claimed { claimed_at } => claimed_at,
        other => panic!("not claimed: {other:?}"),
    }
}

/// Runs one statement on the store's database, outside the store.
async fn raw_sql(url: &str, statement: &str) {
    if url.starts_with("sqlite:") {
        let mut connection = sqlx::SqliteConnection::connect(url).await.expect("raw");
        sqlx::query(sqlx::AssertSqlSafe(statement.to_string()))
            .execute(&mut connection)
            .await
            .expect(statement);
    } else {
        let mut connection = sqlx::PgConnection::connect(url).await.expect("raw");
        sqlx::query(sqlx::AssertSqlSafe(statement.to_string()))
            .execute(&mut connection)
            .await
            .expect(statement);
    }
}

async fn kept_keys(url: &str) -> Vec<String> {
    let statement = "SELECT idempotency_key FROM idempotency_keys ORDER BY 1";
    if url.starts_with("sqlite:") {
        let mut connection = sqlx::SqliteConnection::connect(url).await.expect("raw");
        sqlx::query_scalar(statement)
            .fetch_all(&mut connection)
            .await
            .expect(statement)
    } else {
        let mut connection = sqlx::PgConnection::connect(url).await.expect("raw");
        sqlx::query_scalar(statement)
            .fetch_all(&mut connection)
            .await
            .expect(statement)
    }
}

#[tokio::test]
async fn an_answer_carrying_a_profile_erased_while_it_was_produced_is_kept_redacted() {
    use chrono::{Duration, Utc};
    on_every_backend(|store, url| async move {
        let now = Utc::now();
        let (forget, stale) = (now - Duration::hours(24), now - Duration::seconds(60));
        add_worker(&store, "w-1", "15").await;
        let first = claimed_at(
            store
                .claim_idempotency_key(&requester("key-1"), "k", "h1", forget, stale)
                .await
                .expect("claim"),
        );
        // The change committed, then the person is erased before its answer,
        // which holds the profile, is kept.
        assert!(
            store
                .erase_worker(&event(AuditAction::ProfileErased, "w-1"))
                .await
                .expect("erase")
        );
        let kept = store
            .complete_idempotency_key(
                "key-1",
                "k",
                first,
                200,
                "{\"id\":\"w-1\",\"full_name\":\"Sokha Chan\"}",
                Some("w-1"),
            )
            .await
            .expect("complete");
        assert!(!kept, "an answer holding an erased profile is not kept");
        // The key stays taken, its answer redacted: the retry is told the
        // profile is gone and does not run again (which would write anew).
        let again = store
            .claim_idempotency_key(&requester("key-1"), "k", "h1", forget, stale)
            .await
            .expect("claim");
        assert_eq!(again, IdempotencyClaim::Erased);
        assert!(
            raw_texts(&url, "SELECT response FROM idempotency_keys")
                .await
                .iter()
                .all(|response| !response.contains("Sokha")),
            "nothing of the profile is kept"
        );
    })
    .await;
}

/// Erasure redacts the kept answers that carry the profile and keeps every
/// key taken: a retry after a lost answer is answered, never run again (a
/// batch run again would write its items twice and the erased person back;
/// a create run again would bring the person back). Answers that only name
/// the id, such as a batch report, are kept as they were.
#[tokio::test]
async fn erasure_redacts_the_answers_carrying_the_profile_and_frees_no_key() {
    use chrono::{Duration, Utc};
    on_every_backend(|store, url| async move {
        let now = Utc::now();
        let (forget, stale) = (now - Duration::hours(24), now - Duration::seconds(60));
        add_worker(&store, "w-1", "15").await;
        add_worker(&store, "w-2", "15").await;
        let claim = |key: &'static str| {
            let store = store.clone();
            async move {
                store
                    .claim_idempotency_key(&requester("key-1"), key, "h1", forget, stale)
                    .await
                    .expect("claim")
            }
        };
        let created = "{\"id\":\"w-1\",\"full_name\":\"Sokha Chan\"}";
        let report = "{\"results\":[{\"id\":\"w-1\"},{\"id\":\"w-2\"}]}";
        let other = "{\"id\":\"w-2\",\"full_name\":\"Dara Sok\"}";
        for (key, status, answer, carries) in [
            ("create", 201, created, Some("w-1")),
            ("batch", 200, report, None),
            ("other", 201, other, Some("w-2")),
        ] {
            let at = claimed_at(claim(key).await);
            assert!(
                store
                    .complete_idempotency_key("key-1", key, at, status, answer, carries)
                    .await
                    .expect("complete")
            );
        }
        assert!(
            store
                .erase_worker(&event(AuditAction::ProfileErased, "w-1"))
                .await
                .expect("erase")
        );
        assert_eq!(claim("create").await, IdempotencyClaim::Erased);
        assert_eq!(
            claim("batch").await,
            IdempotencyClaim::Answered {
                status: 200,
                response: report.to_string()
            }
        );
        assert_eq!(
            claim("other").await,
            IdempotencyClaim::Answered {
                status: 201,
                response: other.to_string()
            }
        );
        assert_eq!(kept_keys(&url).await, ["batch", "create", "other"]);
        assert!(
            raw_texts(&url, "SELECT response FROM idempotency_keys")
                .await
                .iter()
                .all(|response| !response.contains("Sokha")),
            "nothing of the erased profile is kept"
        );
        // The redacted replay is no read of the erased profile.
        let log = store
            .audit_log(&AuditFilter {
                worker_id: Some("w-1".to_string()),
                limit: 10,
                ..AuditFilter::default()
            })
            .await
            .expect("log");
        let actions: Vec<&str> = log.iter().map(|row| row.action.as_str()).collect();
        assert_eq!(actions, ["profile_erased"]);
    })
    .await;
}

#[tokio::test]
async fn replaying_an_answer_that_carries_a_profile_is_logged_as_a_read_of_it() {
    use chrono::{Duration, Utc};
    on_every_backend(|store, _| async move {
        let now = Utc::now();
        let (forget, stale) = (now - Duration::hours(24), now - Duration::seconds(60));
        add_worker(&store, "w-1", "15").await;
        let staff = requester("key-1");
        let claim = || store.claim_idempotency_key(&staff, "k", "h1", forget, stale);
        let first = claimed_at(claim().await.expect("claim"));
        let answer = "{\"id\":\"w-1\",\"full_name\":\"Sokha Chan\"}";
        let kept = store
            .complete_idempotency_key("key-1", "k", first, 200, answer, Some("w-1"))
            .await
            .expect("complete");
        assert!(kept);
        for _ in 0..2 {
            assert_eq!(
                claim().await.expect("claim"),
                IdempotencyClaim::Answered {
                    status: 200,
                    response: answer.to_string()
                }
            );
        }
        let log = store
            .audit_log(&AuditFilter {
                worker_id: Some("w-1".to_string()),
                limit: 10,
                ..AuditFilter::default()
            })
            .await
            .expect("log");
        let reads: Vec<(&str, &str, Option<&str>)> = log
            .iter()
            .map(|row| {
                (
                    row.action.as_str(),
                    row.key_id.as_str(),
                    row.request_id.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            reads,
            [
                ("profile_read", "key-1", Some("req-1")),
                ("profile_read", "key-1", Some("req-1"))
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn expired_answers_count_as_absent_and_are_deleted_by_the_sweep_not_by_claims() {
    use chrono::{Duration, Utc};
    on_every_backend(|store, url| async move {
        let now = Utc::now();
        let (forget, stale) = (now - Duration::hours(24), now - Duration::seconds(60));
        for key in ["old", "recent"] {
            let at = claimed_at(
                store
                    .claim_idempotency_key(&requester("key-1"), key, "h1", forget, stale)
                    .await
                    .expect("claim"),
            );
            store
                .complete_idempotency_key("key-1", key, at, 201, "{}", None)
                .await
                .expect("complete");
        }
        // "old" was answered two days ago.
        raw_sql(
            &url,
            "UPDATE idempotency_keys SET created_at = '2000-01-01T00:00:00.000000Z' \
             WHERE idempotency_key = 'old'",
        )
        .await;

        // Claiming another key deletes nothing under the write lock.
        claimed_at(
            store
                .claim_idempotency_key(&requester("key-1"), "other", "h1", forget, stale)
                .await
                .expect("claim"),
        );
        assert_eq!(kept_keys(&url).await, ["old", "other", "recent"]);

        // The sweep deletes exactly the expired rows.
        let forgotten = store
            .forget_idempotency_answers_before(forget)
            .await
            .expect("sweep");
        assert_eq!(forgotten, 1);
        assert_eq!(kept_keys(&url).await, ["other", "recent"]);

        // An expired answer not yet swept is not replayed: its key is free.
        raw_sql(
            &url,
            "UPDATE idempotency_keys SET created_at = '2000-01-01T00:00:00.000000Z' \
             WHERE idempotency_key = 'recent'",
        )
        .await;
        claimed_at(
            store
                .claim_idempotency_key(&requester("key-1"), "recent", "h2", forget, stale)
                .await
                .expect("claim"),
        );
    })
    .await;
}

#[tokio::test]
async fn a_change_answered_with_the_profile_logs_its_read_only_when_it_commits() {
    on_every_backend(|store, _| async move {
        add_worker(&store, "w-1", "15").await;
        let columns = Columns {
            province_code: Some("15".to_string()),
            status: Some("seeking".to_string()),
            ..Columns::default()
        };
        let body = json!({"full_name": "Sokha Chan", "phone": "+85512345679"});
        let read = event(AuditAction::ProfileRead, "w-1");
        let stale = store
            .update_audited(Entity::Worker, "w-1", Some(7), &columns, &body, Some(&read))
            .await;
        assert!(
            matches!(stale, Err(StoreError::VersionMismatch { current: 1 })),
            "{stale:?}"
        );
        let changed = store
            .update_audited(Entity::Worker, "w-1", Some(1), &columns, &body, Some(&read))
            .await
            .expect("changed");
        assert_eq!(changed.version, 2);
        let log = store
            .audit_log(&AuditFilter {
                worker_id: Some("w-1".to_string()),
                limit: 10,
                ..AuditFilter::default()
            })
            .await
            .expect("log");
        let actions: Vec<&str> = log.iter().map(|row| row.action.as_str()).collect();
        assert_eq!(actions, ["profile_read"], "one read: the committed change");
    })
    .await;
}

/// A worker document as a partner sends it, under `external_id`.
fn partner_worker(sharing: bool) -> String {
    json!({
        "full_name": "Sokha Chan",
        "phone": "+85512345678",
        "province_code": "15",
        "consent": {"share_with_employers": sharing, "recorded_at": "2025-07-14T09:12:33Z"}
    })
    .to_string()
}

async fn send_batch(store: &Store, external_id: &str, body: &str) -> jobmatch_store::BatchWrite {
    let columns = Columns {
        province_code: Some("15".to_string()),
        status: Some("seeking".to_string()),
        ..Columns::default()
    };
    let id = uuid::Uuid::new_v4().to_string();
    let mut writes = store
        .upsert_many(
            Entity::Worker,
            "partner-key",
            &[jobmatch_store::BatchRecord {
                id: &id,
                external_id: Some(external_id),
                columns: &columns,
                body,
            }],
        )
        .await
        .expect("batch written");
    writes.pop().expect("one write")
}

/// Issue 11, item 5: an erased profile leaves a tombstone that refuses the
/// same source's re-send until it is lifted, and holds nothing personal.
#[tokio::test]
async fn a_resent_batch_item_does_not_bring_an_erased_profile_back_until_lifted() {
    on_every_backend(|store, url| async move {
        let first = send_batch(&store, "KOBO-0042", &partner_worker(true)).await;
        assert_eq!(first.outcome, jobmatch_store::BatchOutcome::Created);
        assert!(
            store
                .erase_worker(&event(AuditAction::ProfileErased, &first.id))
                .await
                .expect("erased")
        );
        assert!(store.is_erased("partner-key", "KOBO-0042").await.unwrap());
        assert!(!store.is_erased("other-key", "KOBO-0042").await.unwrap());

        let again = send_batch(&store, "KOBO-0042", &partner_worker(true)).await;
        assert_eq!(again.outcome, jobmatch_store::BatchOutcome::Erased);
        assert_eq!(store.get(Entity::Worker, &first.id).await.unwrap(), None);
        let page = store
            .list(
                Entity::Worker,
                &jobmatch_store::ListFilter {
                    limit: 10,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert!(page.is_empty(), "nobody was registered again: {page:?}");

        // The tombstone holds neither the source nor the external id.
        let tombstones = raw_texts(
            &url,
            "SELECT key_hash || ' ' || erased_on FROM erasure_tombstones",
        )
        .await;
        assert_eq!(tombstones.len(), 1);
        assert!(
            !tombstones[0].contains("KOBO") && !tombstones[0].contains("partner"),
            "{tombstones:?}"
        );

        // Another source may use the same external id; after lifting, so may this one.
        let other = store
            .upsert_many(
                Entity::Worker,
                "other-key",
                &[jobmatch_store::BatchRecord {
                    id: &uuid::Uuid::new_v4().to_string(),
                    external_id: Some("KOBO-0042"),
                    columns: &Columns::default(),
                    body: &partner_worker(true),
                }],
            )
            .await
            .unwrap();
        assert_eq!(other[0].outcome, jobmatch_store::BatchOutcome::Created);
        assert!(
            store
                .lift_erasure("partner-key", "KOBO-0042")
                .await
                .unwrap()
        );
        assert!(
            !store
                .lift_erasure("partner-key", "KOBO-0042")
                .await
                .unwrap()
        );
        let lifted = send_batch(&store, "KOBO-0042", &partner_worker(true)).await;
        assert_eq!(lifted.outcome, jobmatch_store::BatchOutcome::Created);
    })
    .await;
}

/// Issue 11, item 5: once staff decided consent, a batch re-send keeps it.
#[tokio::test]
async fn a_resent_batch_item_keeps_the_consent_staff_decided_later() {
    on_every_backend(|store, _url| async move {
        let first = send_batch(&store, "KOBO-0043", &partner_worker(true)).await;
        let stored = store.get(Entity::Worker, &first.id).await.unwrap().unwrap();
        let mut withdrawn = stored.body.clone();
        withdrawn["consent"] =
            json!({"share_with_employers": false, "recorded_at": "2025-08-01T10:00:00Z"});
        store
            .update_worker(
                &first.id,
                None,
                &stored.columns,
                &withdrawn,
                Some(("staff-key", "staff")),
                None,
            )
            .await
            .expect("staff withdrew consent");
        let decision = store.consent_decision(&first.id).await.unwrap().unwrap();
        assert_eq!(
            (decision.key_id.as_str(), decision.role.as_str()),
            ("staff-key", "staff")
        );

        // The partner sends its old copy again, and a changed phone with it.
        let mut resent: serde_json::Value = serde_json::from_str(&partner_worker(true)).unwrap();
        resent["phone"] = json!("+85599999999");
        let again = send_batch(&store, "KOBO-0043", &resent.to_string()).await;
        assert_eq!(again.outcome, jobmatch_store::BatchOutcome::Updated);
        assert!(again.consent_kept);
        let now = store.get(Entity::Worker, &first.id).await.unwrap().unwrap();
        assert_eq!(
            now.body["consent"], withdrawn["consent"],
            "staff's decision stands"
        );
        assert_eq!(
            now.body["phone"], "+85599999999",
            "the rest of the item applies"
        );

        // An item agreeing with staff's decision is an ordinary one.
        let agreeing = send_batch(&store, "KOBO-0043", &now.body.to_string()).await;
        assert_eq!(agreeing.outcome, jobmatch_store::BatchOutcome::Unchanged);
        assert!(!agreeing.consent_kept);

        // The decision goes with the profile.
        store
            .erase_worker(&event(AuditAction::ProfileErased, &first.id))
            .await
            .unwrap();
        assert_eq!(store.consent_decision(&first.id).await.unwrap(), None);
    })
    .await;
}

/// The text column of every row `statement` selects, read with raw SQL.
async fn raw_texts(url: &str, statement: &'static str) -> Vec<String> {
    if url.starts_with("sqlite:") {
        let mut connection = sqlx::SqliteConnection::connect(url).await.expect("raw");
        sqlx::query_scalar(statement)
            .fetch_all(&mut connection)
            .await
            .expect(statement)
    } else {
        let mut connection = sqlx::PgConnection::connect(url).await.expect("raw");
        sqlx::query_scalar(statement)
            .fetch_all(&mut connection)
            .await
            .expect(statement)
    }
}

/// A write run under an `Idempotency-Key` claim marks the claim written in
/// its own transaction: when the answer is then lost (the request time limit
/// frees the claim, or keeping the answer fails and the claim goes stale),
/// the retry is told what was written and is never run again. A transaction
/// that changed no record (an audit row alone) marks nothing, and a write
/// whose claim a retry took over is rolled back.
#[tokio::test]
async fn a_write_under_a_claim_keeps_the_key_even_when_its_answer_is_lost() {
    use chrono::{Duration, Utc};
    use jobmatch_store::{ClaimedKey, WrittenRecord, claimed_while};
    on_every_backend(|store, _url| async move {
        let now = Utc::now();
        let (forget, stale) = (now - Duration::hours(24), now - Duration::seconds(60));
        let claim = |key: &'static str| {
            let store = store.clone();
            async move {
                let claimed = store
                    .claim_idempotency_key(&requester("key-1"), key, "h1", forget, stale)
                    .await
                    .expect("claim");
                ClaimedKey {
                    key_id: "key-1".to_string(),
                    idempotency_key: key.to_string(),
                    claimed_at: claimed_at(claimed),
                }
            }
        };

        // Lost after the commit: the time limit answers 503, which frees the
        // claim; the claim is written, so it stays.
        let written = claim("lost").await;
        let claimed_time = written.claimed_at;
        claimed_while(written, add_worker(&store, "w-1", "15")).await;
        store
            .release_idempotency_key("key-1", "lost", claimed_time)
            .await
            .expect("release");
        let retry = store
            .claim_idempotency_key(&requester("key-1"), "lost", "h1", forget, stale)
            .await
            .expect("claim");
        assert_eq!(
            retry,
            IdempotencyClaim::Written {
                records: vec![WrittenRecord {
                    entity: Entity::Worker,
                    id: "w-1".to_string(),
                    op: ChangeOp::Create,
                }]
            }
        );
        // Never taken over as abandoned, however old.
        let much_later = Utc::now() + Duration::hours(1);
        let retry = store
            .claim_idempotency_key(&requester("key-1"), "lost", "h1", forget, much_later)
            .await
            .expect("claim");
        assert!(
            matches!(retry, IdempotencyClaim::Written { .. }),
            "{retry:?}"
        );
        // Once the answer is kept, it is replayed as before.
        store
            .complete_idempotency_key("key-1", "lost", claimed_time, 201, "{}", None)
            .await
            .expect("complete");
        let replay = store
            .claim_idempotency_key(&requester("key-1"), "lost", "h1", forget, stale)
            .await
            .expect("claim");
        assert!(matches!(
            replay,
            IdempotencyClaim::Answered { status: 201, .. }
        ));

        // An audit row alone writes no record: the claim is freed as before.
        let audited = claim("audit").await;
        let audited_time = audited.claimed_at;
        claimed_while(
            audited,
            store.append_audit(&event(AuditAction::ProfileRead, "w-1")),
        )
        .await
        .expect("audit");
        store
            .release_idempotency_key("key-1", "audit", audited_time)
            .await
            .expect("release");
        let again = store
            .claim_idempotency_key(&requester("key-1"), "audit", "h1", forget, stale)
            .await
            .expect("claim");
        assert!(
            matches!(again, IdempotencyClaim::Claimed { .. }),
            "{again:?}"
        );

        // A retry took the claim over: the old request's write is undone.
        let overtaken = claim("overtaken").await;
        let retaken = store
            .claim_idempotency_key(
                &requester("key-1"),
                "overtaken",
                "h1",
                forget,
                Utc::now() + Duration::seconds(1),
            )
            .await
            .expect("claim");
        assert!(
            matches!(retaken, IdempotencyClaim::Claimed { .. }),
            "{retaken:?}"
        );
        let columns = Columns::default();
        let body = json!({"full_name": "Dara Keo"});
        let refused = claimed_while(
            overtaken,
            store.insert(
                Entity::Worker,
                NewRecord {
                    id: "w-2",
                    source: None,
                    external_id: None,
                    columns: &columns,
                    body: &body,
                },
            ),
        )
        .await;
        assert!(
            matches!(refused, Err(StoreError::IdempotencyClaimLost)),
            "{refused:?}"
        );
        assert!(
            store
                .get(Entity::Worker, "w-2")
                .await
                .expect("read")
                .is_none()
        );
    })
    .await;
}

/// Migration 7 gives every key stored before it its own id as its source, so
/// that the external ids, tombstones and links it made keep their meaning; a
/// partner's links then follow its source, which a rotated key keeps.
#[tokio::test]
async fn keys_stored_before_sources_act_under_their_own_id_and_links_follow_the_source() {
    on_every_backend(|store, url| async move {
        let key = |id: &str, source: &str| ApiKey {
            id: id.to_string(),
            name: "National Employment Agency".to_string(),
            role: "partner".to_string(),
            employer_id: None,
            source: source.to_string(),
            hash: format!("hash-{id}"),
            created_at: chrono::Utc::now(),
            expires_at: None,
            revoked_at: None,
        };
        store
            .insert_api_key(&key("partner-old", "partner-old"))
            .await
            .expect("key");
        // As the database was before migration 7: no source column.
        raw_sql(&url, "ALTER TABLE api_keys DROP COLUMN source").await;
        raw_sql(&url, "DELETE FROM _sqlx_migrations WHERE version = 7").await;
        let migrated = Store::connect(&url).await.expect("migrated again");
        let keys = migrated.list_api_keys().await.expect("keys");
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].source, "partner-old");

        // A rotated key acts under the first key's source: links made through
        // either key are the partner's.
        migrated
            .insert_api_key(&key("partner-new", "partner-old"))
            .await
            .expect("key");
        add_employer(&migrated, "e-sent", Some("partner-old")).await;
        add_employer(&migrated, "e-linked", None).await;
        migrated
            .link_partner("partner-old", "e-linked")
            .await
            .expect("link");
        assert_eq!(
            migrated
                .partner_employer_ids("partner-old")
                .await
                .expect("links"),
            ["e-linked", "e-sent"]
        );
        migrated.close().await;
    })
    .await;
}
