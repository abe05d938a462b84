-- Privacy: the audit log of who saw or released whose personal data, the
-- anonymised count of erased profiles, and the employers a partner key is
-- linked to.

-- Append-only: the trigger below refuses any UPDATE or DELETE (TRUNCATE too),
-- so not even a bug in the server can rewrite history. `worker_id` is the
-- profile's random id; after erasure it links to nothing personal.
CREATE TABLE audit_log (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         TEXT NOT NULL,
    key_id     TEXT NOT NULL,
    role       TEXT NOT NULL,
    action     TEXT NOT NULL,
    worker_id  TEXT COLLATE "C" NULL,
    vacancy_id TEXT COLLATE "C" NULL,
    request_id TEXT NULL
);
CREATE INDEX audit_log_worker_idx ON audit_log (worker_id, seq);
CREATE INDEX audit_log_vacancy_idx ON audit_log (vacancy_id, action);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- What remains of erased profiles: a count per home province and month of
-- erasure, nothing that identifies anyone.
CREATE TABLE erased_workers (
    province_code TEXT   NOT NULL,
    month         TEXT   NOT NULL,
    erased        BIGINT NOT NULL CHECK (erased >= 1),
    PRIMARY KEY (province_code, month)
);

-- Employers whose vacancies a partner key may read, beside those it created.
CREATE TABLE partner_links (
    key_id      TEXT COLLATE "C" NOT NULL REFERENCES api_keys (id),
    employer_id TEXT COLLATE "C" NOT NULL REFERENCES employers (id) ON DELETE CASCADE,
    PRIMARY KEY (key_id, employer_id)
);

-- Secrets the server generates once per deployment, e.g. the key of the
-- per-employer pseudonyms of candidates. Shared by every replica.
CREATE TABLE server_secrets (
    name  TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
);

-- Responses to writes sent with an `Idempotency-Key` header, per API key, so
-- that a partner re-sending a request after a lost answer gets the first
-- answer instead of a second write. `request_hash` tells a genuine retry
-- from a different request that reuses the key.
CREATE TABLE idempotency_keys (
    key_id          TEXT COLLATE "C" NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_hash    TEXT NOT NULL,
    status          INTEGER NOT NULL,
    response        TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (key_id, idempotency_key)
);
