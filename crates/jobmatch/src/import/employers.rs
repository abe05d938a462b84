//! A vacancy row may name its employer by `employer_external_id`; this resolves it
//! to the id the employer was stored under.

use std::collections::HashMap;

use jobmatch_domain::FieldError;
use jobmatch_service::batch::BatchItem;
use jobmatch_store::{Entity, Store};
use serde_json::Value;

/// Resolves `employer_external_id`, the one field an import row may carry beyond
/// a create body: a vacancy names its employer by the external id the employer
/// was imported with from the same source, since the file cannot know the id the
/// server gave it.
#[derive(Default)]
pub(super) struct EmployerIds {
    known: HashMap<String, String>,
}

impl EmployerIds {
    pub(super) async fn resolve(
        &mut self,
        store: &Store,
        source: &str,
        objects: &mut [BatchItem],
    ) -> anyhow::Result<()> {
        let wanted: Vec<String> = objects
            .iter()
            .filter_map(|object| object.as_ref().ok())
            .filter_map(|object| object.get("employer_external_id"))
            .filter_map(Value::as_str)
            .map(|key| key.trim().to_string())
            .filter(|key| !self.known.contains_key(key))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        if !wanted.is_empty() {
            let keys: Vec<&str> = wanted.iter().map(String::as_str).collect();
            for (key, record) in store
                .get_many_by_external_id(Entity::Employer, source, &keys)
                .await?
            {
                self.known.insert(key, record.id);
            }
        }
        for slot in objects.iter_mut() {
            let Ok(object) = slot else { continue };
            let Some(named) = object.remove("employer_external_id") else {
                continue;
            };
            let problem = match (
                named.as_str().map(str::trim),
                object.contains_key("employer_id"),
            ) {
                (_, true) => Some("give employer_id or employer_external_id, not both".to_string()),
                (Some(key), false) => match self.known.get(key) {
                    Some(id) => {
                        object.insert("employer_id".into(), Value::String(id.clone()));
                        None
                    }
                    None => Some(format!(
                        "no employer was imported from source {source:?} with this external_id"
                    )),
                },
                (None, false) => Some("must be text".to_string()),
            };
            if let Some(message) = problem {
                *slot = Err(vec![FieldError::new("employer_external_id", message)]);
            }
        }
        Ok(())
    }
}
