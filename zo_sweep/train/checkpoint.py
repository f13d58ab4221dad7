"""A first-order run's checkpoint: all a stopped run needs to go on as if it never stopped.

    checkpoint/                 in the run's directory (records.CHECKPOINT_DIR)
        .metadata, *.distcp     the trainable weights and the optimizer's state, written by
                                torch.distributed.checkpoint, each rank its own shards
        rng.rank<r>.pt          each rank's random generators (dropout draws)
        best_state*.pt          each rank's part of the best dev state, where one was kept
        progress.json           the step, the settings, the outcome so far and the losses not
                                yet logged; written last: a folder without it is unfinished

The learning-rate schedule is a function of the step, and the batches a seeded stream that a
resumed run skips through: the step stands for the scheduler and the data position. The
per-rank files tie a checkpoint to its number of ranks.

A new checkpoint is written beside the current one (checkpoint.new/), swapped in by two
renames, and the old one removed: a job keeps one, and a run stopped between the renames
finds the previous one whole under checkpoint.old/.
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.distributed.checkpoint as dcp
from torch.distributed.checkpoint.state_dict import (
    StateDictOptions,
    get_state_dict,
    set_state_dict,
)

from zo_sweep import records
from zo_sweep.train.best_state import BestState
from zo_sweep.train.distributed import Ranks
from zo_sweep.train.settings import TrainSettings
from zo_sweep.train.trajectory import identity

FORMAT_VERSION = 1
PROGRESS_FILE = "progress.json"
NEW_SUFFIX, OLD_SUFFIX = ".new", ".old"
# Frozen weights (a LoRA run's base model) are the model's own files: not saved again.
STATE_OPTIONS = StateDictOptions(ignore_frozen_params=True, strict=False)


@dataclass
class Saved:
    """A complete checkpoint a run can go on from."""

    path: Path
    step: int
    outcome: dict[str, Any]
    pending_losses: list[float] = field(default_factory=list)


def save(
    directory: Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    best: BestState,
    ranks: Ranks,
    progress: dict[str, Any],
) -> None:
    """Checkpoint the run after step progress['step']; every rank calls it at the same step."""
    current = directory / records.CHECKPOINT_DIR
    new, old = _beside(current, NEW_SUFFIX), _beside(current, OLD_SUFFIX)
    if ranks.main:
        shutil.rmtree(new, ignore_errors=True)
        new.mkdir(parents=True)
    ranks.barrier()
    model_state, optimizer_state = get_state_dict(model, optimizer, options=STATE_OPTIONS)
    dcp.save(
        {"model": model_state, "optimizer": optimizer_state},
        checkpoint_id=new,
        no_dist=not ranks.grouped,
    )
    torch.save(_rng_state(), new / f"rng.rank{ranks.rank}.pt")
    best.export(new)
    ranks.barrier()
    if ranks.main:
        header = {"format": FORMAT_VERSION, "world_size": ranks.world, **progress}
        records.write_json_atomic(new / PROGRESS_FILE, header)
        shutil.rmtree(old, ignore_errors=True)
        if current.exists():
            current.rename(old)
        new.rename(current)
        shutil.rmtree(old, ignore_errors=True)
    ranks.barrier()


def find(directory: Path, config: TrainSettings, ranks: Ranks) -> Saved | None:
    """The checkpoint in `directory` that a run with `config` on these ranks goes on from."""
    current = directory / records.CHECKPOINT_DIR
    for path in (current, _beside(current, OLD_SUFFIX)):
        try:
            header = json.loads((path / PROGRESS_FILE).read_text())
        except (OSError, ValueError):
            continue  # none, or unfinished
        problem = _mismatch(header, config, ranks)
        if problem:
            if ranks.main:
                print(f"warning: not resuming from {path}: {problem}", file=sys.stderr)
            return None
        return Saved(path, int(header["step"]), header["outcome"], header.get("pending", []))
    return None


def load(
    saved: Saved,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    best: BestState,
    ranks: Ranks,
) -> None:
    """Put the checkpoint's weights, optimizer state, generators and best state in place."""
    model_state, optimizer_state = get_state_dict(model, optimizer, options=STATE_OPTIONS)
    state = {"model": model_state, "optimizer": optimizer_state}
    dcp.load(state, checkpoint_id=saved.path, no_dist=not ranks.grouped)
    set_state_dict(
        model,
        optimizer,
        model_state_dict=state["model"],
        optim_state_dict=state["optimizer"],
        options=STATE_OPTIONS,
    )
    _set_rng_state(torch.load(saved.path / f"rng.rank{ranks.rank}.pt", weights_only=True))
    best_step = int(saved.outcome.get("best_step", 0))
    if (saved.path / best.name).exists():
        best.adopt(saved.path, best_step)


def remove(directory: Path, ranks: Ranks) -> None:
    """Drop the job's checkpoint: the run it was for has ended."""
    ranks.barrier()
    if ranks.main:
        current = directory / records.CHECKPOINT_DIR
        for path in (current, _beside(current, NEW_SUFFIX), _beside(current, OLD_SUFFIX)):
            shutil.rmtree(path, ignore_errors=True)


def _mismatch(header: dict[str, Any], config: TrainSettings, ranks: Ranks) -> str | None:
    if header.get("format") != FORMAT_VERSION:
        return f"checkpoint format {header.get('format')} is not known"
    if header.get("world_size") != ranks.world:
        return f"written by {header.get('world_size')} ranks, this run has {ranks.world}"
    if header.get("config") != identity(config):
        return "recorded with other settings"
    if header.get("outcome", {}).get("status", records.OK) != records.OK:
        return "the run it was written for diverged"
    return None


def _beside(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def _rng_state() -> dict[str, torch.Tensor]:
    state = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def _set_rng_state(state: dict[str, torch.Tensor]) -> None:
    torch.set_rng_state(state["cpu"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])
