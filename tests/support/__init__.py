"""Plain helpers shared by the tests (fixtures stay in the conftest.py files).

One way to run a live server (:class:`LiveServer`), one way to wait (:func:`until`),
real media bytes, libraries on disk. A test module imports from here, never from
another test module or a conftest. ``support.browser``, ``support.openapi`` and
``support.swaps`` are imported by name (they make pictures, load the spec, or hold
one test's names).
"""

from .apps import make_app
from .clients import Links, page, parse, paths, rescan, serving, status
from .commands import (
    gated_command,
    held_walk_command,
    one_error_line,
    recording_command,
    run,
    worker_command,
)
from .following import Leader
from .live import TRACEBACK, LiveServer, leader_args, serves
from .media import (
    CAMERA,
    EDITED,
    EXIF_IFD,
    OFFSET_ORIGINAL,
    ORIGINAL,
    SUBSEC_ORIGINAL,
    big_jpeg,
    camera_jpeg,
    dated,
    h264_bytes,
    jpeg_bytes,
    song_bytes,
)
from .trees import SMALL_TREE, Tree, make_tree, many_files
from .waiting import WAIT, process_ended, until

__all__ = [
    "CAMERA",
    "EDITED",
    "EXIF_IFD",
    "OFFSET_ORIGINAL",
    "ORIGINAL",
    "SMALL_TREE",
    "SUBSEC_ORIGINAL",
    "TRACEBACK",
    "WAIT",
    "Leader",
    "Links",
    "LiveServer",
    "Tree",
    "big_jpeg",
    "camera_jpeg",
    "dated",
    "gated_command",
    "h264_bytes",
    "held_walk_command",
    "jpeg_bytes",
    "leader_args",
    "make_app",
    "make_tree",
    "many_files",
    "one_error_line",
    "page",
    "parse",
    "paths",
    "process_ended",
    "recording_command",
    "rescan",
    "run",
    "serves",
    "serving",
    "song_bytes",
    "status",
    "until",
    "worker_command",
]
