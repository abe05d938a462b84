-- Issue 11, item 5: a partner's re-send must not undo an erasure or a
-- consent decision staff made.

-- One row per erased profile that was sent with an external id: the hex
-- HMAC-SHA-256, keyed by the deployment secret `erasure_tombstone_key`, of
-- the source and the external id. Nothing else: no worker id, no date finer
-- than the day, nothing a guess can be checked against without the key. A
-- batch item or imported row with that source and external id is refused
-- until an admin lifts it (`jobmatch erasures lift`).
CREATE TABLE erasure_tombstones (
    key_hash  TEXT NOT NULL PRIMARY KEY,
    erased_on TEXT NOT NULL
);

-- Who last decided a profile's `consent.share_with_employers` through
-- `PATCH /v1/workers/{id}` (staff or admin), and when. A batch item or
-- imported row never changes that decision. Goes with the profile.
CREATE TABLE consent_decisions (
    worker_id  TEXT NOT NULL PRIMARY KEY REFERENCES workers (id) ON DELETE CASCADE,
    key_id     TEXT NOT NULL,
    role       TEXT NOT NULL,
    decided_at TEXT NOT NULL
);
