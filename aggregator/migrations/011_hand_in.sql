-- The office's choice, before the hand-in, for a file with a question over it (returned and not
-- answered, a picture without a caption, a 密级 mark): `send` or `leave_out`. It is for the
-- version it was made on: another version at the path is a new question.
CREATE TABLE send_choices (
    department  TEXT NOT NULL,
    path        TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    choice      TEXT NOT NULL,
    at          INTEGER NOT NULL,
    PRIMARY KEY (department, path)
);

-- The paper of record: the state (its fingerprint) the office's last print into the printouts
-- folder was made of. The bundle's 目录 gives the 起止页 (`blobs.printed_pages`) only for that
-- state; a print elsewhere changes neither.
CREATE TABLE print_record (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    fingerprint TEXT NOT NULL,
    at          INTEGER NOT NULL
);
