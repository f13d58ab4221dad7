"""A launcher's worker process ends soon after the sweep that started it dies.

joblib's workers (loky) outlive a SIGKILLed sweep: loky ends an idle worker only after its
timeout, minutes later, and its resource trackers live as long as a worker does. A worker that
runs a job therefore watches the sweep's own process, as each job's keeper
(zo_sweep.sweep.guard) does for the training processes. Once the sweep is gone, the worker lets
the jobs it runs record how they ended (their keepers end their scripts at the same time), then
exits; the trackers follow when the last process that talks to them is gone.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from zo_sweep.jobdir.liveness import identify, still_running, sweep_process_to_watch

POLL_SECONDS = 1.0
# Long enough for a keeper to end its script (its grace is 3 s) and the job to write its record.
RECORD_SECONDS = 15.0
EXIT_SWEEP_GONE = 1

_running = 0
_changed = threading.Condition()
_watching: set[int] = set()  # the sweep pids this process watches (one, in practice)


@contextmanager
def ends_with_the_sweep() -> Iterator[None]:
    """Run one job; in a worker of the sweep (not the sweep itself), watch the sweep too."""
    global _running
    _watch(sweep_process_to_watch())
    with _changed:
        _running += 1
    try:
        yield
    finally:
        with _changed:
            _running -= 1
            _changed.notify_all()


def _watch(sweep_pid: int | None) -> None:
    with _changed:
        if sweep_pid is None or sweep_pid in _watching:
            return
        _watching.add(sweep_pid)
    identity = identify(sweep_pid)  # None: gone already, the worker ends once its job recorded
    watcher = threading.Thread(
        target=_end_after, args=(sweep_pid, identity), name="zo_sweep-watch", daemon=True
    )
    watcher.start()


def _end_after(sweep_pid: int, identity: dict[str, Any] | None) -> None:
    """Wait for the sweep's death, then for this worker's jobs to record theirs, then exit."""
    while identity is not None and still_running(sweep_pid, identity):
        threading.Event().wait(POLL_SECONDS)
    with _changed:
        _changed.wait_for(lambda: _running == 0, timeout=RECORD_SECONDS)
    os._exit(EXIT_SWEEP_GONE)  # no clean-up of a pool whose owner is gone
