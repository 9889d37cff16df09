-- The office's verdicts on filed files, by (department, path): a review is of the version
-- (sha256) that was on file then, so a new version or a withdrawal answers a return.
CREATE TABLE reviews (
    department  TEXT NOT NULL,
    path        TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    -- The record's placement and item when it was reviewed: a withdrawn file keeps its item.
    placement   TEXT NOT NULL,
    item        TEXT,
    verdict     TEXT NOT NULL,
    reason      TEXT,
    at          INTEGER NOT NULL,
    PRIMARY KEY (department, path)
) WITHOUT ROWID;

-- The office's notes to a department on one of its items.
CREATE TABLE notes (
    department  TEXT NOT NULL,
    item        TEXT NOT NULL,
    text        TEXT NOT NULL,
    at          INTEGER NOT NULL,
    PRIMARY KEY (department, item)
) WITHOUT ROWID;

-- Reviews look records up by department and path, whatever the agent.
CREATE INDEX evidence_path ON evidence(department, path);
