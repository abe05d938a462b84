-- jobmatch store schema, SQLite flavour.
--
-- Every document table has the same shape: the JSON document in `body`, a few
-- copies of fields that are filtered on, an optimistic-concurrency `version`,
-- and timestamps as fixed-width RFC 3339 UTC text (`2024-05-01T08:30:00.123456Z`),
-- so that text order equals time order.

CREATE TABLE employers (
    id            TEXT    NOT NULL PRIMARY KEY,
    version       INTEGER NOT NULL CHECK (version >= 1),
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL,
    source        TEXT    NULL,
    external_id   TEXT    NULL,
    employer_id   TEXT    NULL,
    sector        TEXT    NULL,
    province_code TEXT    NULL,
    status        TEXT    NULL,
    body          TEXT    NOT NULL,
    UNIQUE (source, external_id)
);
CREATE INDEX employers_employer_id_idx   ON employers (employer_id, id);
CREATE INDEX employers_sector_idx        ON employers (sector, id);
CREATE INDEX employers_province_code_idx ON employers (province_code, id);
CREATE INDEX employers_status_idx        ON employers (status, id);

CREATE TABLE vacancies (
    id            TEXT    NOT NULL PRIMARY KEY,
    version       INTEGER NOT NULL CHECK (version >= 1),
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL,
    source        TEXT    NULL,
    external_id   TEXT    NULL,
    -- A vacancy can only point at an employer that exists; an employer that
    -- still has vacancies cannot be deleted. (Default NO ACTION rather than
    -- RESTRICT: on SQLite, RESTRICT fails with SQLITE_CONSTRAINT_TRIGGER,
    -- which drivers do not report as a foreign key violation.)
    employer_id   TEXT    NULL REFERENCES employers (id),
    sector        TEXT    NULL,
    province_code TEXT    NULL,
    status        TEXT    NULL,
    body          TEXT    NOT NULL,
    UNIQUE (source, external_id)
);
CREATE INDEX vacancies_employer_id_idx   ON vacancies (employer_id, id);
CREATE INDEX vacancies_sector_idx        ON vacancies (sector, id);
CREATE INDEX vacancies_province_code_idx ON vacancies (province_code, id);
CREATE INDEX vacancies_status_idx        ON vacancies (status, id);

CREATE TABLE workers (
    id            TEXT    NOT NULL PRIMARY KEY,
    version       INTEGER NOT NULL CHECK (version >= 1),
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL,
    source        TEXT    NULL,
    external_id   TEXT    NULL,
    employer_id   TEXT    NULL,
    sector        TEXT    NULL,
    province_code TEXT    NULL,
    status        TEXT    NULL,
    body          TEXT    NOT NULL,
    UNIQUE (source, external_id)
);
CREATE INDEX workers_employer_id_idx   ON workers (employer_id, id);
CREATE INDEX workers_sector_idx        ON workers (sector, id);
CREATE INDEX workers_province_code_idx ON workers (province_code, id);
CREATE INDEX workers_status_idx        ON workers (status, id);

-- One row per write of employers, vacancies and workers, appended in the same
-- transaction as the write. SQLite serialises writers, so `seq` order is
-- commit order. AUTOINCREMENT keeps `seq` from ever being reused, even if the
-- newest rows are pruned.
CREATE TABLE change_feed (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    entity    TEXT NOT NULL CHECK (entity IN ('employer', 'vacancy', 'worker')),
    entity_id TEXT NOT NULL,
    op        TEXT NOT NULL CHECK (op IN ('create', 'update', 'delete')),
    at        TEXT NOT NULL
);

-- API keys. Secrets are never stored, only the SHA-256 hex hash of the key.
CREATE TABLE api_keys (
    id          TEXT NOT NULL PRIMARY KEY,
    name        TEXT NOT NULL,
    role        TEXT NOT NULL,
    employer_id TEXT NULL,
    hash        TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NULL,
    revoked_at  TEXT NULL
);
