-- Schema 2: generations that a delta build can make from the one before.
--
-- Schema 1 stored each file's position in each of its tags (`file_tags`), and
-- a file's id was its rank in the library: one new file in the middle of `All`
-- moved the position of every file after it, in every tag, so every change
-- meant writing the whole index again. Here positions live inside folders and
-- in a small table of runs, so a change rewrites the touched folders' rows and
-- a few rows per tag, never the library. Schema 1's tables are dropped and
-- built again below; this file is the whole current schema.
--
-- Every TEXT value is valid UTF-8, so any SQLite client (Python's sqlite3,
-- sqlite-utils, Datasette) reads every row. A name on disk that is not valid
-- UTF-8 is shown in TEXT with U+FFFD for each byte that does not decode, and
-- its exact bytes are kept in the *_bytes column beside it (NULL for the
-- plain names that are nearly all of them). The exact bytes of any path:
--
--     SELECT coalesce(path_bytes, CAST(path AS BLOB)) FROM files;

DROP VIEW file_tags_v;
DROP TABLE file_tags;
DROP TABLE search_words;
DROP TABLE files;
DROP TABLE tags;

-- One row per folder that holds files directly.
CREATE TABLE folders (
    id         INTEGER PRIMARY KEY,
    path       TEXT    NOT NULL,  -- relative to the root, '/'-separated; '' is the root
    path_bytes BLOB,              -- exact bytes of path when it is not valid UTF-8, else NULL
    file_count INTEGER NOT NULL,  -- files directly in this folder
    first_id   INTEGER NOT NULL   -- files.id of its first file (pos 0), the smallest of its ids
);

-- One row per indexed file.
--
-- `id` rises in the library's natural order (folder by folder, img2 before
-- img10), so ORDER BY id is that order. A full build leaves room between ids
-- (see mediasrv/builder.py, ID_SPACING) so that a delta build can give a new
-- file an id between its neighbours without renumbering anything.
CREATE TABLE files (
    id         INTEGER PRIMARY KEY,
    folder_id  INTEGER NOT NULL,  -- folders.id of the folder holding it
    pos        INTEGER NOT NULL,  -- 0 .. folder's file_count-1, natural order within the folder
    path       TEXT    NOT NULL,  -- relative to the root, '/'-separated, unique with path_bytes
    path_bytes BLOB,              -- exact bytes of path when it is not valid UTF-8, else NULL
    name       TEXT    NOT NULL,  -- last component of path
    ext        TEXT    NOT NULL,  -- lower-case extension without the dot, '' if none
    kind       TEXT    NOT NULL CHECK (kind IN ('image', 'video', 'audio', 'other')),
    size       INTEGER NOT NULL,  -- bytes
    mtime_ns   INTEGER NOT NULL,  -- modification time, ns since the epoch
    width      INTEGER,           -- pixels, images and videos, when probed
    height     INTEGER,
    duration   REAL,              -- seconds, videos and audio, when probed
    thumb_key  TEXT               -- reserved; thumbnails are keyed by (path, size, mtime_ns)
);

-- One row per tag. `file_count` is the number of files carrying it. Pages
-- list tags with `All` first, then in natural name order; ids follow that
-- order after a full build, and a delta build adds new tags at the end.
CREATE TABLE tags (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,  -- unique with name_bytes; 'All' is every file
    name_bytes BLOB,              -- exact bytes of name when it is not valid UTF-8, else NULL
    file_count INTEGER NOT NULL
);

-- Where each tag's files are: runs of files that stand next to each other
-- both in the tag and in one folder. Run (tag_id, start, folder_id, first,
-- count) says that positions start .. start+count-1 of the tag are the files
-- at pos first .. first+count-1 of the folder. Runs of a tag follow each other
-- without gaps from position 0, and each is as long as it can be (two runs
-- of the same folder never touch), so one tree always gives the same runs.
--
-- A page at offset k is: the run with the greatest start <= k, then a range
-- of (folder_id, pos); a file's neighbours and a random pick are the same
-- lookups. Folder tags are whole subtrees and take one run per stretch of a
-- folder's files, so this table has about one row per folder and tag level,
-- not one per file and tag.
CREATE TABLE tag_runs (
    tag_id    INTEGER NOT NULL,
    start     INTEGER NOT NULL,
    folder_id INTEGER NOT NULL,
    first     INTEGER NOT NULL,
    count     INTEGER NOT NULL,
    PRIMARY KEY (tag_id, start)
) WITHOUT ROWID;

-- Search. A query word matches a file when it is the start of a word
-- (letters and digits, case-folded) of the file's path. The words of a path
-- are its folder's words and its name's words, so they are kept apart: a
-- folder's words once per folder, a name's words (those its folder does not
-- already have) once per file. A change touches only the changed files' rows.
CREATE TABLE folder_words (
    word      TEXT    NOT NULL,
    folder_id INTEGER NOT NULL,
    PRIMARY KEY (word, folder_id)
) WITHOUT ROWID;

CREATE TABLE name_words (
    folder_id INTEGER NOT NULL,
    word      TEXT    NOT NULL,
    file_id   INTEGER NOT NULL,
    PRIMARY KEY (folder_id, word, file_id)
) WITHOUT ROWID;

-- Which folders have a name with each word, and how many: a search starts
-- from the folders of its rarest words (about a third of name_words' rows).
CREATE TABLE name_word_folders (
    word      TEXT    NOT NULL,
    folder_id INTEGER NOT NULL,
    files     INTEGER NOT NULL,  -- names in the folder with this word
    PRIMARY KEY (word, folder_id)
) WITHOUT ROWID;

CREATE UNIQUE INDEX folders_path ON folders (path, path_bytes);
CREATE UNIQUE INDEX files_path ON files (path, path_bytes);
CREATE UNIQUE INDEX files_folder_pos ON files (folder_id, pos);
CREATE UNIQUE INDEX tags_name ON tags (name, name_bytes);
CREATE UNIQUE INDEX tag_runs_folder ON tag_runs (tag_id, folder_id, first);
CREATE INDEX folders_first ON folders (first_id);

-- Every word of each file's path, one row per (word, file): what a search
-- matches against, for scripts.
CREATE VIEW search_words (word, file_id) AS
    SELECT w.word, f.id FROM folder_words AS w JOIN files AS f ON f.folder_id = w.folder_id
    UNION
    SELECT word, file_id FROM name_words;

-- Each file's position in each of its tags, one row per (tag, file): schema
-- 1's table, kept as a view for scripts. Reading it expands every run.
CREATE VIEW file_tags (tag_id, position, file_id) AS
    SELECT r.tag_id, r.start + f.pos - r.first, f.id
    FROM tag_runs AS r
    JOIN files AS f ON f.folder_id = r.folder_id
        AND f.pos >= r.first AND f.pos < r.first + r.count;

-- For people: one row per (file, tag), in tag order.
CREATE VIEW file_tags_v (path, tag, position) AS
    SELECT f.path, t.name, ft.position
    FROM file_tags AS ft
    JOIN tags AS t ON t.id = ft.tag_id
    JOIN files AS f ON f.id = ft.file_id
    ORDER BY t.name, ft.position;
