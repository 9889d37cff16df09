-- The office's 类别 for a file; see migrations/010_kind_overrides.sql.
CREATE TABLE kind_overrides (
    department  TEXT NOT NULL,
    path        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    at          BIGINT NOT NULL,
    PRIMARY KEY (department, path)
);
