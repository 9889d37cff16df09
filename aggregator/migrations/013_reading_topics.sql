-- The catalogue items a reading's text speaks of most (`reading/topics.rs`): 「08.03 0.82;01.02 0.55」,
-- from which a misplaced file's suggested item is drawn where it is filed.
ALTER TABLE readings ADD COLUMN topics TEXT NOT NULL DEFAULT '';
