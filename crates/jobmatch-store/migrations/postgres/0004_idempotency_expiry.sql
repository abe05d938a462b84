-- Kept answers to `Idempotency-Key` requests expire by time: a periodic task
-- deletes those older than the retention period, and finds them through this
-- index instead of scanning the table under the write lock of every claim.
CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);

-- The returnee whose profile a kept answer carries, if any: its replay is
-- audited as a read of that profile, and an answer is not kept if the profile
-- was erased while it was being produced.
ALTER TABLE idempotency_keys ADD COLUMN worker_id TEXT COLLATE "C" NULL;
