"""Whether a silent child is starved of CPU or stuck: what its threads did meanwhile.

A scan process runs at SCHED_IDLE (``scan/job.lower_priority``): on a machine
other work keeps busy it gets next to no CPU, and says nothing for minutes.
That silence is not a stall: it is runnable, waiting its turn. A process that
is stopped, deadlocked or stuck on a dead mount is not runnable and waits for
no CPU; one stuck in a loop runs. Linux counts each thread's time on a CPU and
time runnable but not running (``/proc/PID/task/TID/schedstat``, in ns) and
says whether it is runnable now (``stat``'s state ``R``); summed over the
threads of the process and of its children (the walkers), they tell the
cases apart. The time waited is added when a thread next gets a CPU, so a
thread that is runnable now with hardly any CPU in the period counts as
waiting although its count has not moved yet.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True)
class Usage:
    """A process tree's threads so far: ns waited to run, ns run; one runnable now."""

    waited_ns: int
    ran_ns: int
    runnable: bool


def usage(pid: int) -> Usage | None:
    """``pid``'s threads' and its descendants'; None where the kernel does not say
    (not Linux, no scheduler statistics, or the process is gone)."""
    waited = ran = 0
    runnable = found = False
    seen: set[int] = set()
    todo = [pid]
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            tasks = list((PROC / str(pid) / "task").iterdir())
        except OSError:  # ended meanwhile
            continue
        for task in tasks:
            with contextlib.suppress(OSError, ValueError, IndexError):
                on_cpu, waiting = (task / "schedstat").read_text().split()[:2]
                ran, waited, found = ran + int(on_cpu), waited + int(waiting), True
                state = (task / "stat").read_text().rpartition(")")[2].split()[0]
                runnable = runnable or state == "R"
            with contextlib.suppress(OSError, ValueError):
                todo.extend(int(child) for child in (task / "children").read_text().split())
    return Usage(waited, ran, runnable) if found else None


def waited_ns(pid: int) -> int | None:
    """Nanoseconds ``pid``'s threads and its descendants' have waited to run, so far."""
    found = usage(pid)
    return None if found is None else found.waited_ns


def starved_for(
    since: tuple[float, Usage | None], now: tuple[float, Usage | None], share: float
) -> float | None:
    """Seconds a tree waited for a CPU between two readings (time, ``usage``) if it was
    starved: it waited ``share`` of the time or more, or it is runnable now and ran less
    than ``share`` of it. None: it was not (or nothing is known)."""
    (then, before), (at, after) = since, now
    if before is None or after is None or at <= then:
        return None
    span = at - then
    waited = (after.waited_ns - before.waited_ns) / 1e9
    ran = (after.ran_ns - before.ran_ns) / 1e9
    if waited >= share * span or (after.runnable and ran < share * span):
        return waited
    return None
