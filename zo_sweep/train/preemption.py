"""SIGTERM: a SLURM preemption or time limit, a job's timeout, a sweep being stopped.

Outside a checkpointed stretch of training, SIGTERM raises `Terminated` at once, like Ctrl-C,
so that the run's cleanup happens (a MeZO run saves its trajectory on the way out). A
first-order run writes its weights in place inside each step, and on N ranks every rank must
reach the same point for a collective checkpoint; so inside `deferred()` the signal is only
noted, the step in progress ends, the ranks agree to stop (`stop_agreed`: one all-reduce of a
flag), save their checkpoint together and only then raise `Terminated`. A second SIGTERM (the
job's guard and torchrun's agent may both send one) changes nothing.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

from zo_sweep.train.distributed import Ranks


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that the run's cleanup (the best-state file) happens."""


class Sigterm:
    """Whether SIGTERM came, and where it may interrupt the run."""

    def __init__(self) -> None:
        self.received = False
        self.deferring = False

    def handle(self, signum: int, frame: object) -> None:
        first = not self.received
        self.received = True
        if first and not self.deferring:
            raise Terminated

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        """Inside, SIGTERM is noted, to be acted on at the next `stop_agreed`."""
        self.deferring = True
        try:
            yield
        finally:
            self.deferring = False

    def stop_agreed(self, ranks: Ranks) -> bool:
        """Whether SIGTERM reached any rank: the same answer on every rank, at the same step."""
        return ranks.any(self.received)

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        self.received = self.deferring = False
        previous = signal.signal(signal.SIGTERM, self.handle)
        try:
            yield
        finally:
            signal.signal(signal.SIGTERM, previous)


# The process's one SIGTERM handler: installed by the trainer's entry point (cli.main).
SIGTERM = Sigterm()
