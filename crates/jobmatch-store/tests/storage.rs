//! One storage test suite, run against every backend.
//!
//! `storage_test_suite!` instantiates each case in `cases` twice: in module
//! `sqlite` (a fresh database file in a temporary directory per test) and in
//! module `postgres` (a fresh schema per test in the database named by
//! `JOBMATCH_TEST_POSTGRES_URL`, e.g. `postgres://postgres@127.0.0.1:5432/test`,
//! dropped afterwards). Without that variable the PostgreSQL tests print
//! `PostgreSQL storage tests skipped: JOBMATCH_TEST_POSTGRES_URL is not set`
//! and pass.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use jobmatch_store::testing::{ScratchPostgres, report_skipped};
use jobmatch_store::{
    ApiKey, BatchOutcome, BatchRecord, ChangeOp, Columns, Entity, ListFilter, NewRecord, Record,
    Store, StoreError,
};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------

/// A fresh, empty database for one test.
struct TestDb {
    url: String,
    /// Keeps the SQLite file's directory alive.
    _dir: Option<tempfile::TempDir>,
    /// PostgreSQL: the scratch schema to drop afterwards.
    postgres: Option<ScratchPostgres>,
}

impl TestDb {
    fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temporary directory");
        // A directory that does not exist yet: connect must create it.
        let path = dir.path().join("data").join("jobmatch.db");
        TestDb {
            url: path.to_str().expect("UTF-8 temp path").to_owned(),
            _dir: Some(dir),
            postgres: None,
        }
    }

    async fn postgres() -> Option<TestDb> {
        let Some(scratch) = ScratchPostgres::from_env().await else {
            report_skipped("storage tests");
            return None;
        };
        Some(TestDb {
            url: scratch.url().to_string(),
            _dir: None,
            postgres: Some(scratch),
        })
    }

    async fn open(&self) -> Store {
        Store::connect(&self.url)
            .await
            .expect("connect to test store")
    }

    async fn cleanup(&self) {
        if let Some(scratch) = &self.postgres {
            scratch.drop_schema().await;
        }
    }
}

/// Runs a case on a database, cleans up even if the case panics, then
/// re-raises the panic.
async fn run_case<F, Fut>(db: TestDb, case: F)
where
    F: FnOnce(Arc<TestDb>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let db = Arc::new(db);
    let outcome = tokio::spawn(case(db.clone())).await;
    db.cleanup().await;
    if let Err(error) = outcome {
        match error.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(error) => panic!("test task failed: {error}"),
        }
    }
}

macro_rules! storage_test_suite {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    super::run_case(super::TestDb::sqlite(), |db| async move {
                        super::cases::$case(&db).await
                    })
                    .await;
                }
            )*
        }

        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let Some(db) = super::TestDb::postgres().await else {
                        return;
                    };
                    super::run_case(db, |db| async move {
                        super::cases::$case(&db).await
                    })
                    .await;
                }
            )*
        }
    };
}

storage_test_suite!(
    insert_then_get_returns_the_same_document_with_version_1,
    update_bumps_version_and_appends_an_update_change,
    stale_expected_version_is_refused_with_the_current_version_and_changes_nothing,
    update_of_a_missing_record_is_not_found,
    delete_removes_the_row_and_appends_a_delete_change,
    change_feed_sequence_is_strictly_increasing_and_lists_writes_in_order,
    external_id_is_unique_per_source_but_free_across_sources,
    list_filters_by_each_column_and_pages_by_id_with_no_overlap_or_gap,
    api_key_lookup_by_hash_listing_and_revocation,
    concurrent_writers_all_land_and_each_has_exactly_one_feed_row,
    data_survives_closing_and_reopening_the_store,
    vacancies_must_reference_an_existing_employer_which_then_cannot_be_deleted,
    several_stores_starting_at_once_all_migrate_and_work,
    upsert_many_creates_a_batch_with_one_feed_row_each,
    upsert_many_updates_changed_and_skips_unchanged_records_by_external_id,
    upsert_many_is_all_or_nothing,
    upsert_many_handles_an_external_id_repeated_within_the_batch,
    lookups_by_many_external_ids_and_ids_find_exactly_what_is_stored,
);

// ---------------------------------------------------------------------------
// Backend-independent tests
// ---------------------------------------------------------------------------

#[tokio::test]
async fn in_memory_sqlite_works_and_keeps_data_while_open() {
    let store = Store::connect("sqlite::memory:").await.expect("connect");
    assert_eq!(store.backend_name(), "sqlite");
    let body = json!({"name": "Sokha"});
    insert(&store, Entity::Worker, "w-1", &Columns::default(), &body).await;
    // Give the pool a chance to recycle: the data must still be there.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert!(
        store
            .get(Entity::Worker, "w-1")
            .await
            .expect("get")
            .is_some()
    );
    store.close().await;
}

#[tokio::test]
async fn sqlite_url_with_scheme_is_accepted() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}/new/dir/db.sqlite", dir.path().display());
    let store = Store::connect(&url).await.expect("connect");
    store.ping().await.expect("ping");
    store.close().await;
    assert!(dir.path().join("new/dir/db.sqlite").exists());
}

#[tokio::test]
async fn unsupported_url_is_refused() {
    let error = Store::connect("mysql://root@localhost/jobmatch")
        .await
        .expect_err("mysql is not supported");
    assert!(matches!(error, StoreError::UnsupportedUrl), "{error:?}");
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn columns(
    employer_id: Option<&str>,
    sector: Option<&str>,
    province_code: Option<&str>,
    status: Option<&str>,
) -> Columns {
    Columns {
        employer_id: employer_id.map(str::to_owned),
        sector: sector.map(str::to_owned),
        province_code: province_code.map(str::to_owned),
        status: status.map(str::to_owned),
    }
}

async fn insert(
    store: &Store,
    entity: Entity,
    id: &str,
    columns: &Columns,
    body: &Value,
) -> Record {
    store
        .insert(
            entity,
            NewRecord {
                id,
                source: None,
                external_id: None,
                columns,
                body,
            },
        )
        .await
        .unwrap_or_else(|error| panic!("insert {entity} {id}: {error:?}"))
}

async fn insert_imported(
    store: &Store,
    entity: Entity,
    id: &str,
    source: &str,
    external_id: &str,
) -> Result<Record, StoreError> {
    store
        .insert(
            entity,
            NewRecord {
                id,
                source: Some(source),
                external_id: Some(external_id),
                columns: &Columns::default(),
                body: &json!({"imported": external_id}),
            },
        )
        .await
}

/// The whole change feed as `(entity, id, op)`, checking that `seq` is
/// strictly increasing.
async fn feed(store: &Store) -> Vec<(Entity, String, ChangeOp)> {
    let changes = store.changes_since(0, 10_000).await.expect("changes_since");
    for pair in changes.windows(2) {
        assert!(pair[0].seq < pair[1].seq, "seq must be strictly increasing");
    }
    changes
        .into_iter()
        .map(|c| (c.entity, c.entity_id, c.op))
        .collect()
}

fn change(entity: Entity, id: &str, op: ChangeOp) -> (Entity, String, ChangeOp) {
    (entity, id.to_owned(), op)
}

// ---------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------

mod cases {
    use super::*;

    pub async fn insert_then_get_returns_the_same_document_with_version_1(db: &TestDb) {
        let store = db.open().await;
        store.ping().await.expect("ping");
        assert_eq!(store.latest_change_seq().await.expect("latest"), 0);

        let body = json!({
            "name": "សុខា ចាន់",
            "phone": "+855 12 345 678",
            "skills": ["welding", "construction"],
            "experience_years": 4,
            "wage": {"min": 350.5, "currency": "USD"},
            "returned_from_thailand": true,
            "note": null,
            "quote \"and\" backslash \\": "\u{0}\u{1f600}"
        });
        let cols = columns(None, Some("construction"), Some("KH-2"), Some("active"));
        let before = chrono::Utc::now() - chrono::Duration::seconds(1);
        let inserted = store
            .insert(
                Entity::Worker,
                NewRecord {
                    id: "worker-1",
                    source: Some("ngo-registry"),
                    external_id: Some("R-17"),
                    columns: &cols,
                    body: &body,
                },
            )
            .await
            .expect("insert");
        assert_eq!(inserted.id, "worker-1");
        assert_eq!(inserted.version, 1);
        assert_eq!(inserted.created_at, inserted.updated_at);
        assert!(inserted.created_at > before);
        assert_eq!(inserted.body, body);
        assert_eq!(inserted.columns, cols);

        let fetched = store
            .get(Entity::Worker, "worker-1")
            .await
            .expect("get")
            .expect("record exists");
        assert_eq!(fetched, inserted);
        // Byte-for-byte: serialising the stored body gives the same text.
        assert_eq!(
            serde_json::to_string(&fetched.body).expect("json"),
            serde_json::to_string(&body).expect("json")
        );

        let by_external = store
            .get_by_external_id(Entity::Worker, "ngo-registry", "R-17")
            .await
            .expect("get_by_external_id")
            .expect("found by external id");
        assert_eq!(by_external, inserted);

        // Same id, other entity: separate tables, not found.
        assert!(
            store
                .get(Entity::Employer, "worker-1")
                .await
                .expect("get")
                .is_none()
        );
        assert!(
            store
                .get(Entity::Worker, "nobody")
                .await
                .expect("get")
                .is_none()
        );
        assert!(
            store
                .get_by_external_id(Entity::Worker, "ngo-registry", "R-18")
                .await
                .expect("get_by_external_id")
                .is_none()
        );

        let error = store
            .insert(
                Entity::Worker,
                NewRecord {
                    id: "worker-1",
                    source: None,
                    external_id: None,
                    columns: &Columns::default(),
                    body: &json!({}),
                },
            )
            .await
            .expect_err("duplicate id");
        assert!(matches!(error, StoreError::AlreadyExists), "{error:?}");

        assert_eq!(store.count(Entity::Worker).await.expect("count"), 1);
        assert_eq!(store.count(Entity::Employer).await.expect("count"), 0);
        assert_eq!(
            feed(&store).await,
            vec![change(Entity::Worker, "worker-1", ChangeOp::Create)]
        );
        store.close().await;
    }

    pub async fn update_bumps_version_and_appends_an_update_change(db: &TestDb) {
        let store = db.open().await;
        let original = store
            .insert(
                Entity::Employer,
                NewRecord {
                    id: "emp-1",
                    source: Some("crm"),
                    external_id: Some("C-1"),
                    columns: &columns(None, Some("agriculture"), Some("KH-1"), Some("draft")),
                    body: &json!({"name": "Mekong Farms", "size": 10}),
                },
            )
            .await
            .expect("insert");

        let new_cols = columns(None, Some("manufacturing"), Some("KH-12"), Some("verified"));
        let new_body = json!({"name": "Mekong Garments", "size": 250});
        let updated = store
            .update(Entity::Employer, "emp-1", Some(1), &new_cols, &new_body)
            .await
            .expect("update");
        assert_eq!(updated.version, 2);
        assert_eq!(updated.body, new_body);
        assert_eq!(updated.columns, new_cols);
        assert_eq!(updated.created_at, original.created_at);
        assert!(updated.updated_at >= original.updated_at);
        // Source and external id are kept.
        assert_eq!(updated.source.as_deref(), Some("crm"));
        assert_eq!(updated.external_id.as_deref(), Some("C-1"));
        assert_eq!(
            store.get(Entity::Employer, "emp-1").await.expect("get"),
            Some(updated.clone())
        );

        // Without an expected version the update always applies.
        let body3 = json!({"name": "Mekong Garments Co.", "size": 260});
        let third = store
            .update(Entity::Employer, "emp-1", None, &new_cols, &body3)
            .await
            .expect("unconditional update");
        assert_eq!(third.version, 3);
        assert_eq!(third.body, body3);

        assert_eq!(
            feed(&store).await,
            vec![
                change(Entity::Employer, "emp-1", ChangeOp::Create),
                change(Entity::Employer, "emp-1", ChangeOp::Update),
                change(Entity::Employer, "emp-1", ChangeOp::Update),
            ]
        );
        store.close().await;
    }

    pub async fn stale_expected_version_is_refused_with_the_current_version_and_changes_nothing(
        db: &TestDb,
    ) {
        let store = db.open().await;
        let cols = columns(None, Some("fishery"), None, Some("open"));
        insert(&store, Entity::Worker, "w-1", &cols, &json!({"v": 1})).await;
        store
            .update(Entity::Worker, "w-1", Some(1), &cols, &json!({"v": 2}))
            .await
            .expect("update to 2");
        let current = store
            .update(Entity::Worker, "w-1", Some(2), &cols, &json!({"v": 3}))
            .await
            .expect("update to 3");
        let seq_before = store.latest_change_seq().await.expect("latest");

        for stale in [1, 2, 4] {
            let error = store
                .update(
                    Entity::Worker,
                    "w-1",
                    Some(stale),
                    &columns(None, Some("other"), None, None),
                    &json!({"v": "stale"}),
                )
                .await
                .expect_err("stale version");
            assert!(
                matches!(error, StoreError::VersionMismatch { current: 3 }),
                "{error:?}"
            );
            assert_eq!(error.to_string(), "version mismatch: current version is 3");
        }

        assert_eq!(
            store.get(Entity::Worker, "w-1").await.expect("get"),
            Some(current)
        );
        assert_eq!(store.latest_change_seq().await.expect("latest"), seq_before);
        assert_eq!(feed(&store).await.len(), 3);
        store.close().await;
    }

    pub async fn update_of_a_missing_record_is_not_found(db: &TestDb) {
        let store = db.open().await;
        for expected in [None, Some(1)] {
            let error = store
                .update(
                    Entity::Vacancy,
                    "missing",
                    expected,
                    &Columns::default(),
                    &json!({}),
                )
                .await
                .expect_err("missing record");
            assert!(matches!(error, StoreError::NotFound), "{error:?}");
        }
        assert_eq!(store.count(Entity::Vacancy).await.expect("count"), 0);
        assert_eq!(store.latest_change_seq().await.expect("latest"), 0);
        store.close().await;
    }

    pub async fn delete_removes_the_row_and_appends_a_delete_change(db: &TestDb) {
        let store = db.open().await;
        insert_imported(&store, Entity::Worker, "w-erase", "hotline", "H-9")
            .await
            .expect("insert");
        insert(
            &store,
            Entity::Worker,
            "w-keep",
            &Columns::default(),
            &json!({}),
        )
        .await;

        assert!(
            store
                .delete(Entity::Worker, "w-erase")
                .await
                .expect("delete")
        );
        assert!(
            store
                .get(Entity::Worker, "w-erase")
                .await
                .expect("get")
                .is_none()
        );
        assert!(
            store
                .get_by_external_id(Entity::Worker, "hotline", "H-9")
                .await
                .expect("get_by_external_id")
                .is_none()
        );
        assert_eq!(store.count(Entity::Worker).await.expect("count"), 1);

        // Deleting again, or something that never existed, changes nothing.
        let seq = store.latest_change_seq().await.expect("latest");
        assert!(
            !store
                .delete(Entity::Worker, "w-erase")
                .await
                .expect("delete")
        );
        assert!(
            !store
                .delete(Entity::Employer, "w-keep")
                .await
                .expect("delete")
        );
        assert_eq!(store.latest_change_seq().await.expect("latest"), seq);

        let changes = feed(&store).await;
        assert_eq!(
            changes,
            vec![
                change(Entity::Worker, "w-erase", ChangeOp::Create),
                change(Entity::Worker, "w-keep", ChangeOp::Create),
                change(Entity::Worker, "w-erase", ChangeOp::Delete),
            ]
        );

        // The external id is free again once its record is gone.
        insert_imported(&store, Entity::Worker, "w-again", "hotline", "H-9")
            .await
            .expect("external id reusable after delete");
        store.close().await;
    }

    pub async fn change_feed_sequence_is_strictly_increasing_and_lists_writes_in_order(
        db: &TestDb,
    ) {
        let store = db.open().await;
        assert!(
            store
                .changes_since(0, 10)
                .await
                .expect("changes")
                .is_empty()
        );
        assert_eq!(store.latest_change_seq().await.expect("latest"), 0);

        let empty = Columns::default();
        let body = json!({});
        insert(&store, Entity::Employer, "e-1", &empty, &body).await;
        let vac_cols = columns(Some("e-1"), None, None, None);
        insert(&store, Entity::Vacancy, "v-1", &vac_cols, &body).await;
        insert(&store, Entity::Worker, "w-1", &empty, &body).await;
        store
            .update(
                Entity::Vacancy,
                "v-1",
                Some(1),
                &vac_cols,
                &json!({"open": true}),
            )
            .await
            .expect("update");
        // A failed write in between leaves no trace in the feed.
        store
            .update(Entity::Vacancy, "v-1", Some(1), &vac_cols, &body)
            .await
            .expect_err("stale");
        store.delete(Entity::Worker, "w-1").await.expect("delete");
        insert(&store, Entity::Worker, "w-2", &empty, &body).await;
        store.delete(Entity::Vacancy, "v-1").await.expect("delete");

        let expected = vec![
            change(Entity::Employer, "e-1", ChangeOp::Create),
            change(Entity::Vacancy, "v-1", ChangeOp::Create),
            change(Entity::Worker, "w-1", ChangeOp::Create),
            change(Entity::Vacancy, "v-1", ChangeOp::Update),
            change(Entity::Worker, "w-1", ChangeOp::Delete),
            change(Entity::Worker, "w-2", ChangeOp::Create),
            change(Entity::Vacancy, "v-1", ChangeOp::Delete),
        ];
        assert_eq!(feed(&store).await, expected);

        let all = store.changes_since(0, 100).await.expect("changes");
        let latest = store.latest_change_seq().await.expect("latest");
        assert_eq!(all.last().map(|c| c.seq), Some(latest));
        for pair in all.windows(2) {
            assert!(pair[0].at <= pair[1].at, "change times follow seq order");
        }

        // A follower paging with a small limit sees the same sequence.
        let mut followed = Vec::new();
        let mut cursor = 0;
        loop {
            let page = store.changes_since(cursor, 3).await.expect("page");
            assert!(page.len() <= 3);
            let Some(last) = page.last() else { break };
            cursor = last.seq;
            followed.extend(page);
        }
        assert_eq!(followed, all);
        assert!(
            store
                .changes_since(latest, 10)
                .await
                .expect("changes")
                .is_empty()
        );
        assert!(store.changes_since(0, 0).await.expect("changes").is_empty());
        // Starting in the middle skips exactly the earlier changes.
        assert_eq!(
            store.changes_since(all[2].seq, 100).await.expect("changes"),
            all[3..].to_vec()
        );
        store.close().await;
    }

    pub async fn external_id_is_unique_per_source_but_free_across_sources(db: &TestDb) {
        let store = db.open().await;
        let first = insert_imported(&store, Entity::Vacancy, "v-a", "jobboard", "J-1")
            .await
            .expect("first");
        insert_imported(&store, Entity::Vacancy, "v-b", "ministry", "J-1")
            .await
            .expect("same external id, other source");
        insert_imported(&store, Entity::Worker, "w-a", "jobboard", "J-1")
            .await
            .expect("same source and external id, other entity");
        let seq = store.latest_change_seq().await.expect("latest");

        let error = insert_imported(&store, Entity::Vacancy, "v-c", "jobboard", "J-1")
            .await
            .expect_err("duplicate external id");
        match error {
            StoreError::ExternalIdTaken { existing_id } => assert_eq!(existing_id, first.id),
            other => panic!("expected ExternalIdTaken, got {other:?}"),
        }
        assert!(
            store
                .get(Entity::Vacancy, "v-c")
                .await
                .expect("get")
                .is_none()
        );
        assert_eq!(store.latest_change_seq().await.expect("latest"), seq);

        // Records without an external id never collide.
        insert(
            &store,
            Entity::Vacancy,
            "v-d",
            &Columns::default(),
            &json!({}),
        )
        .await;
        insert(
            &store,
            Entity::Vacancy,
            "v-e",
            &Columns::default(),
            &json!({}),
        )
        .await;
        assert_eq!(store.count(Entity::Vacancy).await.expect("count"), 4);

        let found = store
            .get_by_external_id(Entity::Vacancy, "ministry", "J-1")
            .await
            .expect("lookup")
            .expect("found");
        assert_eq!(found.id, "v-b");
        store.close().await;
    }

    pub async fn list_filters_by_each_column_and_pages_by_id_with_no_overlap_or_gap(db: &TestDb) {
        let store = db.open().await;
        let employers = ["emp-a", "emp-b", "emp-c"];
        for employer in employers {
            insert(
                &store,
                Entity::Employer,
                employer,
                &Columns::default(),
                &json!({}),
            )
            .await;
        }
        let sectors = [
            "agriculture",
            "construction",
            "manufacturing",
            "hospitality",
        ];
        let provinces = ["KH-1", "KH-2", "KH-12", "KH-17", "KH-21"];
        let statuses = ["open", "filled", "closed"];

        // Ids in deliberately awkward byte order: upper case sorts before
        // lower case, '-' before digits; both backends must agree on it.
        let mut all: Vec<(String, Columns)> = Vec::new();
        for i in 0..47_usize {
            let id = match i % 3 {
                0 => format!("V-{i:03}"),
                1 => format!("v{i:03}"),
                _ => format!("v-{i}"),
            };
            let cols = Columns {
                employer_id: (i % 4 != 3).then(|| employers[i % 3].to_owned()),
                sector: Some(sectors[i % 4].to_owned()),
                province_code: (i % 6 != 5).then(|| provinces[i % 5].to_owned()),
                status: Some(statuses[i % 3].to_owned()),
            };
            insert(&store, Entity::Vacancy, &id, &cols, &json!({"i": i})).await;
            all.push((id, cols));
        }
        // Noise in another table that shares column values.
        insert(
            &store,
            Entity::Worker,
            "V-000",
            &columns(
                Some("emp-a"),
                Some("agriculture"),
                Some("KH-1"),
                Some("open"),
            ),
            &json!({}),
        )
        .await;
        all.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));

        let expected_ids = |filter: &Columns| -> Vec<String> {
            all.iter()
                .filter(|(_, c)| {
                    let matches = |want: &Option<String>, have: &Option<String>| {
                        want.is_none() || want == have
                    };
                    matches(&filter.employer_id, &c.employer_id)
                        && matches(&filter.sector, &c.sector)
                        && matches(&filter.province_code, &c.province_code)
                        && matches(&filter.status, &c.status)
                })
                .map(|(id, _)| id.clone())
                .collect()
        };

        let mut filters = vec![Columns::default()];
        for employer in employers {
            filters.push(columns(Some(employer), None, None, None));
        }
        for sector in sectors {
            filters.push(columns(None, Some(sector), None, None));
        }
        for province in provinces {
            filters.push(columns(None, None, Some(province), None));
        }
        for status in statuses {
            filters.push(columns(None, None, None, Some(status)));
        }
        filters.push(columns(
            Some("emp-a"),
            Some("agriculture"),
            None,
            Some("open"),
        ));
        filters.push(columns(
            Some("emp-b"),
            Some("construction"),
            Some("KH-2"),
            Some("filled"),
        ));
        filters.push(columns(Some("no-such-employer"), None, None, None));

        for filter_columns in &filters {
            let want = expected_ids(filter_columns);

            // One page with room for everything.
            let one_page = store
                .list(
                    Entity::Vacancy,
                    &ListFilter {
                        columns: filter_columns.clone(),
                        after_id: None,
                        limit: 1000,
                    },
                )
                .await
                .expect("list");
            let got: Vec<String> = one_page.iter().map(|r| r.id.clone()).collect();
            assert_eq!(got, want, "filter {filter_columns:?}");
            for record in &one_page {
                let (_, cols) = all
                    .iter()
                    .find(|(id, _)| *id == record.id)
                    .expect("known id");
                assert_eq!(&record.columns, cols);
            }

            // Pages of 4: concatenated, exactly the same ids.
            let mut paged = Vec::new();
            let mut after_id = None;
            loop {
                let page = store
                    .list(
                        Entity::Vacancy,
                        &ListFilter {
                            columns: filter_columns.clone(),
                            after_id: after_id.clone(),
                            limit: 4,
                        },
                    )
                    .await
                    .expect("list page");
                assert!(page.len() <= 4);
                let Some(last) = page.last() else { break };
                after_id = Some(last.id.clone());
                paged.extend(page.into_iter().map(|r| r.id));
            }
            assert_eq!(paged, want, "paged, filter {filter_columns:?}");
            let unique: HashSet<&String> = paged.iter().collect();
            assert_eq!(unique.len(), paged.len(), "no overlap");
        }

        // A cursor that is not an existing id still works (strictly greater).
        let after = store
            .list(
                Entity::Vacancy,
                &ListFilter {
                    columns: Columns::default(),
                    after_id: Some("v0".to_owned()),
                    limit: 1000,
                },
            )
            .await
            .expect("list");
        let want: Vec<String> = all
            .iter()
            .map(|(id, _)| id.clone())
            .filter(|id| id.as_bytes() > b"v0".as_slice())
            .collect();
        assert_eq!(after.into_iter().map(|r| r.id).collect::<Vec<_>>(), want);

        let none = store
            .list(Entity::Vacancy, &ListFilter::default())
            .await
            .expect("limit 0");
        assert!(none.is_empty());
        store.close().await;
    }

    pub async fn api_key_lookup_by_hash_listing_and_revocation(db: &TestDb) {
        let store = db.open().await;
        assert!(store.list_api_keys().await.expect("list").is_empty());
        let created = chrono::DateTime::parse_from_rfc3339("2025-01-02T03:04:05.123456789Z")
            .expect("time")
            .with_timezone(&chrono::Utc);
        let admin = ApiKey {
            id: "key-admin".to_owned(),
            name: "ops laptop".to_owned(),
            role: "admin".to_owned(),
            employer_id: None,
            source: "key-admin".to_owned(),
            hash: "a".repeat(64),
            created_at: created,
            expires_at: None,
            revoked_at: None,
        };
        let employer = ApiKey {
            id: "key-emp".to_owned(),
            name: "Mekong Farms HR".to_owned(),
            role: "employer".to_owned(),
            employer_id: Some("emp-1".to_owned()),
            source: "key-emp".to_owned(),
            hash: "b".repeat(64),
            created_at: created + chrono::Duration::seconds(1),
            expires_at: Some(created + chrono::Duration::days(90)),
            revoked_at: None,
        };
        store
            .insert_api_key(&admin)
            .await
            .expect("insert admin key");
        store
            .insert_api_key(&employer)
            .await
            .expect("insert employer key");

        // Stored with microsecond precision.
        let mut admin_stored = admin.clone();
        admin_stored.created_at =
            chrono::DateTime::parse_from_rfc3339("2025-01-02T03:04:05.123456Z")
                .expect("time")
                .with_timezone(&chrono::Utc);
        let mut employer_stored = employer.clone();
        employer_stored.created_at = admin_stored.created_at + chrono::Duration::seconds(1);
        employer_stored.expires_at = Some(admin_stored.created_at + chrono::Duration::days(90));

        assert_eq!(
            store
                .api_key_by_hash(&"a".repeat(64))
                .await
                .expect("lookup"),
            Some(admin_stored.clone())
        );
        assert_eq!(
            store
                .api_key_by_hash(&"b".repeat(64))
                .await
                .expect("lookup"),
            Some(employer_stored.clone())
        );
        assert!(
            store
                .api_key_by_hash(&"c".repeat(64))
                .await
                .expect("lookup")
                .is_none()
        );
        assert_eq!(
            store.list_api_keys().await.expect("list"),
            vec![admin_stored.clone(), employer_stored.clone()]
        );

        // The same hash (or id) cannot be stored twice.
        let mut duplicate = employer.clone();
        duplicate.id = "key-dup".to_owned();
        let error = store
            .insert_api_key(&duplicate)
            .await
            .expect_err("dup hash");
        assert!(matches!(error, StoreError::AlreadyExists), "{error:?}");

        let before = chrono::Utc::now() - chrono::Duration::seconds(1);
        assert!(store.revoke_api_key("key-emp").await.expect("revoke"));
        let revoked = store
            .api_key_by_hash(&"b".repeat(64))
            .await
            .expect("lookup")
            .expect("still stored");
        let revoked_at = revoked.revoked_at.expect("revoked_at set");
        assert!(revoked_at > before);
        // Revoking again keeps the first revocation time.
        assert!(store.revoke_api_key("key-emp").await.expect("revoke again"));
        let again = store
            .api_key_by_hash(&"b".repeat(64))
            .await
            .expect("lookup");
        assert_eq!(again.and_then(|k| k.revoked_at), Some(revoked_at));
        assert!(
            !store
                .revoke_api_key("no-such-key")
                .await
                .expect("revoke unknown")
        );
        // The other key is untouched.
        assert_eq!(
            store
                .api_key_by_hash(&"a".repeat(64))
                .await
                .expect("lookup"),
            Some(admin_stored)
        );
        // API keys are not documents: no change feed rows.
        assert_eq!(store.latest_change_seq().await.expect("latest"), 0);
        store.close().await;
    }

    pub async fn concurrent_writers_all_land_and_each_has_exactly_one_feed_row(db: &TestDb) {
        const TASKS: usize = 8;
        const PER_TASK: usize = 25;
        let store = db.open().await;
        let mut handles = Vec::new();
        for task in 0..TASKS {
            let store = store.clone();
            handles.push(tokio::spawn(async move {
                for n in 0..PER_TASK {
                    let id = format!("w-{task}-{n:02}");
                    let body = json!({"task": task, "n": n});
                    let cols = columns(None, Some("construction"), None, Some("active"));
                    store
                        .insert(
                            Entity::Worker,
                            NewRecord {
                                id: &id,
                                source: None,
                                external_id: None,
                                columns: &cols,
                                body: &body,
                            },
                        )
                        .await
                        .unwrap_or_else(|error| panic!("insert {id}: {error:?}"));
                    if n % 5 == 0 {
                        store
                            .update(
                                Entity::Worker,
                                &id,
                                Some(1),
                                &cols,
                                &json!({"updated": true}),
                            )
                            .await
                            .unwrap_or_else(|error| panic!("update {id}: {error:?}"));
                    }
                }
            }));
        }
        for handle in handles {
            handle.await.expect("writer task");
        }

        let total = (TASKS * PER_TASK) as i64;
        assert_eq!(store.count(Entity::Worker).await.expect("count"), total);
        let changes = feed(&store).await;
        let creates: Vec<&String> = changes
            .iter()
            .filter(|(_, _, op)| *op == ChangeOp::Create)
            .map(|(_, id, _)| id)
            .collect();
        let unique: BTreeSet<&String> = creates.iter().copied().collect();
        assert_eq!(creates.len(), TASKS * PER_TASK);
        assert_eq!(unique.len(), TASKS * PER_TASK, "one create row per record");
        let updates = changes
            .iter()
            .filter(|(_, _, op)| *op == ChangeOp::Update)
            .count();
        assert_eq!(updates, TASKS * PER_TASK / 5);
        // Within each record, create comes before update.
        for (index, (_, id, op)) in changes.iter().enumerate() {
            if *op == ChangeOp::Update {
                let created_at = changes
                    .iter()
                    .position(|(_, other, op)| other == id && *op == ChangeOp::Create)
                    .expect("create row");
                assert!(created_at < index);
            }
        }
        let listed = store
            .list(
                Entity::Worker,
                &ListFilter {
                    columns: Columns::default(),
                    after_id: None,
                    limit: 1000,
                },
            )
            .await
            .expect("list");
        assert_eq!(listed.len(), TASKS * PER_TASK);
        store.close().await;
    }

    pub async fn data_survives_closing_and_reopening_the_store(db: &TestDb) {
        let store = db.open().await;
        let cols = columns(None, Some("construction"), Some("KH-17"), Some("active"));
        insert(
            &store,
            Entity::Worker,
            "w-1",
            &cols,
            &json!({"name": "Dara"}),
        )
        .await;
        let updated = store
            .update(
                Entity::Worker,
                "w-1",
                Some(1),
                &cols,
                &json!({"name": "Dara Sok"}),
            )
            .await
            .expect("update");
        insert(
            &store,
            Entity::Employer,
            "e-1",
            &Columns::default(),
            &json!({"n": 1}),
        )
        .await;
        store.delete(Entity::Employer, "e-1").await.expect("delete");
        let key = ApiKey {
            id: "k-1".to_owned(),
            name: "importer".to_owned(),
            role: "importer".to_owned(),
            employer_id: None,
            source: "k-1".to_owned(),
            hash: "f".repeat(64),
            created_at: chrono::DateTime::UNIX_EPOCH,
            expires_at: None,
            revoked_at: None,
        };
        store.insert_api_key(&key).await.expect("api key");
        let changes = store.changes_since(0, 100).await.expect("changes");
        store.close().await;

        let reopened = db.open().await;
        assert_eq!(
            reopened.get(Entity::Worker, "w-1").await.expect("get"),
            Some(updated)
        );
        assert!(
            reopened
                .get(Entity::Employer, "e-1")
                .await
                .expect("get")
                .is_none()
        );
        assert_eq!(
            reopened
                .api_key_by_hash(&"f".repeat(64))
                .await
                .expect("key"),
            Some(key)
        );
        assert_eq!(
            reopened.changes_since(0, 100).await.expect("changes"),
            changes
        );

        // New writes continue the sequence.
        let last = reopened.latest_change_seq().await.expect("latest");
        insert(&reopened, Entity::Worker, "w-2", &cols, &json!({})).await;
        let next = reopened.changes_since(last, 10).await.expect("changes");
        assert_eq!(next.len(), 1);
        assert!(next[0].seq > last);
        reopened.close().await;
    }

    pub async fn vacancies_must_reference_an_existing_employer_which_then_cannot_be_deleted(
        db: &TestDb,
    ) {
        let store = db.open().await;
        let orphan = columns(Some("emp-missing"), None, None, None);
        let error = store
            .insert(
                Entity::Vacancy,
                NewRecord {
                    id: "v-1",
                    source: None,
                    external_id: None,
                    columns: &orphan,
                    body: &json!({}),
                },
            )
            .await
            .expect_err("unknown employer");
        assert!(matches!(error, StoreError::ReferenceMissing), "{error:?}");
        assert_eq!(store.latest_change_seq().await.expect("latest"), 0);

        insert(
            &store,
            Entity::Employer,
            "emp-1",
            &Columns::default(),
            &json!({}),
        )
        .await;
        let owned = columns(Some("emp-1"), None, None, None);
        insert(&store, Entity::Vacancy, "v-1", &owned, &json!({})).await;

        let error = store
            .update(Entity::Vacancy, "v-1", Some(1), &orphan, &json!({}))
            .await
            .expect_err("unknown employer on update");
        assert!(matches!(error, StoreError::ReferenceMissing), "{error:?}");

        let seq = store.latest_change_seq().await.expect("latest");
        let error = store
            .delete(Entity::Employer, "emp-1")
            .await
            .expect_err("employer still has a vacancy");
        assert!(matches!(error, StoreError::StillReferenced), "{error:?}");
        assert!(
            store
                .get(Entity::Employer, "emp-1")
                .await
                .expect("get")
                .is_some()
        );
        assert_eq!(store.latest_change_seq().await.expect("latest"), seq);

        // Workers' employer_id is a plain filter column.
        insert(&store, Entity::Worker, "w-1", &orphan, &json!({})).await;

        assert!(
            store
                .delete(Entity::Vacancy, "v-1")
                .await
                .expect("delete vacancy")
        );
        assert!(
            store
                .delete(Entity::Employer, "emp-1")
                .await
                .expect("delete employer")
        );
        store.close().await;
    }

    pub async fn several_stores_starting_at_once_all_migrate_and_work(db: &TestDb) {
        let mut handles = Vec::new();
        for n in 0..4 {
            let url = db.url.clone();
            handles.push(tokio::spawn(async move {
                let store = Store::connect(&url)
                    .await
                    .unwrap_or_else(|error| panic!("connect {n}: {error:?}"));
                insert(
                    &store,
                    Entity::Worker,
                    &format!("w-{n}"),
                    &Columns::default(),
                    &json!({}),
                )
                .await;
                store
            }));
        }
        let mut stores = Vec::new();
        for handle in handles {
            stores.push(handle.await.expect("connect task"));
        }
        for store in &stores {
            assert_eq!(store.count(Entity::Worker).await.expect("count"), 4);
            store.close().await;
        }
    }

    // -----------------------------------------------------------------------
    // Batches
    // -----------------------------------------------------------------------

    /// `count` worker documents `w-0, w-1, ...` with external ids `E-0, ...`.
    fn batch_bodies(count: usize, note: &str) -> Vec<(String, String, String)> {
        (0..count)
            .map(|n| {
                (
                    format!("w-{n}"),
                    format!("E-{n}"),
                    json!({"full_name": format!("Worker {n}"), "note": note}).to_string(),
                )
            })
            .collect()
    }

    fn batch<'a>(
        rows: &'a [(String, String, String)],
        columns: &'a Columns,
    ) -> Vec<BatchRecord<'a>> {
        rows.iter()
            .map(|(id, external_id, body)| BatchRecord {
                id,
                external_id: Some(external_id),
                columns,
                body,
            })
            .collect()
    }

    pub async fn upsert_many_creates_a_batch_with_one_feed_row_each(db: &TestDb) {
        let store = db.open().await;
        let cols = columns(None, None, Some("01"), Some("seeking"));
        // More rows than one multi-row statement holds, to cross a chunk edge.
        let rows = batch_bodies(250, "first");
        let writes = store
            .upsert_many(Entity::Worker, "kobo", &batch(&rows, &cols))
            .await
            .expect("upsert_many");
        assert_eq!(writes.len(), 250);
        for (write, (id, _, _)) in writes.iter().zip(&rows) {
            assert_eq!(write.id, *id);
            assert_eq!(write.version, 1);
            assert_eq!(write.outcome, BatchOutcome::Created);
        }
        assert_eq!(store.count(Entity::Worker).await.expect("count"), 250);
        let stored = store
            .get_by_external_id(Entity::Worker, "kobo", "E-249")
            .await
            .expect("get")
            .expect("stored under its external id");
        assert_eq!(stored.id, "w-249");
        assert_eq!(stored.body.to_string(), rows[249].2);
        assert_eq!(stored.columns, cols);
        assert_eq!(stored.source.as_deref(), Some("kobo"));
        let created: Vec<_> = feed(&store).await;
        let expected: Vec<_> = rows
            .iter()
            .map(|(id, _, _)| change(Entity::Worker, id, ChangeOp::Create))
            .collect();
        assert_eq!(created, expected);
        // An empty batch writes nothing.
        assert!(
            store
                .upsert_many(Entity::Worker, "kobo", &[])
                .await
                .expect("empty")
                .is_empty()
        );
    }

    pub async fn upsert_many_updates_changed_and_skips_unchanged_records_by_external_id(
        db: &TestDb,
    ) {
        let store = db.open().await;
        let cols = columns(None, None, Some("01"), Some("seeking"));
        let rows = batch_bodies(3, "first");
        store
            .upsert_many(Entity::Worker, "kobo", &batch(&rows, &cols))
            .await
            .expect("first import");
        let seq = store.latest_change_seq().await.expect("latest");

        // Re-sent: row 0 unchanged, row 1 with a new body, row 2 with new
        // columns only; the ids offered for creation are not used.
        let mut again = batch_bodies(3, "first");
        again[1].2 = json!({"full_name": "Worker 1", "note": "second"}).to_string();
        for (id, _, _) in &mut again {
            id.push_str("-new");
        }
        let moved = columns(None, None, Some("22"), Some("seeking"));
        let mut records = batch(&again, &cols);
        records[2].columns = &moved;
        let writes = store
            .upsert_many(Entity::Worker, "kobo", &records)
            .await
            .expect("re-import");
        let outcomes: Vec<_> = writes
            .iter()
            .map(|w| (w.id.as_str(), w.version, w.outcome))
            .collect();
        assert_eq!(
            outcomes,
            vec![
                ("w-0", 1, BatchOutcome::Unchanged),
                ("w-1", 2, BatchOutcome::Updated),
                ("w-2", 2, BatchOutcome::Updated),
            ]
        );
        assert_eq!(store.count(Entity::Worker).await.expect("count"), 3);
        let changes = store.changes_since(seq, 100).await.expect("changes");
        let changed: Vec<_> = changes
            .iter()
            .map(|c| (c.entity_id.as_str(), c.op))
            .collect();
        assert_eq!(
            changed,
            vec![("w-1", ChangeOp::Update), ("w-2", ChangeOp::Update)]
        );
        let updated = store
            .get(Entity::Worker, "w-1")
            .await
            .expect("get")
            .expect("exists");
        assert_eq!(updated.body["note"], "second");
        assert_eq!(updated.version, 2);
        let relocated = store
            .get(Entity::Worker, "w-2")
            .await
            .expect("get")
            .expect("exists");
        assert_eq!(relocated.columns.province_code.as_deref(), Some("22"));

        // The same external ids from another source are other records.
        let writes = store
            .upsert_many(Entity::Worker, "nea", &batch(&again, &cols))
            .await
            .expect("other source");
        assert!(writes.iter().all(|w| w.outcome == BatchOutcome::Created));
        assert_eq!(store.count(Entity::Worker).await.expect("count"), 6);
    }

    pub async fn upsert_many_is_all_or_nothing(db: &TestDb) {
        let store = db.open().await;
        insert(
            &store,
            Entity::Employer,
            "e-1",
            &Columns::default(),
            &json!({"name": "Employer"}),
        )
        .await;
        let seq = store.latest_change_seq().await.expect("latest");
        let good = columns(Some("e-1"), None, None, Some("open"));
        let dangling = columns(Some("e-missing"), None, None, Some("open"));
        let body = json!({"title": "Sewer"}).to_string();
        let records = [
            BatchRecord {
                id: "v-1",
                external_id: Some("V-1"),
                columns: &good,
                body: &body,
            },
            BatchRecord {
                id: "v-2",
                external_id: Some("V-2"),
                columns: &dangling,
                body: &body,
            },
        ];
        let error = store
            .upsert_many(Entity::Vacancy, "kobo", &records)
            .await
            .expect_err("a missing employer fails the batch");
        assert!(matches!(error, StoreError::ReferenceMissing), "{error:?}");
        assert_eq!(store.count(Entity::Vacancy).await.expect("count"), 0);
        assert_eq!(store.latest_change_seq().await.expect("latest"), seq);

        // A taken id is refused as a whole too.
        let writes = store
            .upsert_many(Entity::Vacancy, "kobo", &records[..1])
            .await
            .expect("the good row alone");
        assert_eq!(writes[0].outcome, BatchOutcome::Created);
        let clash = [BatchRecord {
            id: "v-1",
            external_id: Some("V-3"),
            columns: &good,
            body: &body,
        }];
        let error = store
            .upsert_many(Entity::Vacancy, "kobo", &clash)
            .await
            .expect_err("id taken");
        assert!(matches!(error, StoreError::AlreadyExists), "{error:?}");
        assert_eq!(store.count(Entity::Vacancy).await.expect("count"), 1);
    }

    pub async fn upsert_many_handles_an_external_id_repeated_within_the_batch(db: &TestDb) {
        let store = db.open().await;
        let cols = Columns::default();
        let first = json!({"n": 1}).to_string();
        let second = json!({"n": 2}).to_string();
        let records = [
            BatchRecord {
                id: "a-1",
                external_id: Some("A"),
                columns: &cols,
                body: &first,
            },
            BatchRecord {
                id: "b-1",
                external_id: None,
                columns: &cols,
                body: &first,
            },
            BatchRecord {
                id: "a-2",
                external_id: Some("A"),
                columns: &cols,
                body: &first,
            },
            BatchRecord {
                id: "a-3",
                external_id: Some("A"),
                columns: &cols,
                body: &second,
            },
        ];
        let writes = store
            .upsert_many(Entity::Employer, "kobo", &records)
            .await
            .expect("batch");
        let outcomes: Vec<_> = writes
            .iter()
            .map(|w| (w.id.as_str(), w.version, w.outcome))
            .collect();
        assert_eq!(
            outcomes,
            vec![
                ("a-1", 1, BatchOutcome::Created),
                ("b-1", 1, BatchOutcome::Created),
                ("a-1", 1, BatchOutcome::Unchanged),
                ("a-1", 2, BatchOutcome::Updated),
            ]
        );
        assert_eq!(store.count(Entity::Employer).await.expect("count"), 2);
        let stored = store
            .get(Entity::Employer, "a-1")
            .await
            .expect("get")
            .expect("exists");
        assert_eq!(stored.body.to_string(), second);
        assert_eq!(
            feed(&store).await,
            vec![
                change(Entity::Employer, "a-1", ChangeOp::Create),
                change(Entity::Employer, "b-1", ChangeOp::Create),
                change(Entity::Employer, "a-1", ChangeOp::Update),
            ]
        );
    }

    pub async fn lookups_by_many_external_ids_and_ids_find_exactly_what_is_stored(db: &TestDb) {
        let store = db.open().await;
        let cols = Columns::default();
        let rows = batch_bodies(130, "x");
        store
            .upsert_many(Entity::Worker, "kobo", &batch(&rows, &cols))
            .await
            .expect("batch");
        let wanted: Vec<String> = (0..140).step_by(3).map(|n| format!("E-{n}")).collect();
        let wanted: Vec<&str> = wanted.iter().map(String::as_str).collect();
        let found = store
            .get_many_by_external_id(Entity::Worker, "kobo", &wanted)
            .await
            .expect("lookup");
        let expected: BTreeSet<String> = (0..130).step_by(3).map(|n| format!("E-{n}")).collect();
        assert_eq!(found.keys().cloned().collect::<BTreeSet<_>>(), expected);
        assert_eq!(found["E-9"].id, "w-9");
        assert_eq!(found["E-9"].body.to_string(), rows[9].2);
        assert!(
            store
                .get_many_by_external_id(Entity::Worker, "other", &wanted)
                .await
                .expect("lookup")
                .is_empty()
        );

        let ids = ["w-0", "w-129", "w-130", "nobody"];
        let existing = store
            .existing_ids(Entity::Worker, &ids)
            .await
            .expect("existing ids");
        assert_eq!(
            existing,
            HashSet::from(["w-0".to_string(), "w-129".to_string()])
        );
        assert!(
            store
                .existing_ids(Entity::Employer, &ids)
                .await
                .expect("existing ids")
                .is_empty()
        );
    }
}
