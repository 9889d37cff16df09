-- What the worker read in each stored content (reading/): the archival fields, scan findings, a
-- near-duplicate signature. One row per blob; `version` is the reader's, so a better reader
-- reads everything again. The text itself is in `reading_text`, indexed by character trigrams
-- so that any Chinese substring of three characters or more is found through the index.
CREATE TABLE readings (
    sha256          TEXT PRIMARY KEY REFERENCES blobs(sha256),
    version         INTEGER NOT NULL,
    state           TEXT NOT NULL,
    text_source     TEXT NOT NULL,
    pages           INTEGER,
    doc_number      TEXT,
    issuer          TEXT,
    doc_date        TEXT,
    title           TEXT,
    classification  TEXT,
    quality         TEXT NOT NULL DEFAULT '[]',
    signature       TEXT NOT NULL DEFAULT '',
    failure         TEXT,
    read_at         INTEGER NOT NULL
);
CREATE VIRTUAL TABLE reading_text USING fts5(sha256 UNINDEXED, body, tokenize = 'trigram');
-- The office's corrections of a file's fields, for the version (sha256) it corrected.
CREATE TABLE corrections (
    department  TEXT NOT NULL,
    path        TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    field       TEXT NOT NULL,
    value       TEXT NOT NULL,
    at          INTEGER NOT NULL,
    PRIMARY KEY (department, path, field)
);
-- Files with a 密级 mark that the office released for the hand-in, for the version it saw.
CREATE TABLE hold_releases (
    department  TEXT NOT NULL,
    path        TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    at          INTEGER NOT NULL,
    PRIMARY KEY (department, path)
);
