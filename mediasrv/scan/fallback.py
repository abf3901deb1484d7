"""When a scan's quick way cannot be trusted, it falls back to the thorough one.

Two quick ways, two fallbacks, each raised where the problem is found and
caught in one place:

- a targeted scan lists only the folders that changed paths touched
  (``region.py``); ``NeedFullWalk`` says the change cannot be placed folder by
  folder, and ``job.run_scan`` walks the whole tree instead;
- a delta build copies the current generation and patches the touched rows
  (``delta/``); ``NeedFullBuild`` says the change cannot (or should not) be
  written that way, and ``build.publish`` builds the generation in full, or,
  after a targeted scan, which has no full listing to build from, raises
  ``NeedFullWalk``.
"""

from __future__ import annotations


class NeedFullWalk(Exception):
    """The change cannot be placed folder by folder (the reason says why)."""


class NeedFullBuild(Exception):
    """This change cannot be applied as a delta; a full build is needed (the reason says why)."""
