-- Schema 9: what a photo says about its camera, and what a song says about itself.
--
-- Both are read by the scan's header-only probe (mediasrv/scan/details.py and
-- songs.py), never when a page is asked for, and carried over for files that
-- did not change, like width, height and taken_ns. Each lives in a table of
-- its own, one row per file that states something (NULL: not stated), keyed
-- by files.id: a library of documents pays nothing for them, and a page of a
-- tag joins file_audio by primary key (measured at 100k files: the same
-- file size and page time as 17 more columns on `files`, docs/BENCHMARKS.md).
--
-- Camera and lens of a photo (its EXIF: IFD0, the Exif IFD and the GPS IFD)
-- or of a video (its container's metadata, where the camera wrote any).
CREATE TABLE file_details (
    file_id         INTEGER PRIMARY KEY,  -- files.id
    camera_make     TEXT,     -- 'Canon', 'Apple'
    camera_model    TEXT,     -- 'Canon EOS 5D Mark IV', 'iPhone 13'
    lens            TEXT,     -- EXIF LensModel, 'EF24-105mm f/4L IS USM'
    focal_length_mm REAL,     -- 50.0
    f_number        REAL,     -- 4.0 (the aperture, f/4)
    exposure_time_s REAL,     -- seconds: 0.004 is 1/250 s
    iso             INTEGER,  -- 200
    gps_lat         REAL,     -- degrees, north positive
    gps_lon         REAL      -- degrees, east positive
);

-- A song's own tags (ID3, Vorbis comments, MP4 atoms; read with mutagen).
-- Several values of one tag (two artists) are joined with '; '.
CREATE TABLE file_audio (
    file_id      INTEGER PRIMARY KEY,  -- files.id
    title        TEXT,
    artist       TEXT,
    album        TEXT,
    album_artist TEXT,
    track        INTEGER,  -- 3 of '3/12'
    disc         INTEGER,  -- 1 of '1/2'
    year         INTEGER,  -- 2019 of '2019-05-01'
    genre        TEXT
);

-- A song's artist, album artist and genre (each value of them: 'Rock; Pop' is
-- two) and its album are tags of the song, like its folders' names: `tags`,
-- `tag_spellings` and `tag_runs` hold them, so `Band` and `Album 2019` are
-- browsed like folders.

-- For people: every song with its tags, in the library's order.
CREATE VIEW songs (path, title, artist, album, album_artist, track, disc, year, genre,
                   duration) AS
    SELECT f.path, a.title, a.artist, a.album, a.album_artist, a.track, a.disc, a.year,
           a.genre, f.duration
    FROM files AS f JOIN file_audio AS a ON a.file_id = f.id
    ORDER BY f.id;

-- For people: every photo or video that names its camera or place.
CREATE VIEW photo_details (path, camera_make, camera_model, lens, focal_length_mm,
                           f_number, exposure_time_s, iso, gps_lat, gps_lon) AS
    SELECT f.path, d.camera_make, d.camera_model, d.lens, d.focal_length_mm, d.f_number,
           d.exposure_time_s, d.iso, d.gps_lat, d.gps_lon
    FROM files AS f JOIN file_details AS d ON d.file_id = f.id
    ORDER BY f.id;
