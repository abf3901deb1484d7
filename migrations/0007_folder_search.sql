-- Schema 7: search walks only the folders that can match, in natural order.
--
-- Schema 2 found the folders whose path has a query word by reading every one
-- of them (`folder_words`, a range per word), so a word in many folder names
-- (`beach`, `album`, or a prefix such as `a`) cost the number of folders: 80
-- ms at 100k folders. Here every start of a word (`b`, `be`, ..., `beach`)
-- lists the folders that have it in natural order, so a search steps through
-- the folders of its words together and stops after `limit` files.
--
-- One row per (prefix, folder) where the folder's path, or the name of one of
-- its files, has a word starting with `prefix` (words as in `search_words`:
-- runs of letters, runs of digits, case-folded). `first_id` is the folder's
-- `folders.first_id` (the folder is `folders` JOIN ON first_id): ids rise in
-- natural order, so `ORDER BY first_id` within a prefix is the order to visit
-- its folders. `in_path` is 1 when the folder's
-- path has such a word (every file of the folder matches it), 0 when only some
-- names do (`name_words` says which).
--
--     -- the first folders whose path or names have a word starting with 'bea'
--     SELECT f.path, w.in_path FROM word_folders AS w JOIN folders AS f ON f.first_id = w.first_id
--     WHERE w.prefix = 'bea' ORDER BY w.first_id LIMIT 10;
CREATE TABLE word_folders (
    prefix    TEXT    NOT NULL,
    first_id  INTEGER NOT NULL,  -- folders.first_id of the folder
    in_path   INTEGER NOT NULL,  -- 1: its path has a word with this start; 0: some names do
    PRIMARY KEY (prefix, first_id)
) WITHOUT ROWID;

-- Replaced by word_folders (in_path = 0 rows): which folders have a word in
-- their names.
DROP TABLE name_word_folders;
