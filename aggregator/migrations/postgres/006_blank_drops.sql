-- Blank pages left out of the printout; see migrations/012_blank_drops.sql.
CREATE TABLE blank_drops (
    department  TEXT NOT NULL,
    path        TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    at          BIGINT NOT NULL,
    PRIMARY KEY (department, path)
);
