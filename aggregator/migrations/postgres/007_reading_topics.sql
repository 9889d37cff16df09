-- The items a reading's text speaks of; see migrations/013_reading_topics.sql.
ALTER TABLE readings ADD COLUMN topics TEXT NOT NULL DEFAULT '';
