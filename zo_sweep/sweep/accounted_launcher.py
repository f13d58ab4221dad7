"""The launcher as the grid sweeper hands it its batches, keeping the sweep's account of them.

Each job returns how it ended (zo_sweep.sweep.job_result.JobObjective); this keeps it for the
tally, so that a job whose folder was removed or could not be written is still counted.

Hydra creates a job's folder before the job's own code runs, in whichever process runs it: a
full disk, or a folder the sweep may not write, raises there, and the launcher gives up its
batch. The sweep then ends cleanly instead of with the error alone: that job is failed, with
its reason, no further job starts (they would meet the same disk), and the tally says so.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

from zo_sweep import records
from zo_sweep.sweep import status as sweep_status
from zo_sweep.sweep.outcome import OUTCOME


class AccountedLauncher:
    """Hydra's launcher, whose every batch's returns go to the sweep's account (OUTCOME)."""

    def __init__(self, launcher: Any) -> None:
        self.launcher = launcher
        self.stopped_by: str | None = None  # why no further job starts

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Any:
        if self.stopped_by is not None:
            return []
        try:
            returns = self.launcher.launch(job_overrides, initial_job_idx=initial_job_idx)
        except OSError as err:
            self._stop(err)
            return []
        sweep_status.note_returns(returns, OUTCOME.returned)
        return returns

    def _stop(self, err: OSError) -> None:
        where = str(err.filename or f"the folder of job #{len(OUTCOME.returned)}")
        self.stopped_by = f"cannot create {where}: {err.strerror or err}"
        OUTCOME.returned[os.path.abspath(where)] = records.FAILED
        print(f"error: {self.stopped_by}; the sweep starts no further job", file=sys.stderr)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.launcher, name)
