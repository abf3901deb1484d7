-- Schema 6: one tag per word. Tag names that differ only in letter case are
-- one tag: a `Beach` folder and a `[beach]` bracket tag hold the same files.
--
-- `tags.key` is the tag's name case-folded (Python's str.casefold; a name
-- that is not valid UTF-8 is folded from its display text, U+FFFD for each
-- byte that does not decode), unique: what a lookup by any spelling uses.
-- `tags.name` (with `name_bytes`) is the spelling shown, the one carried by
-- the most files (ties: the first in natural order; `All` is always `All`),
-- so it can change when files change.
ALTER TABLE tags ADD COLUMN key TEXT NOT NULL DEFAULT '';

-- Each spelling of each tag and how many of its files carry that spelling
-- (a file in `Beach/` named `x[beach].jpg` carries both): what the shown name
-- is chosen from, kept exact by delta builds.
CREATE TABLE tag_spellings (
    tag_id     INTEGER NOT NULL,
    name       TEXT    NOT NULL,  -- as spelled in a folder or file name (display text)
    name_bytes BLOB,              -- exact bytes of name when it is not valid UTF-8, else NULL
    file_count INTEGER NOT NULL   -- files carrying this spelling
);

CREATE UNIQUE INDEX tags_key ON tags (key);
CREATE UNIQUE INDEX tag_spellings_name ON tag_spellings (tag_id, name, name_bytes);
