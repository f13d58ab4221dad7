"""The trainer with one fault, for the tests of a run's ranks: `python -m helpers.faulty_trainer
[trainer args]`, or what each rank runs (`python -m zo_sweep.train.launch --module ...`).

FAULT=<rank>:<step>:<kind> makes rank <rank>, as it starts step <step>, do <kind>: `raise` (a
RuntimeError), `kill` (SIGKILL itself), `sigterm` (SIGTERM its parent, the launcher, as SLURM
or a job's timeout would) or `sigterm-self` (SIGTERM itself: a run of one rank). FAULT_STAMP
names a file that gets the time of the fault.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

from zo_sweep.train import steppers
from zo_sweep.train.cli import main


def with_fault(step_function: Callable, fault: str, stamp: str | None = None) -> Callable:
    """A stepper's `step` that does the fault first, at its rank and step."""
    rank, at_step, kind = fault.split(":")

    def step(self, items, step: int) -> float:
        if step == int(at_step) and os.environ.get("RANK", "0") == rank:
            if stamp:
                Path(stamp).write_text(repr(time.time()))
            if kind == "raise":
                raise RuntimeError(f"injected fault on rank {rank} at step {step}")
            if kind == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            os.kill(os.getppid() if kind == "sigterm" else os.getpid(), signal.SIGTERM)
        return step_function(self, items, step)

    return step


if __name__ == "__main__":
    if os.environ.get("FAULT"):
        for stepper in (steppers.FirstOrderStepper, steppers.ZerothOrderStepper):
            fault, stamp = os.environ["FAULT"], os.environ.get("FAULT_STAMP")
            stepper.step = with_fault(stepper.step, fault, stamp)
    sys.exit(main())
