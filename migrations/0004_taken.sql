-- Schema 4: the date a photo or video was taken, and each tag in that order.
--
-- `files.taken_ns` is the capture time the file itself states (a photo's EXIF
-- DateTimeOriginal with its OffsetTimeOriginal, a video's creation_time), in
-- ns since the epoch, UTC; NULL when the file states none or was not probed.
-- A naive EXIF time (no offset) is read in the scanning machine's local zone.
-- The `sort=taken` order uses coalesce(taken_ns, mtime_ns): a file without a
-- capture time stands at its modification time.
ALTER TABLE files ADD COLUMN taken_ns INTEGER;

-- Each tag's files by time taken, oldest first, in chunks: chunk (tag_id,
-- start, ...) holds positions start .. start+count-1 of the tag in that order,
-- its files' ids as a JSON array (`files`). The order is by (coalesce(taken_ns,
-- mtime_ns), id); `taken` and `file_id` are that key of the chunk's first
-- file, so a file's chunk is the last one whose key is not after the file's.
-- The API's `sort=taken` is newest first: the exact reverse of this order, so
-- files taken at the same moment stand in reverse natural order (a burst's
-- last shot first).
--
-- A page at any offset is one chunk lookup and a slice; a change rewrites the
-- chunks its files fall in and shifts the starts of the chunks after them
-- (new photos are the newest, so they usually fall in the last chunk).
CREATE TABLE tag_taken (
    tag_id  INTEGER NOT NULL,
    start   INTEGER NOT NULL,
    taken   INTEGER NOT NULL,  -- coalesce(taken_ns, mtime_ns) of the chunk's first file
    file_id INTEGER NOT NULL,  -- the id of the chunk's first file
    count   INTEGER NOT NULL,
    files   TEXT    NOT NULL,  -- JSON array of the chunk's file ids, in order
    PRIMARY KEY (tag_id, start)
) WITHOUT ROWID;

CREATE UNIQUE INDEX tag_taken_key ON tag_taken (tag_id, taken, file_id);

-- For people: one row per (tag, file) in the sort=taken order (newest first),
-- with the time it sorts by.
CREATE VIEW taken_order (tag, position, path, taken_ns, sorted_by_ns) AS
    SELECT t.name, t.file_count - 1 - (c.start + j.key), f.path, f.taken_ns,
           coalesce(f.taken_ns, f.mtime_ns)
    FROM tag_taken AS c
    JOIN tags AS t ON t.id = c.tag_id
    JOIN json_each(c.files) AS j
    JOIN files AS f ON f.id = j.value
    ORDER BY t.name, 2;
