-- The index of one generation: every file of one scan, its tags, and each
-- file's position in each of its tags.
--
-- A generation is written once, by one build, and never changed after it is
-- published, so there are no foreign-key actions and no triggers. Indexes are
-- created by the builder after the bulk load (see mediasrv/db.py); they are
-- listed here so that the schema lives in one place.
--
-- Text columns hold the exact bytes of names on disk. A name that is not
-- valid UTF-8 is stored byte for byte; the sqlite3 shell prints it as your
-- terminal would print `ls`.

-- One row per indexed file. `id` is the file's rank in the library's natural
-- order (folder by folder, img2 before img10), so ORDER BY id is that order.
CREATE TABLE files (
    id        INTEGER PRIMARY KEY,
    path      TEXT    NOT NULL,  -- relative to the root, '/'-separated, unique
    name      TEXT    NOT NULL,  -- last component of path
    ext       TEXT    NOT NULL,  -- lower-case extension without the dot, '' if none
    kind      TEXT    NOT NULL CHECK (kind IN ('image', 'video', 'audio', 'other')),
    size      INTEGER NOT NULL,  -- bytes
    mtime_ns  INTEGER NOT NULL,  -- modification time, ns since the epoch
    width     INTEGER,           -- pixels, images and videos, when probed
    height    INTEGER,
    duration  REAL,              -- seconds, videos and audio, when probed
    thumb_key TEXT               -- name of the cached thumbnail, when made
);

-- One row per tag. `file_count` is the number of files carrying it.
CREATE TABLE tags (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,  -- unique; 'All' is every file
    file_count INTEGER NOT NULL
);

-- Which files carry which tag, and where each stands in that tag's order.
-- `position` runs 0 .. file_count-1 within a tag, in natural path order, so a
-- page is a range of positions, a file's neighbours are position +/- 1 and a
-- random pick is one random position: index lookups, never a sort.
CREATE TABLE file_tags (
    tag_id   INTEGER NOT NULL,
    position INTEGER NOT NULL,
    file_id  INTEGER NOT NULL,
    PRIMARY KEY (tag_id, position)
) WITHOUT ROWID;

-- Search: the words (letters and digits, case-folded) of each file's path.
-- A query word matches a file when it is the start of one of these words.
CREATE TABLE search_words (
    word    TEXT    NOT NULL,
    file_id INTEGER NOT NULL,
    PRIMARY KEY (word, file_id)
) WITHOUT ROWID;

-- Facts about this generation: generation, root, schema_version, scanned_at,
-- scan_seconds, file_count, tag_count, skipped.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value
) WITHOUT ROWID;

CREATE UNIQUE INDEX files_path ON files (path);
CREATE UNIQUE INDEX tags_name ON tags (name);
CREATE UNIQUE INDEX file_tags_file ON file_tags (file_id, tag_id, position);

-- For people: one row per (file, tag), in tag order.
CREATE VIEW file_tags_v (path, tag) AS
    SELECT f.path, t.name
    FROM file_tags AS ft
    JOIN tags AS t ON t.id = ft.tag_id
    JOIN files AS f ON f.id = ft.file_id
    ORDER BY t.name, ft.position;
