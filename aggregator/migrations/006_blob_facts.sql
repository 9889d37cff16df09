-- What each blob's content says about itself (facts.rs): pages and the document's date for the
-- 目录, examined once per blob; `examined` is the version of the examination that was made.
ALTER TABLE blobs ADD COLUMN pages INTEGER;
ALTER TABLE blobs ADD COLUMN doc_date TEXT;
ALTER TABLE blobs ADD COLUMN examined INTEGER NOT NULL DEFAULT 0;
