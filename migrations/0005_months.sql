-- Schema 5: the months of each tag's date order, for the timeline.
--
-- A file's month is the local month (of the zone the generation was built in,
-- meta.months_zone) of the time sort=taken orders it by, coalesce(taken_ns,
-- mtime_ns). `month` is YYYYMM as a number (202312 for December 2023);
-- `count` is how many of the tag's files fall in it; only months with files
-- have a row. A month's offset in the newest-first order (sort=taken) is the
-- sum of the counts of the later months of its tag: see the view below. The
-- counts, not the offsets, are stored, so that a new photo changes one row.
CREATE TABLE tag_months (
    tag_id INTEGER NOT NULL,
    month  INTEGER NOT NULL,  -- YYYYMM, local time
    count  INTEGER NOT NULL,  -- files of the tag in that month
    PRIMARY KEY (tag_id, month)
) WITHOUT ROWID;

-- For people: each tag's months newest first, as /api/months answers them,
-- with the offset of the month's first file in sort=taken order.
CREATE VIEW tag_months_v (tag, month, count, "offset") AS
    SELECT t.name, printf('%04d-%02d', m.month / 100, m.month % 100), m.count,
           sum(m.count) OVER (PARTITION BY m.tag_id ORDER BY m.month DESC
                              ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
    FROM tag_months AS m JOIN tags AS t ON t.id = m.tag_id
    ORDER BY t.name, m.month DESC;
