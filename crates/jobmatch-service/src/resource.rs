//! The kinds of record the application writes, and the ids it gives them.

use jobmatch_domain::Validate;
use jobmatch_domain::resources::{EmployerInput, VacancyInput, WorkerInput};
use jobmatch_store::{Columns, Entity};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// A kind of record (employer, vacancy, worker): how its document is stored,
/// found again by its sender, and validated.
pub trait ResourceKind:
    Validate + Serialize + DeserializeOwned + ToSchema + Sized + 'static
{
    const ENTITY: Entity;
    /// For messages: "employer", "vacancy", "worker".
    const NAME: &'static str;
    /// The columns the store can filter on, derived from the document.
    fn columns(&self) -> Columns;
    fn external_id(&self) -> Option<&str>;

    /// Before a re-sent document (one whose `external_id` is stored) is validated:
    /// copies into `sent` what the server filled in when `stored` was saved and the
    /// sender left out, as long as it still holds, so that re-sending an unchanged
    /// record is recognised as unchanged. Nothing by default.
    fn keep_server_filled_fields(_sent: &mut Map<String, Value>, _stored: &Value) {}
}

impl ResourceKind for EmployerInput {
    const ENTITY: Entity = Entity::Employer;
    const NAME: &'static str = "employer";

    fn columns(&self) -> Columns {
        Columns {
            employer_id: None,
            sector: Some(self.sector.code().to_string()),
            province_code: Some(self.province_code.clone()),
            status: None,
        }
    }

    fn external_id(&self) -> Option<&str> {
        self.external_id.as_deref()
    }
}

impl ResourceKind for VacancyInput {
    const ENTITY: Entity = Entity::Vacancy;
    const NAME: &'static str = "vacancy";

    fn columns(&self) -> Columns {
        Columns {
            employer_id: Some(self.employer_id.clone()),
            sector: Some(self.sector.code().to_string()),
            province_code: Some(self.province_code.clone()),
            status: Some(self.status.code().to_string()),
        }
    }

    fn external_id(&self) -> Option<&str> {
        self.external_id.as_deref()
    }
}

impl ResourceKind for WorkerInput {
    const ENTITY: Entity = Entity::Worker;
    const NAME: &'static str = "worker";

    fn columns(&self) -> Columns {
        Columns {
            employer_id: None,
            sector: None,
            province_code: Some(self.province_code.clone()),
            status: Some(self.status.code().to_string()),
        }
    }

    fn external_id(&self) -> Option<&str> {
        self.external_id.as_deref()
    }

    /// A re-sent profile without a consent time keeps the stored one while the
    /// decision (`share_with_employers`) is the same: consent was not given again.
    fn keep_server_filled_fields(sent: &mut Map<String, Value>, stored: &Value) {
        let Some(Value::Object(consent)) = sent.get_mut("consent") else {
            return;
        };
        let stored_consent = &stored["consent"];
        let time_sent = consent
            .get("recorded_at")
            .is_some_and(|time| !time.is_null());
        if !time_sent
            && consent.get("share_with_employers") == stored_consent.get("share_with_employers")
            && let Some(time) = stored_consent.get("recorded_at").filter(|t| !t.is_null())
        {
            consent.insert("recorded_at".to_string(), time.clone());
        }
    }
}

/// A new record's id: a UUID v7. Its leading millisecond timestamp makes records
/// created one after the other sort together, so inserts, a bulk load above all,
/// append to the id indexes instead of rewriting pages all over them; the rest is
/// random, so ids stay unguessable.
pub fn new_id() -> String {
    let millis = chrono::Utc::now().timestamp_millis().max(0) as u64;
    let mut random = [0u8; 10];
    rand::fill(&mut random);
    uuid::Builder::from_unix_timestamp_millis(millis, &random)
        .into_uuid()
        .to_string()
}
