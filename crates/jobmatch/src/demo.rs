//! `jobmatch serve --demo`: a deterministic, realistic data set for trying the API.
//!
//! Into an empty database it loads about 30 employers (garment above all, then
//! construction and production), 300 vacancies and 2,000 returnee profiles, made by
//! the demo profile of `jobmatch-synthetic` from its tables (`fixtures/demo/`) and the
//! embedded reference data (ESCO occupations and their skills, the NCDD gazetteer,
//! the Thai provinces) with a fixed seed, so every run on the same day produces the
//! same documents. Dates are relative to today so the data never goes stale.
//!
//! Every record is built as the JSON a client would POST, deserialised into the
//! domain input type, validated and stored through the same function the API uses,
//! so the demo can never hold a document the API would refuse. Each record carries an
//! `external_id` (`demo-employer-007`, `demo-vacancy-0042`, `demo-worker-1999`) under
//! the source `demo`, which makes the set idempotent and comparable.
//!
//! All names, companies and phone numbers are fictional. The same generator makes
//! the national-scale sets of `jobmatch gen` (see `gen.rs`).

use std::time::Instant;

use anyhow::{Context, anyhow};
use chrono::{NaiveDate, Utc};
use jobmatch_domain::resources::{EmployerInput, VacancyInput, WorkerInput};
use jobmatch_domain::{Reference, Valid};
use jobmatch_service::ResourceKind;
use jobmatch_service::records::store_document;
use jobmatch_store::{Entity, Store};
use jobmatch_synthetic::demo::demo;
use serde_json::Value;

/// The `source` the demo records are stored under (what an API key's id would be).
const SOURCE: &str = "demo";

/// Loads the demo data into an empty database and returns the secret of a new staff
/// key named "demo". A database that already holds employers or workers is left as
/// it is; only the key is created.
pub async fn load(store: &Store) -> anyhow::Result<String> {
    load_as_of(store, Utc::now().date_naive()).await
}

/// [`load`] with the dates computed relative to `today`.
async fn load_as_of(store: &Store, today: NaiveDate) -> anyhow::Result<String> {
    let existing_employers = store.count(Entity::Employer).await?;
    let existing_workers = store.count(Entity::Worker).await?;
    if existing_employers > 0 || existing_workers > 0 {
        tracing::info!(
            employers = existing_employers,
            workers = existing_workers,
            "the database already holds data; demo data not loaded"
        );
    } else {
        insert_all(store, today).await?;
    }
    let key = jobmatch_api::auth::generate_key(
        jobmatch_api::auth::Role::Staff,
        None,
        "demo".to_string(),
        None,
    );
    store.insert_api_key(&key.record).await?;
    Ok(key.secret)
}

async fn insert_all(store: &Store, today: NaiveDate) -> anyhow::Result<()> {
    let started = Instant::now();
    let reference = Reference::embedded();
    let data = demo(reference, today, SOURCE)?;
    tracing::info!(
        employers = data.employers.len(),
        vacancies = data.vacancies.len(),
        workers = data.workers.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "loading demo data"
    );

    let mut employer_ids = Vec::with_capacity(data.employers.len());
    for value in data.employers {
        employer_ids.push(put::<EmployerInput>(store, reference, value, "employer").await?);
    }
    tracing::info!(
        employers = employer_ids.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "demo employers loaded"
    );

    let vacancy_count = data.vacancies.len();
    for (employer, mut value) in data.vacancies {
        let object = value
            .as_object_mut()
            .context("demo vacancy is not an object")?;
        object.insert(
            "employer_id".into(),
            Value::String(employer_ids[employer].clone()),
        );
        put::<VacancyInput>(store, reference, value, "vacancy").await?;
    }
    tracing::info!(
        vacancies = vacancy_count,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "demo vacancies loaded"
    );

    let total = data.workers.len();
    for (index, value) in data.workers.into_iter().enumerate() {
        put::<WorkerInput>(store, reference, value, "worker").await?;
        if (index + 1) % 500 == 0 && index + 1 < total {
            tracing::info!(
                workers = index + 1,
                of = total,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "loading demo workers"
            );
        }
    }
    tracing::info!(
        employers = employer_ids.len(),
        vacancies = vacancy_count,
        workers = total,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "demo data loaded"
    );
    Ok(())
}

/// Deserialises, validates and stores one document the way the API does; returns its id.
async fn put<R: ResourceKind>(
    store: &Store,
    reference: &Reference,
    value: Value,
    what: &str,
) -> anyhow::Result<String> {
    let external_id = value
        .get("external_id")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_string();
    let document: R = serde_json::from_value(value)
        .with_context(|| format!("demo {what} {external_id} does not deserialise"))?;
    let document = Valid::check(document, reference)
        .map_err(|errors| anyhow!("demo {what} {external_id} invalid: {errors:?}"))?;
    let (_status, record) = store_document(store, SOURCE, &document)
        .await
        .map_err(|e| anyhow!("storing demo {what} {external_id}: {e}"))?;
    Ok(record.id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jobmatch_store::ListFilter;
    use jobmatch_synthetic::demo::Sizes;

    async fn open(dir: &tempfile::TempDir) -> Store {
        Store::connect(&format!("sqlite:{}", dir.path().join("demo.db").display()))
            .await
            .expect("open the store")
    }

    async fn all(store: &Store, entity: Entity) -> Vec<jobmatch_store::Record> {
        let mut records = Vec::new();
        loop {
            let filter = ListFilter {
                after_id: records
                    .last()
                    .map(|r: &jobmatch_store::Record| r.id.clone()),
                limit: 1_000,
                ..Default::default()
            };
            let page = store.list(entity, &filter).await.expect("list");
            if page.is_empty() {
                return records;
            }
            records.extend(page);
        }
    }

    /// Every stored document as JSON text, ordered by external id, with the two
    /// values that are not the demo's to choose replaced: the employer's generated
    /// id (by its external id) and the consent time the server fills in.
    async fn canonical(store: &Store) -> Vec<String> {
        let employers = all(store, Entity::Employer).await;
        let external: std::collections::HashMap<String, String> = employers
            .iter()
            .map(|r| (r.id.clone(), r.external_id.clone().unwrap_or_default()))
            .collect();
        let mut documents = Vec::new();
        for entity in Entity::ALL {
            for record in all(store, entity).await {
                assert_eq!(record.source.as_deref(), Some(SOURCE));
                let mut body = record.body.clone();
                if let Some(id) = body.get("employer_id").and_then(Value::as_str) {
                    let replacement = external
                        .get(id)
                        .cloned()
                        .expect("a vacancy's employer exists");
                    body["employer_id"] = Value::String(replacement);
                }
                if let Some(consent) = body.get_mut("consent").and_then(Value::as_object_mut) {
                    assert!(
                        consent.remove("recorded_at").is_some(),
                        "the server fills in the consent time"
                    );
                }
                let external_id = record
                    .external_id
                    .clone()
                    .expect("demo records have external ids");
                assert_eq!(body["external_id"], Value::String(external_id.clone()));
                documents.push((external_id, serde_json::to_string(&body).unwrap()));
            }
        }
        documents.sort();
        documents
            .into_iter()
            .map(|(id, body)| format!("{id} {body}"))
            .collect()
    }

    #[tokio::test]
    async fn demo_loads_deterministically_into_an_empty_database_only() {
        let today = Utc::now().date_naive();
        let reference = Reference::embedded();

        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir).await;
        let started = Instant::now();
        let key = load_as_of(&store, today).await.unwrap();
        eprintln!("demo load took {:?}", started.elapsed());
        assert!(!key.is_empty());
        let employers = store.count(Entity::Employer).await.unwrap();
        assert!((28..=36).contains(&employers), "{employers} employers");
        assert_eq!(
            store.count(Entity::Vacancy).await.unwrap(),
            Sizes::demo().vacancies as i64
        );
        assert_eq!(
            store.count(Entity::Worker).await.unwrap(),
            Sizes::demo().workers as i64
        );

        // Every worker lives in a commune of their district, in their province.
        for record in all(&store, Entity::Worker).await {
            let body = &record.body;
            let province = body["province_code"].as_str().unwrap();
            let district = body["district_code"].as_str().unwrap();
            let commune = reference
                .gazetteer
                .commune(body["commune_code"].as_str().unwrap())
                .expect("commune exists");
            assert_eq!(commune.district_code, district);
            assert_eq!(commune.province_code, province);
            assert_eq!(
                reference
                    .gazetteer
                    .district(district)
                    .unwrap()
                    .province_code,
                province
            );
            if let Some(phone) = body["phone"].as_str() {
                assert!(phone.starts_with("+855"), "phones are stored in E.164");
            }
        }

        // A second run finds data and only makes a new key.
        let second_key = load_as_of(&store, today).await.unwrap();
        assert_ne!(key, second_key);
        assert_eq!(
            store.count(Entity::Worker).await.unwrap(),
            Sizes::demo().workers as i64
        );
        assert_eq!(store.count(Entity::Employer).await.unwrap(), employers);
        assert_eq!(store.list_api_keys().await.unwrap().len(), 2);

        // Another database gets byte-identical documents.
        let other_dir = tempfile::tempdir().unwrap();
        let other = open(&other_dir).await;
        load_as_of(&other, today).await.unwrap();
        let (ours, theirs) = (canonical(&store).await, canonical(&other).await);
        assert_eq!(
            ours.len(),
            employers as usize + Sizes::demo().vacancies + Sizes::demo().workers
        );
        assert!(ours == theirs, "the demo data differs between runs");
    }
}
