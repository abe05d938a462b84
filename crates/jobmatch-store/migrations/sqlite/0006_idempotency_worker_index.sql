-- Erasing a returnee redacts the kept `Idempotency-Key` answers that carry
-- its profile, found through this index on the `worker_id` kept with each
-- such answer, instead of scanning the table under the write lock. Answers
-- that carry no profile (NULL) are left out of it.
CREATE INDEX idempotency_keys_worker_id_idx ON idempotency_keys (worker_id)
    WHERE worker_id IS NOT NULL;
