-- How many pages each content takes in the printed volumes (print/), as the last print build
-- found: the electronic 目录's 起止页 agree with the paper version once it has been built.
ALTER TABLE blobs ADD COLUMN printed_pages INTEGER;
