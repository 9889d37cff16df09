-- The status document's counts, kept by triggers in the transaction of each change: the status
-- is assembled from a row per department × item × kind and four reading classes instead of
-- from every record (docs/performance.md). `count_basis` is what they were counted against:
-- the evidence deadline (`late`) and the reader's version (what is still to read). The server
-- sets both before it first reads the counts and counts everything again when either changed
-- (`count_against`); the sentinel below makes the first server count what is already here.
-- `scrub` counts again from the records and names any difference.
CREATE TABLE count_basis (
    deadline        INTEGER NOT NULL,
    reader_version  INTEGER NOT NULL
);
INSERT INTO count_basis VALUES (-1, -1);

-- `item` and `kind` are '' where the record has none: a key column cannot hold NULL here.
CREATE TABLE evidence_counts (
    department     TEXT NOT NULL,
    placement      TEXT NOT NULL,
    item           TEXT NOT NULL,
    kind           TEXT NOT NULL,
    files          INTEGER NOT NULL,
    late           INTEGER NOT NULL,
    last_received  INTEGER NOT NULL,
    PRIMARY KEY (department, placement, item, kind)
) WITHOUT ROWID;

-- Blobs some record points at, by what the current reader has made of them: queued (not read,
-- or by an older reader), done, failed, other (being read).
CREATE TABLE reading_counts (
    class  TEXT PRIMARY KEY,
    blobs  INTEGER NOT NULL
) WITHOUT ROWID;

-- The files held for a 密级 mark are found through this index, not by reading every record.
CREATE INDEX readings_marked ON readings(sha256) WHERE classification IS NOT NULL;

CREATE TRIGGER evidence_count_insert AFTER INSERT ON evidence BEGIN
    INSERT INTO evidence_counts VALUES (NEW.department, NEW.placement, COALESCE(NEW.item, ''),
        COALESCE(NEW.kind, ''), 1, NEW.received > (SELECT deadline FROM count_basis), NEW.received)
    ON CONFLICT DO UPDATE SET files = files + 1, late = late + excluded.late,
        last_received = MAX(last_received, excluded.last_received);
END;

-- The newest of the group is looked up again through `evidence_groups` (one index probe).
CREATE TRIGGER evidence_count_delete AFTER DELETE ON evidence BEGIN
    UPDATE evidence_counts SET files = files - 1,
        late = late - (OLD.received > (SELECT deadline FROM count_basis)),
        last_received = COALESCE((SELECT MAX(received) FROM evidence e INDEXED BY evidence_groups
            WHERE e.department = OLD.department AND e.placement = OLD.placement
              AND e.item IS OLD.item AND e.kind IS OLD.kind), 0)
    WHERE department = OLD.department AND placement = OLD.placement
      AND item = COALESCE(OLD.item, '') AND kind = COALESCE(OLD.kind, '');
    DELETE FROM evidence_counts WHERE department = OLD.department AND placement = OLD.placement
      AND item = COALESCE(OLD.item, '') AND kind = COALESCE(OLD.kind, '') AND files = 0;
END;

CREATE TRIGGER evidence_count_update AFTER UPDATE OF department, placement, item, kind, received ON evidence BEGIN
    UPDATE evidence_counts SET files = files - 1,
        late = late - (OLD.received > (SELECT deadline FROM count_basis)),
        last_received = COALESCE((SELECT MAX(received) FROM evidence e INDEXED BY evidence_groups
            WHERE e.department = OLD.department AND e.placement = OLD.placement
              AND e.item IS OLD.item AND e.kind IS OLD.kind), 0)
    WHERE department = OLD.department AND placement = OLD.placement
      AND item = COALESCE(OLD.item, '') AND kind = COALESCE(OLD.kind, '');
    DELETE FROM evidence_counts WHERE department = OLD.department AND placement = OLD.placement
      AND item = COALESCE(OLD.item, '') AND kind = COALESCE(OLD.kind, '') AND files = 0;
    INSERT INTO evidence_counts VALUES (NEW.department, NEW.placement, COALESCE(NEW.item, ''),
        COALESCE(NEW.kind, ''), 1, NEW.received > (SELECT deadline FROM count_basis), NEW.received)
    ON CONFLICT DO UPDATE SET files = files + 1, late = late + excluded.late,
        last_received = MAX(last_received, excluded.last_received);
END;

-- A blob's reading class, as the triggers below name it.
CREATE VIEW reading_class AS
    SELECT b.sha256 AS sha256,
           CASE WHEN r.sha256 IS NULL OR r.version < (SELECT reader_version FROM count_basis) THEN 'queued'
                WHEN r.state = 'done' THEN 'done'
                WHEN r.state = 'failed' THEN 'failed'
                ELSE 'other' END AS class
    FROM blobs b LEFT JOIN readings r ON r.sha256 = b.sha256;

CREATE TRIGGER blob_count_insert AFTER INSERT ON blobs WHEN NEW.refs > 0 BEGIN
    INSERT INTO reading_counts SELECT class, 1 FROM reading_class WHERE sha256 = NEW.sha256
    ON CONFLICT DO UPDATE SET blobs = blobs + 1;
END;

CREATE TRIGGER blob_count_refs AFTER UPDATE OF refs ON blobs WHEN (OLD.refs > 0) != (NEW.refs > 0) BEGIN
    INSERT INTO reading_counts SELECT class, IIF(NEW.refs > 0, 1, -1) FROM reading_class WHERE sha256 = NEW.sha256
    ON CONFLICT DO UPDATE SET blobs = blobs + excluded.blobs;
END;

CREATE TRIGGER blob_count_delete AFTER DELETE ON blobs WHEN OLD.refs > 0 BEGIN
    UPDATE reading_counts SET blobs = blobs - 1 WHERE class = COALESCE(
        (SELECT CASE WHEN r.version < (SELECT reader_version FROM count_basis) THEN 'queued'
                     WHEN r.state IN ('done', 'failed') THEN r.state ELSE 'other' END
         FROM readings r WHERE r.sha256 = OLD.sha256), 'queued');
END;

CREATE TRIGGER reading_count_insert AFTER INSERT ON readings
WHEN (SELECT refs FROM blobs WHERE sha256 = NEW.sha256) > 0 BEGIN
    UPDATE reading_counts SET blobs = blobs - 1 WHERE class = 'queued';
    INSERT INTO reading_counts SELECT class, 1 FROM reading_class WHERE sha256 = NEW.sha256
    ON CONFLICT DO UPDATE SET blobs = blobs + 1;
END;

CREATE TRIGGER reading_count_update AFTER UPDATE OF version, state ON readings
WHEN (SELECT refs FROM blobs WHERE sha256 = NEW.sha256) > 0 BEGIN
    UPDATE reading_counts SET blobs = blobs - 1 WHERE class =
        CASE WHEN OLD.version < (SELECT reader_version FROM count_basis) THEN 'queued'
             WHEN OLD.state IN ('done', 'failed') THEN OLD.state ELSE 'other' END;
    INSERT INTO reading_counts SELECT class, 1 FROM reading_class WHERE sha256 = NEW.sha256
    ON CONFLICT DO UPDATE SET blobs = blobs + 1;
END;

CREATE TRIGGER reading_count_delete AFTER DELETE ON readings
WHEN (SELECT refs FROM blobs WHERE sha256 = OLD.sha256) > 0 BEGIN
    UPDATE reading_counts SET blobs = blobs - 1 WHERE class =
        CASE WHEN OLD.version < (SELECT reader_version FROM count_basis) THEN 'queued'
             WHEN OLD.state IN ('done', 'failed') THEN OLD.state ELSE 'other' END;
    INSERT INTO reading_counts VALUES ('queued', 1) ON CONFLICT DO UPDATE SET blobs = blobs + 1;
END;
