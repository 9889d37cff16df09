-- Which departments have delivered which content: a department sees a blob only if it has
-- delivered those bytes itself (docs/design.md, *Deduplication and integrity*).
CREATE TABLE blob_holders (
    department  TEXT NOT NULL,
    sha256      TEXT NOT NULL REFERENCES blobs(sha256),
    since       INTEGER NOT NULL,
    PRIMARY KEY (department, sha256)
) WITHOUT ROWID;
-- Before this table, a department held what it had filed and what it had uploaded.
INSERT OR IGNORE INTO blob_holders (department, sha256, since)
    SELECT department, sha256, MIN(received) FROM evidence GROUP BY department, sha256;
INSERT OR IGNORE INTO blob_holders (department, sha256, since)
    SELECT a.department, b.sha256, a.at FROM audit a JOIN blobs b ON b.sha256 = substr(a.detail, 8, 64)
    WHERE a.action = 'upload' AND a.department IS NOT NULL;

-- Dashboard sessions: the cookie carries a random id, stored here only as its SHA-256.
CREATE TABLE sessions (
    hash        TEXT PRIMARY KEY,
    token_id    INTEGER NOT NULL REFERENCES tokens(id),
    created     INTEGER NOT NULL,
    expires     INTEGER NOT NULL
);
CREATE INDEX sessions_token ON sessions(token_id);
