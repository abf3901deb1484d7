"""A starved scan is not a stuck one (children/runqueue.py, serve/scanprocess.py).

A scan process runs at SCHED_IDLE: while other work keeps the CPUs busy it
gets next to no CPU and says nothing. The watchdog used to kill it after
``--scan-timeout`` of silence, so on a busy machine a first scan of a big
library could be killed again and again and never finish. Here a process is
starved for real: pinned to one CPU at SCHED_IDLE beside a busy loop pinned
to the same CPU at normal priority.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mediasrv.children import child_env
from mediasrv.children.runqueue import Usage, starved_for, usage, waited_ns
from mediasrv.serve.leader import LeaderOptions
from mediasrv.server.keys import COORDINATOR

from .support import make_tree, until, worker_command

pytestmark = [
    pytest.mark.process,
    pytest.mark.skipif(not Path("/proc/self/task").is_dir() or waited_ns(os.getpid()) is None,
                       reason="the kernel gives no scheduler statistics"),
]

CPU = min(os.sched_getaffinity(0))
# It says when it is on that CPU: a test that started the scan before the hog was up
# (its start slowed by a busy machine) saw the scan done in time, never starved.
HOG = (f"import os; os.sched_setaffinity(0, {{{CPU}}}); print('spinning', flush=True)\n"
       "while True: pass")
# Pinned beside the hog at idle priority; a child that is starved as well, under a
# parent that only sleeps: the parent's count is its whole tree's.
STARVED = f"""
import os, sys, time
os.sched_setaffinity(0, {{{CPU}}})
os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
if sys.argv[1] == "parent":
    child = os.fork()
    if child:
        print(child, flush=True)
        time.sleep(600)
        raise SystemExit
while True:
    pass
"""


PINNED_WORKER = f"""
os.sched_setaffinity(0, {{{CPU}}})
scan = job.run_scan


def run_scan(*args, **kwargs):
    spent = time.process_time() + 0.5
    while time.process_time() < spent:
        pass
    return scan(*args, **kwargs)


job.run_scan = run_scan
"""


def python(code: str, *args: str) -> subprocess.Popen[bytes]:
    """``code`` in a process group of its own (its forked children go with it)."""
    return subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE,
                            env=child_env(), start_new_session=True)


def spinning() -> subprocess.Popen[bytes]:
    """The hog, once it spins on the CPU."""
    proc = python(HOG)
    assert proc.stdout is not None and proc.stdout.readline() == b"spinning\n"
    return proc


def end(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


@pytest.fixture
def hog() -> Iterator[subprocess.Popen[bytes]]:
    """A busy loop at normal priority on the one CPU the starved processes are pinned to."""
    proc = spinning()
    try:
        yield proc
    finally:
        end(proc)


def test_a_process_that_waits_for_a_cpu_counts_up_and_a_sleeping_one_does_not(
    hog: subprocess.Popen[bytes],
) -> None:
    # Read once it sleeps: its start-up waits for a CPU like any process's on a busy
    # machine (CI counted 190 ms of it after the first reading).
    sleeper = python("import time; print('sleeping', flush=True); time.sleep(600)")
    starved = python(STARVED, "parent")
    try:
        assert starved.stdout is not None and sleeper.stdout is not None
        assert sleeper.stdout.readline() == b"sleeping\n"
        child = int(starved.stdout.readline())
        before = waited_ns(sleeper.pid)
        assert before is not None
        # The sleeping parent's own threads wait for nothing; its starved child does.
        # (A thread's wait is counted when it next gets a CPU: wait for that.)
        until(lambda: (waited_ns(child) or 0) > 500_000_000,
              "the starved child to have waited half a second for a CPU")
        tree, own = usage(starved.pid), usage(child)
        assert tree is not None and own is not None
        assert tree.waited_ns >= own.waited_ns and tree.runnable and own.runnable
        assert (waited_ns(sleeper.pid) or 0) - before < 50_000_000
        sleeping = usage(sleeper.pid)
        assert sleeping is not None and not sleeping.runnable
    finally:
        end(sleeper)
        end(starved)


def test_a_process_that_is_gone_says_nothing() -> None:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, check=True)
    assert waited_ns(int(proc.stdout)) is None


async def test_a_starved_scan_is_given_time_not_killed(  # type: ignore[no-untyped-def]
    started, settings_for, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The scan process pinned beside a busy loop: silent for several scan timeouts, and
    then done once the loop ends, by the same process; not killed as stuck."""
    root = make_tree(tmp_path / "lib", {"a/one.jpg": "x"})
    # Each scan first needs half a second of CPU, which a starved process does not get.
    pinned = worker_command(tmp_path, PINNED_WORKER)
    client = await started(settings_for(root, scan_timeout=120.0),
                           LeaderOptions(scan_command=pinned, retry_delays=()))
    coordinator = client.app[COORDINATOR]
    coordinator.scan_timeout = 1.0
    scanner = coordinator.process
    assert scanner is not None
    make_tree(root, {"b/two.jpg": "y"})
    busy = spinning()
    try:
        start = waited_ns(scanner.pid) or 0
        answer = asyncio.create_task(client.post("/api/rescan?wait=1"))
        # Three scan timeouts' worth of waiting for the CPU, unless it is over already.
        await until(lambda: answer.done() or (waited_ns(scanner.pid) or 0) - start > 3e9,
                    "the scan process to have waited 3 s for a CPU", timeout=60)
    finally:
        end(busy)
    body = await (await asyncio.wait_for(answer, 60)).json()
    assert (body["status"], body["added"], body.get("error")) == ("published", 1, None)
    assert coordinator.process is not None and coordinator.process.pid == scanner.pid
    assert "waited" in caplog.text and "for a CPU" in caplog.text  # it was given more time


def test_starved_runnable_or_waiting_and_stuck_neither() -> None:
    """The rule on readings (time, usage): a quarter of the period waited, or runnable
    now with hardly any CPU (its wait not counted yet), is starved."""
    at = (0.0, Usage(waited_ns=0, ran_ns=0, runnable=False))

    def after(waited: float, ran: float, runnable: bool) -> float | None:
        return starved_for(at, (10.0, Usage(int(waited * 1e9), int(ran * 1e9), runnable)), 0.25)

    assert after(waited=9.0, ran=0.1, runnable=True) == 9.0  # waiting its turn
    assert after(waited=3.0, ran=0.0, runnable=False) == 3.0  # waited, now asleep
    assert after(waited=0.0, ran=0.0, runnable=True) == 0.0  # waiting, not counted yet
    assert after(waited=0.0, ran=0.0, runnable=False) is None  # stopped or blocked
    assert after(waited=0.1, ran=9.9, runnable=True) is None  # running in a loop
    assert starved_for(at, (10.0, None), 0.25) is None  # nothing known
