-- Times are Unix milliseconds (UTC).
-- Tokens: the hash of the secret, never the secret. department NULL = the office.
CREATE TABLE tokens (
    id          INTEGER PRIMARY KEY,
    hash        TEXT NOT NULL UNIQUE,
    department  TEXT,
    agent       TEXT NOT NULL,
    created     INTEGER NOT NULL,
    revoked     INTEGER
);

-- One row per stored blob; the bytes live in blobs/ab/cd/<sha256>.
CREATE TABLE blobs (
    sha256  TEXT PRIMARY KEY,
    size    INTEGER NOT NULL,
    magic   TEXT,
    stored  INTEGER NOT NULL
);

-- The current evidence of each department, keyed by (department, agent, path).
CREATE TABLE evidence (
    id          INTEGER PRIMARY KEY,
    department  TEXT NOT NULL,
    agent       TEXT NOT NULL,
    path        TEXT NOT NULL,
    sha256      TEXT NOT NULL REFERENCES blobs(sha256),
    size        INTEGER NOT NULL,
    modified    INTEGER NOT NULL,
    caption     TEXT,
    placement   TEXT NOT NULL,
    item        TEXT,
    kind        TEXT,
    problem     TEXT,
    received    INTEGER NOT NULL,
    UNIQUE (department, agent, path)
);
CREATE INDEX evidence_sha256 ON evidence(sha256);
CREATE INDEX evidence_item ON evidence(department, item);

-- Append-only: never updated, never pruned.
CREATE TABLE audit (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    department  TEXT,
    agent       TEXT,
    host        TEXT,
    action      TEXT NOT NULL,
    detail      TEXT NOT NULL
);

CREATE TABLE heartbeats (
    department  TEXT NOT NULL,
    agent       TEXT NOT NULL,
    at          INTEGER NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (department, agent)
);

CREATE TABLE contacts (
    department  TEXT PRIMARY KEY,
    body        TEXT NOT NULL,
    updated     INTEGER NOT NULL
);
