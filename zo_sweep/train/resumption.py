"""A run's checkpoints, and going on from one: MeZO by its trajectory, first-order by its state.

Both give the training loop the same moments: `earlier` when the run starts (a stopped run to go
on from: no zero-shot evaluation again, metrics.jsonl kept up to its step), `restore` once the
stepper exists (weights, optimizer, best state and the outcome at the checkpointed step),
`save` after a step, and `close` when the loop ends.

MeZO's trajectory (trajectory.py) is a few numbers a step, saved whenever the loop ends, and
rebuilds the weights by replay: a SIGTERM anywhere is safe. On N ranks every rank records the
same steps and rank 0 writes them; a resumed run's ranks each replay them onto their own
shards (the updates of a sharded optimizer touch only its rows). A first-order run writes its
weights in place during a step and, on N ranks, saves them together (checkpoint.py): it is
`stoppable`, SIGTERM being acted on between steps (preemption.py); its checkpoint goes once
the run has no step left to redo.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from zo_sweep import records
from zo_sweep.train import checkpoint
from zo_sweep.train.best_state import BestState
from zo_sweep.train.distributed import Ranks
from zo_sweep.train.settings import TrainSettings
from zo_sweep.train.trajectory import TRAJECTORY_FILE, Trajectory, identity, load_matching, replay


@dataclass
class Restored:
    """Where a stopped run was: its last checkpointed step and its outcome there."""

    step: int
    outcome: dict[str, Any]
    pending_losses: list[float]  # logged as part of the next mean


class Checkpoints(Protocol):
    stoppable: bool
    earlier: Any  # the stopped run's checkpoint this run goes on from, or None

    def restore(self, stepper: Any, best: BestState) -> Restored | None: ...

    def save(self, outcome: dict[str, Any], pending_losses: list[float]) -> None: ...

    def close(self, outcome: dict[str, Any], *, finished: bool) -> None: ...


class TrajectoryCheckpoints:
    """A MeZO run's trajectory.npz: saved every checkpoint_steps and whenever the loop ends."""

    stoppable = False

    def __init__(self, out_dir: Path, config: TrainSettings, ranks: Ranks) -> None:
        self.path, self.config, self.ranks = out_dir / TRAJECTORY_FILE, config, ranks
        earlier = load_matching(out_dir, config)
        if earlier is not None and earlier.progress.get("status", records.OK) != records.OK:
            earlier = None  # a diverged run is not continued
        self.earlier = earlier
        self.trajectory = Trajectory(config=identity(config))

    def restore(self, stepper: Any, best: BestState) -> Restored | None:
        """Record the run's steps in the stepper; rebuild those of the stopped run by replay."""
        if self.earlier is not None:
            self.trajectory = self.earlier
        stepper.trajectory = self.trajectory
        if self.earlier is None:
            return None
        done = self.earlier.steps
        best_step = min(int(self.earlier.progress.get("best_step", 0)), done)
        # The best state is the weights of its step: replay up to it, keep them, go on.
        replay(stepper.optimizer, self.earlier, 0, best_step)
        if best_step > 0:
            best.save(best_step)
        replay(stepper.optimizer, self.earlier, best_step, done)
        return Restored(done, self.earlier.progress, [])

    def save(self, outcome: dict[str, Any], pending_losses: list[float]) -> None:
        self.trajectory.progress = outcome
        if self.ranks.main:  # every rank records the same steps; one writes them
            self.trajectory.save(self.path)

    def close(self, outcome: dict[str, Any], *, finished: bool) -> None:
        self.save(outcome, [])


class StateCheckpoints:
    """A first-order run's checkpoint/ folder: weights, optimizer state, generators, best."""

    stoppable = True

    def __init__(self, out_dir: Path, config: TrainSettings, ranks: Ranks) -> None:
        self.out_dir, self.config, self.ranks = out_dir, config, ranks
        self.earlier = checkpoint.find(out_dir, config, ranks)
        self.parts: tuple[Any, Any, BestState] | None = None

    def restore(self, stepper: Any, best: BestState) -> Restored | None:
        self.parts = (stepper.model, stepper.optimizer, best)
        if self.earlier is None:
            return None
        checkpoint.load(self.earlier, *self.parts, self.ranks)
        return Restored(self.earlier.step, self.earlier.outcome, self.earlier.pending_losses)

    def save(self, outcome: dict[str, Any], pending_losses: list[float]) -> None:
        assert self.parts is not None, "restore() names what is saved"
        progress = {
            "step": outcome["steps_done"],
            "config": identity(self.config),
            "outcome": outcome,
            "pending": pending_losses,
        }
        checkpoint.save(self.out_dir, *self.parts, self.ranks, progress)

    def close(self, outcome: dict[str, Any], *, finished: bool) -> None:
        if finished:
            checkpoint.remove(self.out_dir, self.ranks)


def open_checkpoints(config: TrainSettings, out_dir: Path, ranks: Ranks) -> Checkpoints | None:
    """The run's checkpoints, by its method; None where `checkpoint_steps` is 0."""
    if config.checkpoint_steps == 0:
        return None
    if config.trainer == "zo":
        return TrajectoryCheckpoints(out_dir, config, ranks)
    return StateCheckpoints(out_dir, config, ranks)
