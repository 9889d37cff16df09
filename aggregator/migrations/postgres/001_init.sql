-- The PostgreSQL schema: the SQLite one (migrations/001–007) as it stands, in one step.
-- Times are Unix milliseconds (UTC). Tokens: the hash of the secret, never the secret.
CREATE TABLE tokens (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    hash        TEXT NOT NULL UNIQUE,
    department  TEXT,
    agent       TEXT NOT NULL,
    created     BIGINT NOT NULL,
    revoked     BIGINT
);

-- One row per stored blob; `refs` counts the records pointing at it (kept by a trigger).
CREATE TABLE blobs (
    sha256         TEXT PRIMARY KEY,
    size           BIGINT NOT NULL,
    magic          TEXT,
    stored         BIGINT NOT NULL,
    refs           BIGINT NOT NULL DEFAULT 0,
    pages          BIGINT,
    doc_date       TEXT,
    examined       BIGINT NOT NULL DEFAULT 0,
    printed_pages  BIGINT
);
CREATE INDEX blobs_shared ON blobs(sha256) WHERE refs > 1;

CREATE TABLE evidence (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    department  TEXT NOT NULL,
    agent       TEXT NOT NULL,
    path        TEXT NOT NULL,
    sha256      TEXT NOT NULL REFERENCES blobs(sha256),
    size        BIGINT NOT NULL,
    modified    BIGINT NOT NULL,
    caption     TEXT,
    placement   TEXT NOT NULL,
    item        TEXT,
    kind        TEXT,
    problem     TEXT,
    received    BIGINT NOT NULL,
    UNIQUE (department, agent, path)
);
CREATE INDEX evidence_sha256 ON evidence(sha256);
CREATE INDEX evidence_item ON evidence(department, item);
CREATE INDEX evidence_groups ON evidence(department, placement, item, kind, received);
CREATE INDEX evidence_problems ON evidence(department, path) WHERE problem IS NOT NULL;
CREATE INDEX evidence_cases ON evidence(department, path) WHERE placement = 'case';
CREATE INDEX evidence_path ON evidence(department, path);

CREATE FUNCTION evidence_refs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE blobs SET refs = refs - 1 WHERE sha256 = OLD.sha256;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE blobs SET refs = refs + 1 WHERE sha256 = NEW.sha256;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER evidence_refs AFTER INSERT OR DELETE OR UPDATE OF sha256 ON evidence
    FOR EACH ROW EXECUTE FUNCTION evidence_refs();

-- Append-only: never updated, never pruned.
CREATE TABLE audit (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          BIGINT NOT NULL,
    department  TEXT,
    agent       TEXT,
    host        TEXT,
    action      TEXT NOT NULL,
    detail      TEXT NOT NULL
);
CREATE INDEX audit_action ON audit(action, id);

CREATE TABLE heartbeats (
    department  TEXT NOT NULL,
    agent       TEXT NOT NULL,
    at          BIGINT NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (department, agent)
);

CREATE TABLE contacts (
    department  TEXT PRIMARY KEY,
    body        TEXT NOT NULL,
    updated     BIGINT NOT NULL
);

CREATE TABLE blob_holders (
    department  TEXT NOT NULL,
    sha256      TEXT NOT NULL REFERENCES blobs(sha256),
    since       BIGINT NOT NULL,
    PRIMARY KEY (department, sha256)
);

CREATE TABLE sessions (
    hash        TEXT PRIMARY KEY,
    token_id    BIGINT NOT NULL REFERENCES tokens(id),
    created     BIGINT NOT NULL,
    expires     BIGINT NOT NULL
);
CREATE INDEX sessions_token ON sessions(token_id);

CREATE TABLE reviews (
    department  TEXT NOT NULL,
    path        TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    placement   TEXT NOT NULL,
    item        TEXT,
    verdict     TEXT NOT NULL,
    reason      TEXT,
    at          BIGINT NOT NULL,
    PRIMARY KEY (department, path)
);

CREATE TABLE notes (
    department  TEXT NOT NULL,
    item        TEXT NOT NULL,
    text        TEXT NOT NULL,
    at          BIGINT NOT NULL,
    PRIMARY KEY (department, item)
);
