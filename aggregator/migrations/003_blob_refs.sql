-- Status queries made proportional to what they find.
-- How many records point at each blob, kept by triggers, so that duplicate groups are found
-- through a small partial index instead of grouping every record on every status request.
ALTER TABLE blobs ADD COLUMN refs INTEGER NOT NULL DEFAULT 0;
UPDATE blobs SET refs = (SELECT COUNT(*) FROM evidence e WHERE e.sha256 = blobs.sha256);
CREATE INDEX blobs_shared ON blobs(sha256) WHERE refs > 1;

CREATE TRIGGER evidence_ref_insert AFTER INSERT ON evidence BEGIN
    UPDATE blobs SET refs = refs + 1 WHERE sha256 = NEW.sha256;
END;
CREATE TRIGGER evidence_ref_delete AFTER DELETE ON evidence BEGIN
    UPDATE blobs SET refs = refs - 1 WHERE sha256 = OLD.sha256;
END;
CREATE TRIGGER evidence_ref_update AFTER UPDATE OF sha256 ON evidence WHEN OLD.sha256 != NEW.sha256 BEGIN
    UPDATE blobs SET refs = refs - 1 WHERE sha256 = OLD.sha256;
    UPDATE blobs SET refs = refs + 1 WHERE sha256 = NEW.sha256;
END;

-- Status also lists the files with problems and the typical cases: partial indexes keep those
-- lookups proportional to what they find.
CREATE INDEX evidence_problems ON evidence(department, path) WHERE problem IS NOT NULL;
CREATE INDEX evidence_cases ON evidence(department, path) WHERE placement = 'case';
