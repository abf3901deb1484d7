"""How pages write sizes, times and lengths: ``1.2 MB``, ``2024-05-01 13:05 UTC``, ``3:07``."""

from __future__ import annotations

from datetime import UTC, datetime


def human_bytes(n: int | None) -> str:
    if n is None:
        return ""
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{n} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} bytes"


def moment(value: str | int | float | None) -> datetime | None:
    """An ISO timestamp, epoch seconds or epoch ns as a local time; None if it is none."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, int | float):
            seconds = value / 1e9 if abs(value) > 1e12 else value  # ns, before 1970 too
            return datetime.fromtimestamp(seconds, UTC).astimezone()
        return datetime.fromisoformat(value)
    except (ValueError, OverflowError, OSError):
        return None


def human_time(value: str | int | float | None) -> str:
    """A time as ``2024-05-01 13:05 UTC``; ``never`` for none."""
    found = moment(value)
    if found is None:
        return "never" if value in (None, "") else str(value)
    return found.strftime("%Y-%m-%d %H:%M %Z").strip()


def iso_time(value: str | int | float | None) -> str:
    found = moment(value)
    return found.isoformat(timespec="seconds") if found is not None else ""


def human_duration(seconds: float | None) -> str:
    """``m:ss`` or ``h:mm:ss``, whole seconds down, as the browser's own players show it."""
    if not seconds:
        return ""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"
