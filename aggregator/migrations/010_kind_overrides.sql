-- The office's 类别 for a department's file whose folder says another (or none): kept by path,
-- so that the agent's next sending of the file keeps it. The records' own `kind` follows it
-- (and with it the status counts).
CREATE TABLE kind_overrides (
    department  TEXT NOT NULL,
    path        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    at          INTEGER NOT NULL,
    PRIMARY KEY (department, path)
);
