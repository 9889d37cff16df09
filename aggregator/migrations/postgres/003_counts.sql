-- The status document's counts, kept by triggers in the transaction of each change; see
-- migrations/009_counts.sql. Here the triggers run once per statement, over its transition
-- tables: a row updated many times in one transaction leaves a version each time, which every
-- later update must walk past, so a statement of a million rows (a bulk fill) must not update
-- one count row a million times. `SET LOCAL yingjian.counting = 'off'` (migrate's copy, which
-- inserts row by row and counts once at the end) leaves the counts alone; `blobs.refs` is
-- kept whatever it says.
CREATE TABLE count_basis (
    deadline        BIGINT NOT NULL,
    reader_version  BIGINT NOT NULL
);
INSERT INTO count_basis VALUES (-1, -1);

CREATE TABLE evidence_counts (
    department     TEXT NOT NULL,
    placement      TEXT NOT NULL,
    item           TEXT NOT NULL,
    kind           TEXT NOT NULL,
    files          BIGINT NOT NULL,
    late           BIGINT NOT NULL,
    last_received  BIGINT NOT NULL,
    PRIMARY KEY (department, placement, item, kind)
);

CREATE TABLE reading_counts (
    class  TEXT PRIMARY KEY,
    blobs  BIGINT NOT NULL
);

CREATE INDEX readings_marked ON readings(sha256) WHERE classification IS NOT NULL;

-- The newest record of a group, looked up again when one leaves it, in one index probe (the
-- status no longer groups the records, so this takes the old grouping index's place).
DROP INDEX evidence_groups;
CREATE INDEX evidence_counted ON evidence(department, placement, COALESCE(item, ''), COALESCE(kind, ''), received);

CREATE FUNCTION counting() RETURNS BOOLEAN LANGUAGE sql STABLE AS $$
    SELECT current_setting('yingjian.counting', true) IS DISTINCT FROM 'off'
$$;

-- A blob's reading class: queued (not read, or by an older reader), done, failed, other.
CREATE FUNCTION reading_class(version BIGINT, state TEXT) RETURNS TEXT LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN version IS NULL OR version < (SELECT reader_version FROM count_basis) THEN 'queued'
                WHEN state IN ('done', 'failed') THEN state ELSE 'other' END
$$;

-- Replaces 001's row trigger on `refs`: one update of the blobs per statement, so that the
-- reading counts below also change once per statement.
DROP TRIGGER evidence_refs ON evidence;
DROP FUNCTION evidence_refs();

-- One function per event, as below: a query naming a transition table its trigger lacks cannot
-- be planned. `added` and `removed` are the statement's rows after and before.
CREATE FUNCTION evidence_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE blobs b SET refs = b.refs + d.n
    FROM (SELECT sha256, COUNT(*) AS n FROM added GROUP BY sha256) d WHERE b.sha256 = d.sha256;
    IF counting() THEN
        INSERT INTO evidence_counts AS c
            SELECT department, placement, COALESCE(item, ''), COALESCE(kind, ''), COUNT(*),
                   COUNT(*) FILTER (WHERE received > (SELECT deadline FROM count_basis)), MAX(received)
            FROM added GROUP BY 1, 2, 3, 4
        ON CONFLICT (department, placement, item, kind) DO UPDATE SET files = c.files + excluded.files,
            late = c.late + excluded.late, last_received = GREATEST(c.last_received, excluded.last_received);
    END IF;
    RETURN NULL;
END $$;

-- What an update or a delete takes from the groups the rows left: their counts, and their newest
-- arrival looked up again through `evidence_counted`; an emptied group is gone.
CREATE FUNCTION evidence_left(groups JSONB) RETURNS void LANGUAGE sql AS $$
    UPDATE evidence_counts c SET files = c.files - (g->>'files')::BIGINT, late = c.late - (g->>'late')::BIGINT
    FROM jsonb_array_elements(groups) g
    WHERE (c.department, c.placement, c.item, c.kind) = (g->>'department', g->>'placement', g->>'item', g->>'kind');
    UPDATE evidence_counts c SET last_received = COALESCE((SELECT MAX(e.received) FROM evidence e
            WHERE e.department = c.department AND e.placement = c.placement
              AND COALESCE(e.item, '') = c.item AND COALESCE(e.kind, '') = c.kind), 0)
    FROM jsonb_array_elements(groups) g
    WHERE (c.department, c.placement, c.item, c.kind) = (g->>'department', g->>'placement', g->>'item', g->>'kind');
    DELETE FROM evidence_counts WHERE files = 0;
$$;

CREATE FUNCTION evidence_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE blobs b SET refs = b.refs - d.n
    FROM (SELECT sha256, COUNT(*) AS n FROM removed GROUP BY sha256) d WHERE b.sha256 = d.sha256;
    IF counting() THEN
        PERFORM evidence_left((SELECT jsonb_agg(g) FROM (
            SELECT department, placement, COALESCE(item, '') AS item, COALESCE(kind, '') AS kind, COUNT(*) AS files,
                   COUNT(*) FILTER (WHERE received > (SELECT deadline FROM count_basis)) AS late
            FROM removed GROUP BY 1, 2, 3, 4) g));
    END IF;
    RETURN NULL;
END $$;

-- An update leaves its old group and joins its new one (often the same: a new version, a
-- caption); rows whose group and arrival did not change are left out.
CREATE FUNCTION evidence_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE blobs b SET refs = b.refs + d.n
    FROM (SELECT sha256, SUM(n) AS n FROM (SELECT sha256, 1 AS n FROM added UNION ALL SELECT sha256, -1 FROM removed) x
          GROUP BY sha256 HAVING SUM(n) <> 0) d
    WHERE b.sha256 = d.sha256;
    IF counting() THEN
        PERFORM evidence_left((SELECT jsonb_agg(g) FROM (
            SELECT o.department, o.placement, COALESCE(o.item, '') AS item, COALESCE(o.kind, '') AS kind,
                   COUNT(*) AS files, COUNT(*) FILTER (WHERE o.received > (SELECT deadline FROM count_basis)) AS late
            FROM removed o JOIN added a ON a.id = o.id
            WHERE (o.department, o.placement, o.item, o.kind, o.received)
                  IS DISTINCT FROM (a.department, a.placement, a.item, a.kind, a.received)
            GROUP BY 1, 2, 3, 4) g));
        INSERT INTO evidence_counts AS c
            SELECT a.department, a.placement, COALESCE(a.item, ''), COALESCE(a.kind, ''), COUNT(*),
                   COUNT(*) FILTER (WHERE a.received > (SELECT deadline FROM count_basis)), MAX(a.received)
            FROM added a JOIN removed o ON o.id = a.id
            WHERE (o.department, o.placement, o.item, o.kind, o.received)
                  IS DISTINCT FROM (a.department, a.placement, a.item, a.kind, a.received)
            GROUP BY 1, 2, 3, 4
        ON CONFLICT (department, placement, item, kind) DO UPDATE SET files = c.files + excluded.files,
            late = c.late + excluded.late, last_received = GREATEST(c.last_received, excluded.last_received);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER evidence_inserted AFTER INSERT ON evidence REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION evidence_inserted();
CREATE TRIGGER evidence_updated AFTER UPDATE ON evidence REFERENCING OLD TABLE AS removed NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION evidence_updated();
CREATE TRIGGER evidence_deleted AFTER DELETE ON evidence REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION evidence_deleted();

-- Blobs entering (refs > 0) or leaving the set records point at, by their reading class.
CREATE FUNCTION blobs_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF counting() THEN
        INSERT INTO reading_counts AS c
            SELECT reading_class(r.version, r.state), COUNT(*) FROM added a LEFT JOIN readings r ON r.sha256 = a.sha256
            WHERE a.refs > 0 GROUP BY 1
        ON CONFLICT (class) DO UPDATE SET blobs = c.blobs + excluded.blobs;
    END IF;
    RETURN NULL;
END $$;
CREATE FUNCTION blobs_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF counting() THEN
        INSERT INTO reading_counts AS c
            SELECT reading_class(r.version, r.state), SUM(CASE WHEN a.refs > 0 THEN 1 ELSE -1 END)
            FROM added a JOIN removed o ON o.sha256 = a.sha256 LEFT JOIN readings r ON r.sha256 = a.sha256
            WHERE (a.refs > 0) <> (o.refs > 0) GROUP BY 1
        ON CONFLICT (class) DO UPDATE SET blobs = c.blobs + excluded.blobs;
    END IF;
    RETURN NULL;
END $$;
CREATE FUNCTION blobs_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF counting() THEN
        INSERT INTO reading_counts AS c
            SELECT reading_class(r.version, r.state), -COUNT(*) FROM removed o LEFT JOIN readings r ON r.sha256 = o.sha256
            WHERE o.refs > 0 GROUP BY 1
        ON CONFLICT (class) DO UPDATE SET blobs = c.blobs + excluded.blobs;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER blobs_inserted AFTER INSERT ON blobs REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION blobs_inserted();
CREATE TRIGGER blobs_updated AFTER UPDATE ON blobs REFERENCING OLD TABLE AS removed NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION blobs_updated();
CREATE TRIGGER blobs_deleted AFTER DELETE ON blobs REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION blobs_deleted();

-- A reading moves its blob, when records point at it, from one class to another.
CREATE FUNCTION readings_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF counting() THEN
        INSERT INTO reading_counts AS c
            SELECT class, SUM(n) FROM (
                SELECT 'queued' AS class, -1 AS n FROM added a JOIN blobs b ON b.sha256 = a.sha256 WHERE b.refs > 0
                UNION ALL
                SELECT reading_class(a.version, a.state), 1 FROM added a JOIN blobs b ON b.sha256 = a.sha256 WHERE b.refs > 0
            ) x GROUP BY class
        ON CONFLICT (class) DO UPDATE SET blobs = c.blobs + excluded.blobs;
    END IF;
    RETURN NULL;
END $$;
CREATE FUNCTION readings_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF counting() THEN
        INSERT INTO reading_counts AS c
            SELECT class, SUM(n) FROM (
                SELECT reading_class(o.version, o.state) AS class, -1 AS n FROM removed o JOIN blobs b ON b.sha256 = o.sha256 WHERE b.refs > 0
                UNION ALL
                SELECT reading_class(a.version, a.state), 1 FROM added a JOIN blobs b ON b.sha256 = a.sha256 WHERE b.refs > 0
            ) x GROUP BY class
        ON CONFLICT (class) DO UPDATE SET blobs = c.blobs + excluded.blobs;
    END IF;
    RETURN NULL;
END $$;
CREATE FUNCTION readings_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF counting() THEN
        INSERT INTO reading_counts AS c
            SELECT class, SUM(n) FROM (
                SELECT reading_class(o.version, o.state) AS class, -1 AS n FROM removed o JOIN blobs b ON b.sha256 = o.sha256 WHERE b.refs > 0
                UNION ALL
                SELECT 'queued', 1 FROM removed o JOIN blobs b ON b.sha256 = o.sha256 WHERE b.refs > 0
            ) x GROUP BY class
        ON CONFLICT (class) DO UPDATE SET blobs = c.blobs + excluded.blobs;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER readings_inserted AFTER INSERT ON readings REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION readings_inserted();
CREATE TRIGGER readings_updated AFTER UPDATE ON readings REFERENCING OLD TABLE AS removed NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION readings_updated();
CREATE TRIGGER readings_deleted AFTER DELETE ON readings REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION readings_deleted();
