//! The age of the last good backup, which `serve --backup-dir` records and
//! `/readyz` and `/metrics` show.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Utc};

/// When the last good backup was taken; shared between the task that takes
/// backups and the operations endpoints.
#[derive(Debug)]
pub struct BackupStatus {
    /// Microseconds since the Unix epoch; `i64::MIN` while there is none.
    last_success_micros: AtomicI64,
}

impl BackupStatus {
    pub fn new() -> BackupStatus {
        BackupStatus {
            last_success_micros: AtomicI64::new(i64::MIN),
        }
    }

    /// Records a good backup taken at `at` (never moves back in time).
    pub fn record_success(&self, at: DateTime<Utc>) {
        self.last_success_micros
            .fetch_max(at.timestamp_micros(), Ordering::Relaxed);
    }

    /// When the last good backup was taken, if any.
    pub fn last_success(&self) -> Option<DateTime<Utc>> {
        match self.last_success_micros.load(Ordering::Relaxed) {
            i64::MIN => None,
            micros => DateTime::from_timestamp_micros(micros),
        }
    }

    /// Whole seconds since the last good backup, if any.
    pub fn age_seconds(&self, now: DateTime<Utc>) -> Option<i64> {
        self.last_success()
            .map(|at| (now - at).num_seconds().max(0))
    }
}

impl Default for BackupStatus {
    fn default() -> BackupStatus {
        BackupStatus::new()
    }
}
