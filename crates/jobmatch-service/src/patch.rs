//! Changing a stored document with a JSON merge patch (RFC 7396), validated
//! as a whole, with optimistic concurrency.

use jobmatch_domain::{FieldError, Reference, Valid};
use jobmatch_store::Record;
use serde_json::{Map, Value};

use crate::error::ServiceError;
use crate::resource::ResourceKind;
use crate::validation::{unknown_fields_set_to_null, validated, with_rule_errors};

/// A merge patch applied to the stored document, not yet validated: for a
/// caller whose own rules read the merged document ([`MergedPatch::object`])
/// and whose errors go into the same answer as validation's.
pub struct MergedPatch {
    object: Map<String, Value>,
    /// Fields of the patch that are no field of the resource, set to `null`.
    unknown: Vec<FieldError>,
    expected: Option<i64>,
}

/// Merges `patch` into the stored document `existing`, for a client that
/// expects the record at version `expected` (at any version when `None`):
/// another version is a [`ServiceError::VersionMismatch`].
pub fn merge<R: ResourceKind>(
    existing: &Record,
    expected: Option<i64>,
    patch: Map<String, Value>,
) -> Result<MergedPatch, ServiceError> {
    if let Some(version) = expected
        && version != existing.version
    {
        return Err(ServiceError::VersionMismatch {
            current: existing.version,
        });
    }
    let unknown = unknown_fields_set_to_null::<R>(&patch);
    let mut merged = existing.body.clone();
    json_patch::merge(&mut merged, &Value::Object(patch));
    // Merging an object patch always gives an object (RFC 7396 replaces a
    // target that is not one); this only guards that promise.
    let Value::Object(object) = merged else {
        return Err(ServiceError::internal(std::io::Error::other(
            "a merge patch did not give a JSON object",
        )));
    };
    Ok(MergedPatch {
        object,
        unknown,
        expected,
    })
}

/// Consent given or withdrawn by a patch is recorded at the time of the patch:
/// without this the merge would keep the time of the earlier decision.
pub fn record_consent_now(patch: &mut Map<String, Value>) {
    if let Some(Value::Object(consent)) = patch.get_mut("consent")
        && !consent.contains_key("recorded_at")
    {
        consent.insert("recorded_at".to_string(), Value::Null);
    }
}

impl MergedPatch {
    /// The stored document with the patch applied, as it will be validated.
    pub fn object(&self) -> &Map<String, Value> {
        &self.object
    }

    /// Validates the merged document as a whole; `rule_errors` (the caller's
    /// own rules) are reported with validation's errors. Returns the document
    /// and the version it replaces.
    pub fn validated<R: ResourceKind>(
        self,
        reference: &Reference,
        existing: &Record,
        rule_errors: Vec<FieldError>,
    ) -> Result<(Valid<R>, Option<i64>), ServiceError> {
        let MergedPatch {
            object,
            unknown,
            expected,
        } = self;
        let rule_errors: Vec<FieldError> = unknown.into_iter().chain(rule_errors).collect();
        let document: Valid<R> = with_rule_errors(validated(object, reference), rule_errors)
            .map_err(ServiceError::Invalid)?;
        // The sending system finds its record again by external_id; changing it would
        // make a later re-send duplicate the record instead of updating it.
        if document.external_id() != existing.external_id.as_deref() {
            return Err(ServiceError::Invalid(vec![FieldError::new(
                "external_id",
                "cannot be changed once set; it identifies the record in the sending system",
            )]));
        }
        Ok((document, Some(expected.unwrap_or(existing.version))))
    }
}
