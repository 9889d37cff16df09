-- The office's choice for a questioned file; see migrations/011_hand_in.sql.
CREATE TABLE send_choices (
    department  TEXT NOT NULL,
    path        TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    choice      TEXT NOT NULL,
    at          BIGINT NOT NULL,
    PRIMARY KEY (department, path)
);

-- The paper of record; see migrations/011_hand_in.sql.
CREATE TABLE print_record (
    id          BIGINT PRIMARY KEY CHECK (id = 1),
    fingerprint TEXT NOT NULL,
    at          BIGINT NOT NULL
);
