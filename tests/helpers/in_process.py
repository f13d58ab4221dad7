"""Running `python -m zo_sweep ARGS` inside the test's own process, through the app's entry point
(zo_sweep.sweep.app.main), as the command line would: about a second a run instead of the three
a new interpreter takes. What a run sets for the process (the environment, the sweep's outcome,
Hydra's logging) is put back after it, so that runs do not see each other.
"""

from __future__ import annotations

import io
import logging
import os
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from zo_sweep.sweep import app
from zo_sweep.sweep.outcome import OUTCOME, SweepOutcome

# What the app sets for the jobs it starts, or reads as the user's wish (a full traceback).
PROCESS_VARIABLES = ("HYDRA_FULL_ERROR", "ZO_SWEEP_PID", "ZO_SWEEP_HOST")


@dataclass(frozen=True)
class AppRun:
    exit_code: int | None  # None: the app raised instead of exiting
    stdout: str
    stderr: str  # with the traceback of what it raised, as the interpreter would print it

    @property
    def stderr_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


def run_app(*arguments: str, environ: dict[str, str] | None = None) -> AppRun:
    """`python -m zo_sweep *arguments`, here; what it printed and how it ended."""
    with _isolated(environ or {}), _captured() as (out, err):
        sys.argv = ["zo_sweep", *arguments]
        try:
            app.main()
            code: int | None = 0
        except SystemExit as ended:
            code = ended.code if isinstance(ended.code, int) else 1
        except Exception:  # noqa: BLE001 - what a user would see as a traceback
            traceback.print_exc()
            code = None
    return AppRun(code, out.getvalue(), err.getvalue())


@contextmanager
def _isolated(environ: dict[str, str]) -> Iterator[None]:
    saved_env = {key: os.environ.get(key) for key in (*PROCESS_VARIABLES, *environ)}
    saved_argv, saved_outcome = sys.argv, dict(OUTCOME.__dict__)
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    saved_raise = logging.raiseExceptions
    for key in PROCESS_VARIABLES:
        os.environ.pop(key, None)
    os.environ.update(environ)
    OUTCOME.__dict__.update(SweepOutcome().__dict__)
    try:
        yield
    finally:
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        sys.argv = saved_argv
        OUTCOME.__dict__.update(saved_outcome)
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        logging.raiseExceptions = saved_raise


@contextmanager
def _captured() -> Iterator[tuple[io.StringIO, io.StringIO]]:
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        yield out, err
    finally:
        sys.stdout, sys.stderr = saved
