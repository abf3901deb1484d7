"""Domain exceptions; the HTTP layer maps each to one answer (server/middleware.py)."""

from __future__ import annotations


class MediasrvError(Exception):
    """Base of every error mediasrv reports to a user."""

    code = "error"
    status = 500


class UserError(MediasrvError):
    """A mistake in what the user asked for: told in one line, no traceback."""

    code = "bad_request"
    status = 400


class BadParameter(UserError):
    code = "bad_parameter"
    status = 400


class UnknownTag(UserError):
    code = "unknown_tag"
    status = 404

    def __init__(self, tag: str) -> None:
        super().__init__(f"no tag named {tag!r}")
        self.tag = tag


class FileNotIndexed(UserError):
    code = "unknown_file"
    status = 404

    def __init__(self, path: str, tag: str | None = None) -> None:
        where = f" with tag {tag!r}" if tag is not None else ""
        super().__init__(f"no file {path!r}{where} in the index")
        self.path = path


class FileGone(UserError):
    """Indexed, but no longer on disk (the next rescan will drop it)."""

    code = "file_gone"
    status = 404

    def __init__(self, path: str) -> None:
        super().__init__(f"{path!r} is in the index but no longer on disk")
        self.path = path


class IndexNotReady(MediasrvError):
    """No generation has been published yet: the first scan is still running."""

    code = "index_not_ready"
    status = 503


class NotLeader(MediasrvError):
    """A follower was asked for something only the leader does (a rescan)."""

    code = "follower"
    status = 409


class LeaderUnavailable(MediasrvError):
    """A --workers follower could not pass a request on to its leader (restarting?)."""

    code = "leader_unavailable"
    status = 503


class ScanFailed(MediasrvError):
    code = "scan_failed"
    status = 500


class TooManyAttempts(MediasrvError):
    """An address got the token (or a share link) wrong too often: it waits ``retry_after`` s."""

    code = "too_many_attempts"
    status = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many wrong access tokens or links from this address: try again "
                         f"in {retry_after} seconds")
        self.retry_after = retry_after
