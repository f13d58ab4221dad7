"""A closed pipe is no error: `python -m zo_sweep.summary | head` ends quietly, as Unix tools do.

When the reader of stdout goes away (`head`, `less` quit early), the next write raises
BrokenPipeError; and Python, which ignores SIGPIPE, would print a traceback, or its own complaint
when it flushes stdout at exit. Every entry point's `main` is wrapped in `quiet_on_closed_pipe`:
it sends what is left for stdout to /dev/null and exits with 141, the status a shell reports for
a Unix tool that a closed pipe ended (`yes | head`; 128 + SIGPIPE).
"""

from __future__ import annotations

import functools
import os
import signal
import sys
from collections.abc import Callable
from typing import NoReturn, ParamSpec, TypeVar

EXIT_CLOSED_PIPE = 128 + int(getattr(signal, "SIGPIPE", 13))

Params = ParamSpec("Params")
Result = TypeVar("Result")


def quiet_on_closed_pipe(main: Callable[Params, Result]) -> Callable[Params, Result]:
    """`main`, ending quietly with EXIT_CLOSED_PIPE when its reader closes stdout."""

    @functools.wraps(main)
    def guarded(*args: Params.args, **kwargs: Params.kwargs) -> Result:
        try:
            return main(*args, **kwargs)
        except BrokenPipeError:
            exit_quietly()
        finally:
            # What is still buffered would fail at exit, after main: flush it while we listen.
            try:
                sys.stdout.flush()
            except BrokenPipeError:
                exit_quietly()
            except (OSError, ValueError, AttributeError):
                pass  # stdout closed or replaced: nothing of ours is left to say

    return guarded


def silence_stdout() -> None:
    """Point stdout at /dev/null, so that nothing written later fails (a sweep goes on)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass  # no file descriptor behind stdout: its writes are no one's concern


def exit_quietly() -> NoReturn:
    silence_stdout()
    sys.exit(EXIT_CLOSED_PIPE)
