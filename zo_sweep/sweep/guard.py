"""`python guard.py [--watch PID] [--grace S] -- ARGV...`: the keeper of one job's processes.

The job runner starts this guard instead of the script itself. The guard runs ARGV, and when
the script ends (or the guard is told to stop, or the process that runs the job dies) it ends
every process the script left behind, including background children and children that left
the process group with `setsid`:

- it asks Linux to make it the "child subreaper" of everything below it, so an orphaned
  descendant is re-parented to the guard rather than to init and stays findable;
- it asks Linux for SIGTERM when its parent dies (PR_SET_PDEATHSIG), and polls its parent and
  the sweep's own process (`--watch`, the app's pid when the launcher runs jobs in worker
  processes) so that a SIGKILLed sweep leaves no training process behind.

It exits with the script's exit code, or dies of the script's signal, so the job runner reads
the script's end as if it had started it directly.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import signal
import sys
import time
from collections.abc import Sequence

import psutil

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
POLL_SECONDS = 0.1
WATCH_EVERY_POLLS = 5
DEFAULT_GRACE_SECONDS = 3.0
EXIT_NOT_STARTED = 127


class StopRequested(Exception):
    """The guard was signalled (or its parent or the sweep died): end the job now."""


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    parent = os.getppid()
    _linux_prctl(PR_SET_CHILD_SUBREAPER, 1)
    _linux_prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, _raise_stop)
    try:
        script = os.posix_spawnp(args.command[0], args.command, os.environ)
        status = _wait_for(script, parent, args.watch)
    except OSError as err:
        print(f"cannot start {args.command[0]}: {err.strerror}", file=sys.stderr)
        return EXIT_NOT_STARTED
    except StopRequested:
        _end_descendants(args.grace)
        _die_of(signal.SIGTERM)
        return 128 + signal.SIGTERM
    _end_descendants(args.grace)
    return _exit_code(status)


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="guard.py")
    parser.add_argument("--watch", type=int, default=None, help="end the job when PID is gone")
    parser.add_argument("--grace", type=float, default=DEFAULT_GRACE_SECONDS)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.command[:1] == ["--"]:
        args.command = args.command[1:]
    if not args.command:
        parser.error("no command to run")
    return args


def _wait_for(script: int, parent: int, watch: int | None) -> int:
    """Reap children until the script ends; stop if the parent or the watched process dies."""
    polls = 0
    while True:
        status = _reap(script)
        if status is not None:
            return status
        polls += 1
        if os.getppid() != parent:
            raise StopRequested  # the job runner is gone (SIGKILL), PDEATHSIG came too late
        if watch is not None and polls % WATCH_EVERY_POLLS == 0 and not psutil.pid_exists(watch):
            raise StopRequested  # the sweep's own process is gone
        time.sleep(POLL_SECONDS)


def _reap(script: int) -> int | None:
    """Collect every exited child (orphans re-parented to us too); the script's status if it ended."""
    found = None
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return found
        if pid == 0:
            return found
        if pid == script:
            found = status


def _end_descendants(grace: float) -> None:
    """SIGTERM everything below the guard, wait up to `grace` seconds, then SIGKILL the rest."""
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)  # a second signal must not cut the cleanup short
    processes = _descendants()
    for process in processes:
        with contextlib.suppress(psutil.Error):
            process.terminate()
    _, alive = psutil.wait_procs(processes, timeout=grace) if processes else ([], [])
    for process in alive + _descendants():
        with contextlib.suppress(psutil.Error):
            process.kill()
    with contextlib.suppress(psutil.Error):
        psutil.wait_procs(_descendants(), timeout=grace)
    _reap(-1)


def _descendants() -> list[psutil.Process]:
    with contextlib.suppress(psutil.Error):
        return psutil.Process().children(recursive=True)
    return []


def _exit_code(status: int) -> int:
    if os.WIFSIGNALED(status):
        _die_of(os.WTERMSIG(status))
        return 128 + os.WTERMSIG(status)
    return os.waitstatus_to_exitcode(status)


def _die_of(signum: int) -> None:
    """End with the script's signal, so the job runner sees the same return code."""
    with contextlib.suppress(OSError, ValueError):  # SIGKILL has no handler to reset
        signal.signal(signum, signal.SIG_DFL)
    sys.stdout.flush()
    os.kill(os.getpid(), signum)


def _raise_stop(signum: int, frame: object) -> None:
    raise StopRequested


def _linux_prctl(option: int, value: int) -> None:
    """prctl(2) where Linux offers it; elsewhere the polling above is the only watch."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)


if __name__ == "__main__":
    sys.exit(main())
