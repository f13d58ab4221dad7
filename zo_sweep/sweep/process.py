"""Run the training script as a process group of its own, and end the whole group when needed.

The script starts in a new session under a small keeper (zo_sweep.sweep.guard), so the
terminal's Ctrl-C does not reach it directly and the job decides how it ends: on a timeout,
Ctrl-C or SIGTERM the job signals the whole group (the keeper, the bash script and the Python
trainer it started), waits a grace period, then kills what is left. The keeper ends what the
script leaves behind when it exits (background and `setsid` children), and ends the job when
the process running it, or the sweep itself, dies. Nothing the job started outlives it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

# Time the trainer gets to exit cleanly after SIGTERM before SIGKILL. The keeper uses it for
# the script's processes; the job waits longer for the keeper, which cleans up before it exits.
GRACE_SECONDS = 5.0
# A first-order trainer ends its step (and a dev evaluation that is due) and saves its
# checkpoint on SIGTERM: a large model's sharded state takes minutes to write. It exits as soon
# as it has saved; only a hung one waits this long for SIGKILL.
CHECKPOINT_GRACE_SECONDS = 300.0
KEEPER_MARGIN_SECONDS = 3.0
GUARD_SCRIPT = Path(__file__).with_name("guard.py")
# Thread-pool sizes a launcher may set for its workers (joblib does); a job carries them.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


@dataclass(frozen=True)
class ProcessOutcome:
    exit_code: int | None  # None when the job ended it (timeout)
    timed_out: bool


def launcher_environment() -> dict[str, str]:
    """What a script inherits from the sweep's process and must say in its command.sh.

    The sweep's own interpreter comes first on PATH and is PYTHON, so a script's `python`
    is the one the sweep runs on; the thread-pool sizes the launcher set go along.
    """
    interpreter_dir = os.path.dirname(sys.executable)
    path = os.environ.get("PATH", "")
    if path.split(os.pathsep)[0] != interpreter_dir:
        path = os.pathsep.join(part for part in (interpreter_dir, path) if part)
    return {"PATH": path, "PYTHON": sys.executable, **thread_environment()}


def thread_environment() -> dict[str, str]:
    """The thread-pool sizes the launcher set for its workers (joblib does)."""
    return {name: os.environ[name] for name in THREAD_VARIABLES if name in os.environ}


def run_process_group(
    argv: Sequence[str],
    env: Mapping[str, str],
    cwd: Path,
    stdout_path: Path | None,
    stderr_path: Path | None,
    timeout_seconds: float | None,
    watch_pid: int | None = None,
    grace_seconds: float = GRACE_SECONDS,
) -> ProcessOutcome:
    """Run argv with stdout/stderr streamed to files (None: this process's own); end its group
    on timeout or interrupt, SIGKILL `grace_seconds` after SIGTERM.

    KeyboardInterrupt (Ctrl-C, or SIGTERM turned into one by `sigterm_as_interrupt`) ends the
    group and propagates, so the caller can record the job as interrupted. `watch_pid`: a
    process (the sweep's own) whose death ends the job.
    """
    with _output(stdout_path) as out, _output(stderr_path) as err:
        process = subprocess.Popen(
            kept_argv(argv, watch_pid, grace_seconds),
            env=dict(env),
            cwd=cwd,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
        try:
            exit_code = process.wait(timeout=timeout_seconds)
        except subprocess.TimeoutExpired:
            end_process_group(process, grace_seconds)
            return ProcessOutcome(None, timed_out=True)
        except BaseException:
            end_process_group(process, grace_seconds)
            raise
        # The keeper has ended the script's leftovers; whatever still holds the group goes too.
        _signal_group(process.pid, signal.SIGKILL)
        return ProcessOutcome(exit_code, timed_out=False)


def kept_argv(
    argv: Sequence[str], watch_pid: int | None = None, grace_seconds: float = GRACE_SECONDS
) -> list[str]:
    """argv run under the keeper, which ends whatever the script leaves behind."""
    watch = ["--watch", str(watch_pid)] if watch_pid is not None else []
    # Run by its file, so the keeper starts whatever folder the job runs in (method.cwd).
    keeper = [sys.executable, str(GUARD_SCRIPT), "--grace", str(grace_seconds)]
    return [*keeper, *watch, "--", *argv]


@contextlib.contextmanager
def _output(path: Path | None) -> Iterator[Any]:
    """A log file opened for the script, or None: the script writes to this process's own."""
    if path is None:
        yield None
        return
    with open(path, "wb") as handle:
        yield handle


def end_process_group(process: subprocess.Popen, grace_seconds: float = GRACE_SECONDS) -> None:
    """SIGTERM the process's group, then SIGKILL it if it is still there after the grace period."""
    _signal_group(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace_seconds + KEEPER_MARGIN_SECONDS)
    # The leader may have exited while a child of it lingers; the group id outlives the leader.
    _signal_group(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace_seconds)


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises KeyboardInterrupt, so it takes Ctrl-C's cleanup path.

    Only the main thread can install signal handlers; elsewhere the block changes nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
