//! Who may do what: the one place where access is decided.
//!
//! Every handler names its [`Operation`] and, for an operation on one record,
//! what the record belongs to ([`Owner`]); [`authorize`] answers from the
//! table below. `SECURITY.md` prints the same table for people, and the API
//! tests check it cell by cell.
//!
//! Two rules refine the role table:
//! * an employer key acts only for its own employer: its employer record, that
//!   employer's vacancies, and candidates for those vacancies;
//! * a partner key reads the employers and vacancies of the employers linked
//!   to it (those it registered and those an admin linked with
//!   `jobmatch keys link`), and changes only the records it sent itself.

use jobmatch_store::Store;

use crate::auth::{KeyCache, Principal, Role};
use crate::error::ApiError;

/// Everything a key can ask of the API (reference data and operations
/// endpoints aside: those need any valid key, or none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    CreateEmployer,
    ReadEmployer,
    ListEmployers,
    UpdateEmployer,
    CreateVacancy,
    ReadVacancy,
    SearchVacancies,
    UpdateVacancy,
    CloseVacancy,
    CreateWorker,
    CreateWorkerBatch,
    ReadWorker,
    ListWorkers,
    UpdateWorker,
    EraseWorker,
    ListCandidates,
    ListWorkerVacancies,
    PreviewMatches,
    ReleaseContact,
    ReadStatistics,
    ReadAuditLog,
}

/// How far a role's permission reaches for one operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Not at all.
    None,
    /// Any record.
    All,
    /// Records of the key's own employer (employer keys).
    OwnEmployer,
    /// Records of employers linked to the key (partner keys).
    LinkedEmployers,
    /// Records the key itself sent (partner keys).
    SentByKey,
}

/// The reach of admin, staff, employer and partner keys for `operation`.
pub const fn reach(operation: Operation) -> [Reach; 4] {
    use Reach::{All, LinkedEmployers, None, OwnEmployer, SentByKey};
    //                                      admin  staff  employer      partner
    match operation {
        Operation::CreateEmployer => [All, All, None, All],
        Operation::ReadEmployer => [All, All, OwnEmployer, LinkedEmployers],
        Operation::ListEmployers => [All, All, OwnEmployer, LinkedEmployers],
        Operation::UpdateEmployer => [All, All, OwnEmployer, SentByKey],
        Operation::CreateVacancy => [All, All, OwnEmployer, LinkedEmployers],
        Operation::ReadVacancy => [All, All, OwnEmployer, LinkedEmployers],
        Operation::SearchVacancies => [All, All, OwnEmployer, LinkedEmployers],
        Operation::UpdateVacancy => [All, All, OwnEmployer, SentByKey],
        Operation::CloseVacancy => [All, All, OwnEmployer, SentByKey],
        // Registration forms (KoboToolbox) send profiles in batches; no partner
        // ever reads one back.
        Operation::CreateWorker => [All, All, None, None],
        Operation::CreateWorkerBatch => [All, All, None, All],
        Operation::ReadWorker => [All, All, None, None],
        Operation::ListWorkers => [All, All, None, None],
        Operation::UpdateWorker => [All, All, None, None],
        Operation::EraseWorker => [All, All, None, None],
        // Employers see their candidates pseudonymised (see `privacy`).
        Operation::ListCandidates => [All, All, OwnEmployer, None],
        Operation::ListWorkerVacancies => [All, All, None, None],
        Operation::PreviewMatches => [All, All, None, None],
        Operation::ReleaseContact => [All, All, None, None],
        Operation::ReadStatistics => [All, All, None, All],
        Operation::ReadAuditLog => [All, None, None, None],
    }
}

/// What a record belongs to, for the ownership rules.
#[derive(Debug, Clone, Copy, Default)]
pub struct Owner<'a> {
    /// The employer the record is (an employer) or belongs to (a vacancy).
    pub employer_id: Option<&'a str>,
    /// The key that sent the record, if it came through the API.
    pub source: Option<&'a str>,
}

/// Which records of a list or search a key may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visibility {
    All,
    /// Only records of these employers (possibly none).
    Employers(Vec<String>),
}

pub(crate) fn reach_of(principal: &Principal, operation: Operation) -> Reach {
    let [admin, staff, employer, partner] = reach(operation);
    match principal.role {
        Role::Admin => admin,
        Role::Staff => staff,
        Role::Employer => employer,
        Role::Partner => partner,
    }
}

fn refused(principal: &Principal) -> ApiError {
    ApiError::Forbidden(format!(
        "a key with role {} may not do this",
        principal.role.code()
    ))
}

/// Refuses the operation unless the key's role may do it at all. For an
/// operation on one record, follow with [`authorize_record`].
pub fn authorize(principal: &Principal, operation: Operation) -> Result<(), ApiError> {
    match reach_of(principal, operation) {
        Reach::None => Err(refused(principal)),
        _ => Ok(()),
    }
}

/// Refuses the operation on a record owned by `owner` unless the key may do it
/// on that record.
pub fn authorize_record(
    principal: &Principal,
    operation: Operation,
    owner: Owner<'_>,
) -> Result<(), ApiError> {
    let allowed = match reach_of(principal, operation) {
        Reach::None => false,
        Reach::All => true,
        Reach::OwnEmployer => {
            owner.employer_id.is_some() && owner.employer_id == principal.employer_id.as_deref()
        }
        Reach::LinkedEmployers => owner.employer_id.is_some_and(|employer| {
            principal
                .linked_employers
                .iter()
                .any(|linked| linked == employer)
        }),
        Reach::SentByKey => owner.source == Some(principal.source()),
    };
    if allowed {
        Ok(())
    } else if matches!(reach_of(principal, operation), Reach::None) {
        Err(refused(principal))
    } else {
        Err(ApiError::Forbidden(format!(
            "a key with role {} may do this only on {}",
            principal.role.code(),
            match reach_of(principal, operation) {
                Reach::OwnEmployer => "its own employer's records",
                Reach::LinkedEmployers => "records of the employers linked to it",
                _ => "records it sent itself",
            }
        )))
    }
}

/// Which records a list or search shows to the key (after [`authorize`]).
pub fn visibility(principal: &Principal, operation: Operation) -> Visibility {
    match reach_of(principal, operation) {
        Reach::All => Visibility::All,
        Reach::OwnEmployer => {
            Visibility::Employers(principal.employer_id.iter().cloned().collect())
        }
        Reach::LinkedEmployers | Reach::SentByKey => {
            Visibility::Employers(principal.linked_employers.clone())
        }
        Reach::None => Visibility::Employers(Vec::new()),
    }
}

/// Like [`authorize_record`], but a partner refused a record of an
/// employer missing from the links remembered with its key has them read
/// again first: an employer that a partner registered through another
/// replica (or that an admin just linked) is reachable at once, not a second
/// later. Only refusals cost the extra read.
pub async fn authorize_with_current_links(
    store: &Store,
    key_cache: &KeyCache,
    principal: &Principal,
    operation: Operation,
    owner: Owner<'_>,
) -> Result<(), ApiError> {
    let refusal = match authorize_record(principal, operation, owner) {
        Ok(()) => return Ok(()),
        Err(refusal) => refusal,
    };
    if reach_of(principal, operation) != Reach::LinkedEmployers {
        return Err(refusal);
    }
    let linked_employers = store.partner_employer_ids(principal.source()).await?;
    key_cache.replace_links(principal.source(), &linked_employers);
    let current = Principal {
        linked_employers,
        ..principal.clone()
    };
    authorize_record(&current, operation, owner).map_err(|_| refusal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(role: Role, employer: Option<&str>, linked: &[&str]) -> Principal {
        Principal {
            key_id: "key-1".to_string(),
            role,
            employer_id: employer.map(str::to_string),
            source: "key-1".to_string(),
            linked_employers: linked.iter().map(|id| id.to_string()).collect(),
        }
    }

    #[test]
    fn an_employer_key_reaches_only_its_own_employer() {
        let employer = principal(Role::Employer, Some("e-1"), &[]);
        let own = Owner {
            employer_id: Some("e-1"),
            source: None,
        };
        let other = Owner {
            employer_id: Some("e-2"),
            source: None,
        };
        assert!(authorize_record(&employer, Operation::UpdateVacancy, own).is_ok());
        assert!(authorize_record(&employer, Operation::UpdateVacancy, other).is_err());
        assert!(authorize_record(&employer, Operation::ListCandidates, other).is_err());
        assert!(authorize(&employer, Operation::ReadWorker).is_err());
        assert_eq!(
            visibility(&employer, Operation::SearchVacancies),
            Visibility::Employers(vec!["e-1".to_string()])
        );
    }

    #[test]
    fn a_partner_reads_linked_employers_and_changes_only_what_it_sent() {
        let partner = principal(Role::Partner, None, &["e-1"]);
        let linked_not_sent = Owner {
            employer_id: Some("e-1"),
            source: Some("someone-else"),
        };
        let sent = Owner {
            employer_id: Some("e-1"),
            source: Some("key-1"),
        };
        assert!(authorize_record(&partner, Operation::ReadVacancy, linked_not_sent).is_ok());
        assert!(authorize_record(&partner, Operation::UpdateVacancy, linked_not_sent).is_err());
        assert!(authorize_record(&partner, Operation::UpdateVacancy, sent).is_ok());
        assert!(
            authorize_record(
                &partner,
                Operation::ReadVacancy,
                Owner {
                    employer_id: Some("e-9"),
                    source: None
                }
            )
            .is_err()
        );
        for never in [
            Operation::ReadWorker,
            Operation::ListWorkers,
            Operation::ListCandidates,
            Operation::ReadAuditLog,
        ] {
            assert!(authorize(&partner, never).is_err(), "{never:?}");
        }
    }

    #[test]
    fn only_admins_read_the_audit_log() {
        for role in [Role::Staff, Role::Employer, Role::Partner] {
            assert!(
                authorize(&principal(role, Some("e-1"), &[]), Operation::ReadAuditLog).is_err()
            );
        }
        assert!(authorize(&principal(Role::Admin, None, &[]), Operation::ReadAuditLog).is_ok());
    }
}
