//! Writing one record: a new document, a re-sent one (same `external_id` from
//! the same source) that replaces the record it names, or a changed one.

use jobmatch_domain::Valid;
use jobmatch_domain::resources::WorkerInput;
use jobmatch_store::{AuditAction, AuditEvent, NewRecord, Record, Store, StoreError};

use crate::error::ServiceError;
use crate::resource::{ResourceKind, new_id};

/// Replaces the document of record `id` with `document` (validated as a whole),
/// if the record is still at `expected_version` (at any version when `None`).
pub async fn update_document<R: ResourceKind>(
    store: &Store,
    id: &str,
    expected_version: Option<i64>,
    document: &Valid<R>,
) -> Result<Record, ServiceError> {
    let body = serde_json::to_value(document).map_err(ServiceError::internal)?;
    Ok(store
        .update(R::ENTITY, id, expected_version, &document.columns(), &body)
        .await?)
}

/// [`update_document`] for a returnee profile changed by `reader`, whose
/// answer carries the profile back: the read is logged in the write's
/// transaction. `consent_decided_by` (key id and role) when the change set the
/// consent: staff's decision, which no partner re-send may undo.
pub async fn update_worker(
    store: &Store,
    id: &str,
    expected_version: Option<i64>,
    worker: &Valid<WorkerInput>,
    consent_decided_by: Option<(&str, &str)>,
    reader: ProfileReader<'_>,
) -> Result<Record, ServiceError> {
    let audit = reader.reads(id);
    let body = serde_json::to_value(worker).map_err(ServiceError::internal)?;
    Ok(store
        .update_worker(
            id,
            expected_version,
            &worker.columns(),
            &body,
            consent_decided_by,
            Some(&audit),
        )
        .await?)
}

/// What [`store_document`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// A new record.
    Created,
    /// The document's `external_id` named a record this source sent before,
    /// which now holds the document.
    Replaced,
}

/// Who receives an answer that carries a returnee's profile back: its audit
/// row (a `profile_read`) commits with the write.
#[derive(Clone, Copy)]
pub struct ProfileReader<'a> {
    /// The API key's id.
    pub key_id: &'a str,
    /// The key's role, as the audit log writes it (`staff`, `partner`, ...).
    pub role: &'a str,
    /// The `x-request-id` the client sees.
    pub request_id: &'a str,
}

impl<'a> ProfileReader<'a> {
    /// The audit row of this reader reading the profile `worker_id`.
    pub fn reads(self, worker_id: &'a str) -> AuditEvent<'a> {
        AuditEvent {
            key_id: self.key_id,
            role: self.role,
            action: AuditAction::ProfileRead,
            worker_id,
            vacancy_id: None,
            request_id: Some(self.request_id),
        }
    }
}

/// Stores a validated document on behalf of `source` (the key that sent it); the
/// demo loader and bulk importers use it too, so every way in behaves alike.
pub async fn store_document<R: ResourceKind>(
    store: &Store,
    source: &str,
    document: &Valid<R>,
) -> Result<(Stored, Record), ServiceError> {
    store_document_for(store, source, document, None).await
}

/// [`store_document`], logging a read of the stored record by `reader`, if
/// given, in the write's transaction: for a document whose answer carries
/// personal data.
pub async fn store_document_for<R: ResourceKind>(
    store: &Store,
    source: &str,
    document: &Valid<R>,
    reader: Option<ProfileReader<'_>>,
) -> Result<(Stored, Record), ServiceError> {
    let body = serde_json::to_value(document).map_err(ServiceError::internal)?;
    let columns = document.columns();
    if let Some(external_id) = document.external_id()
        && let Some(existing) = store
            .get_by_external_id(R::ENTITY, source, external_id)
            .await?
    {
        let audit = reader.map(|reader| reader.reads(&existing.id));
        let record = store
            .update_audited(
                R::ENTITY,
                &existing.id,
                None,
                &columns,
                &body,
                audit.as_ref(),
            )
            .await?;
        return Ok((Stored::Replaced, record));
    }
    let id = new_id();
    let audit = reader.map(|reader| reader.reads(&id));
    let inserted = store
        .insert_audited(
            R::ENTITY,
            NewRecord {
                id: &id,
                source: Some(source),
                external_id: document.external_id(),
                columns: &columns,
                body: &body,
            },
            audit.as_ref(),
        )
        .await;
    match inserted {
        Ok(record) => Ok((Stored::Created, record)),
        // A concurrent re-send of the same record won the race: this one updates it,
        // as it would have had it arrived a moment later.
        Err(StoreError::ExternalIdTaken { existing_id }) => {
            let audit = reader.map(|reader| reader.reads(&existing_id));
            let record = store
                .update_audited(
                    R::ENTITY,
                    &existing_id,
                    None,
                    &columns,
                    &body,
                    audit.as_ref(),
                )
                .await?;
            Ok((Stored::Replaced, record))
        }
        Err(other) => Err(other.into()),
    }
}
