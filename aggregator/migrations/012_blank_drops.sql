-- Files whose blank pages (the scan checks' `blank_page` findings) the office leaves out of the
-- printout, for the version it saw; the electronic file keeps every page.
CREATE TABLE blank_drops (
    department  TEXT NOT NULL,
    path        TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    at          INTEGER NOT NULL,
    PRIMARY KEY (department, path)
);
