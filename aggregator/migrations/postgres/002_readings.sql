-- What the worker read in each stored content; see migrations/008_readings.sql.
CREATE TABLE readings (
    sha256          TEXT PRIMARY KEY REFERENCES blobs(sha256),
    version         BIGINT NOT NULL,
    state           TEXT NOT NULL,
    text_source     TEXT NOT NULL,
    pages           BIGINT,
    doc_number      TEXT,
    issuer          TEXT,
    doc_date        TEXT,
    title           TEXT,
    classification  TEXT,
    quality         TEXT NOT NULL DEFAULT '[]',
    signature       TEXT NOT NULL DEFAULT '',
    failure         TEXT,
    read_at         BIGINT NOT NULL
);
CREATE TABLE reading_text (
    sha256  TEXT PRIMARY KEY REFERENCES blobs(sha256),
    body    TEXT NOT NULL
);
-- Chinese substrings through a trigram index where pg_trgm can be had (a trusted extension
-- since PostgreSQL 13); without it the search still answers, by scanning.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE INDEX reading_text_trgm ON reading_text USING gin (body gin_trgm_ops);
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm is not available: search scans the text';
END
$$;
CREATE TABLE corrections (
    department  TEXT NOT NULL,
    path        TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    field       TEXT NOT NULL,
    value       TEXT NOT NULL,
    at          BIGINT NOT NULL,
    PRIMARY KEY (department, path, field)
);
CREATE TABLE hold_releases (
    department  TEXT NOT NULL,
    path        TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    at          BIGINT NOT NULL,
    PRIMARY KEY (department, path)
);
