"""A MeZO run's whole trajectory, small enough to checkpoint often and to stand for its model.

Every change MeZO makes to the weights is an update `theta <- theta + c z(seed) - s theta` on
the optimizer's grid (`ZerothOrderSGD.apply_update`), and a step's updates follow from three
numbers: its noise seed, its projected gradient(s) and its learning rate
(`ZerothOrderSGD.step_updates`). A run of 20,000 steps is therefore a file of a few hundred KB
(`trajectory.npz` in the run's directory), and the base weights plus that file rebuild the
weights of any step, bit for bit, by replaying the updates: noise draws only, no forward pass.
The perturbations need no replay: on the grid, +eps z, -2 eps z, +eps z come back exactly.

The trainer saves the trajectory every `checkpoint_steps` steps and when it is stopped
(SIGTERM: a SLURM preemption or time limit, a job timeout); a run started in a directory that
holds a matching trajectory goes on from its last step instead of step 0.

    python -m zo_sweep.train.trajectory JOB_DIR OUT_DIR   # the run's final model, saved
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from zo_sweep.closed_pipe import quiet_on_closed_pipe
from zo_sweep.records import TRAJECTORY_FILE
from zo_sweep.train.settings import TrainSettings

if TYPE_CHECKING:
    from zo_sweep.train.mezo import ZerothOrderSGD

FORMAT_VERSION = 1
# Settings that change what or how a run logs, not the weights it reaches: a run may go on
# from a trajectory recorded under other values of these.
NOT_IDENTITY = (
    "output_dir",
    "device",
    "model_name",
    "log_steps",
    "eval_steps",
    "eval_bs",
    "checkpoint_steps",
    "tracker",
    "tracker_dir",
    "tracker_group",
    "tracker_run_name",
)


def identity(config: TrainSettings) -> dict[str, Any]:
    """The settings a trajectory is only valid for (the schema's fields)."""
    return {
        spec.name: getattr(config, spec.name)
        for spec in fields(TrainSettings)
        if "env" in spec.metadata and spec.name not in NOT_IDENTITY
    }


@dataclass
class Trajectory:
    """The steps of one run: step i used noise seed seeds[i], gradients grads[i], rate lrs[i]."""

    config: dict[str, Any]
    seeds: list[int] = field(default_factory=list)
    grads: list[tuple[float, ...]] = field(default_factory=list)
    lrs: list[float] = field(default_factory=list)
    progress: dict[str, Any] = field(default_factory=dict)  # the run's outcome at the last step

    @property
    def steps(self) -> int:
        return len(self.seeds)

    def record(self, seed: int, grads: Sequence[float], lr: float) -> None:
        self.seeds.append(int(seed))
        self.grads.append(tuple(float(grad) for grad in grads))
        self.lrs.append(float(lr))

    def matches(self, config: TrainSettings) -> bool:
        return self.config == identity(config)

    def save(self, path: Path) -> None:
        """Write atomically: a run stopped mid-write keeps its previous checkpoint."""
        header = {"format": FORMAT_VERSION, "config": self.config, "progress": self.progress}
        # A signal may land between a step's appends: keep only the steps recorded whole.
        steps = min(len(self.seeds), len(self.grads), len(self.lrs))
        del self.seeds[steps:], self.grads[steps:], self.lrs[steps:]
        width = max((len(grads) for grads in self.grads), default=1)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                np.savez_compressed(
                    handle,
                    header=np.array(json.dumps(header)),
                    seeds=np.array(self.seeds, dtype=np.int64),
                    grads=np.array(self.grads, dtype=np.float64).reshape(-1, width),
                    lrs=np.array(self.lrs, dtype=np.float64),
                )
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path) -> Trajectory:
        with np.load(path, allow_pickle=False) as stored:
            header = json.loads(str(stored["header"]))
            if header.get("format") != FORMAT_VERSION:
                raise ValueError(f"{path}: trajectory format {header.get('format')} is not known")
            return cls(
                config=header["config"],
                seeds=[int(seed) for seed in stored["seeds"]],
                grads=[tuple(float(g) for g in row) for row in stored["grads"]],
                lrs=[float(lr) for lr in stored["lrs"]],
                progress=header.get("progress", {}),
            )


def load_matching(directory: Path, config: TrainSettings) -> Trajectory | None:
    """The trajectory a run in `directory` with `config` can go on from, if there is one."""
    path = directory / TRAJECTORY_FILE
    if not path.exists():
        return None
    try:
        trajectory = Trajectory.load(path)
    except (OSError, ValueError, KeyError) as err:
        print(f"warning: not resuming from {path}: {err}", file=sys.stderr)
        return None
    if not trajectory.matches(config):
        print(f"warning: not resuming from {path}: recorded with other settings", file=sys.stderr)
        return None
    return trajectory


def replay(optimizer: ZerothOrderSGD, trajectory: Trajectory, start: int, stop: int) -> None:
    """Apply steps start+1 .. stop of the trajectory to the optimizer's parameters."""
    for index in range(start, stop):
        replay_step(
            optimizer, trajectory.seeds[index], trajectory.grads[index], trajectory.lrs[index]
        )


def replay_step(optimizer: ZerothOrderSGD, seed: int, grads: Sequence[float], lr: float) -> None:
    """One step's updates again; its perturbations need no replay (they restore exactly)."""
    for update in optimizer.step_updates(seed, grads, lr):
        optimizer.apply_update(update.seed, update.coefficient, update.shrink)


def rebuild(job_dir: Path, out_dir: Path) -> int:
    """Load the run's base model, replay its trajectory, save the model; returns the step."""
    import torch

    from zo_sweep.train.mezo import ZerothOrderSGD
    from zo_sweep.train.model import load_run_model, pick_device, trainable_parameters

    trajectory = Trajectory.load(job_dir / TRAJECTORY_FILE)
    known = {spec.name for spec in fields(TrainSettings) if "env" in spec.metadata}
    config = TrainSettings(**{k: v for k, v in trajectory.config.items() if k in known})
    # The same order of seeded draws as the run itself (pipeline.train): LoRA's initial A.
    torch.manual_seed(config.seed)
    model, tokenizer = load_run_model(config, pick_device(config.device))
    optimizer = ZerothOrderSGD(
        trainable_parameters(model),
        lr=config.lr,
        eps=config.eps,
        weight_decay=config.wd,
        num_perturbations=config.n_perturb,
    )
    replay(optimizer, trajectory, 0, trajectory.steps)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return trajectory.steps


@quiet_on_closed_pipe
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m zo_sweep.train.trajectory",
        description="Rebuild a MeZO run's model from its base weights and trajectory.npz.",
    )
    parser.add_argument("job_dir", type=Path, help="the run's directory (holds trajectory.npz)")
    parser.add_argument("out_dir", type=Path, help="where the model is saved (save_pretrained)")
    args = parser.parse_args(argv)
    if not (args.job_dir / TRAJECTORY_FILE).exists():
        print(f"error: {args.job_dir} holds no {TRAJECTORY_FILE}", file=sys.stderr)
        return 2
    steps = rebuild(args.job_dir, args.out_dir)
    print(f"{args.out_dir}: the model after step {steps}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
