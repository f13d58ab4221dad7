"""Keeping the trainable state of the best dev step, to test it at the end.

Adapters (LoRA) are small and kept in memory. Full-parameter states are as large as the model,
so they go to a file in the run's directory instead of doubling memory, and the file is removed
when the run ends. Nothing is stored while the zero-shot state is still the best. On N ranks
each rank keeps its own shards (`best_state.rank<r>.pt` on disk).

A first-order checkpoint carries the best state (`export`, `adopt`): the file is linked, not
copied, into the checkpoint, since a best state is never written twice to the same file.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import torch

from zo_sweep.train.distributed import Ranks
from zo_sweep.train.sharding import local

STATE_FILE = "best_state.pt"


def state_file(ranks: Ranks) -> str:
    return STATE_FILE if ranks.world == 1 else f"best_state.rank{ranks.rank}.pt"


class BestState:
    def __init__(
        self,
        model: torch.nn.Module,
        directory: Path,
        *,
        in_memory: bool,
        ranks: Ranks | None = None,
    ) -> None:
        self.model = model
        self.name = state_file(ranks or Ranks())
        self.path = directory / self.name
        self.in_memory = in_memory
        self.saved_step: int | None = None
        self._memory: dict[str, torch.Tensor] = {}

    def _trainable(self) -> dict[str, torch.Tensor]:
        """This rank's part of every trainable parameter, sharing the parameter's storage."""
        return {name: local(p) for name, p in self.model.named_parameters() if p.requires_grad}

    @torch.no_grad()
    def save(self, step: int) -> None:
        if self.in_memory:
            self._memory = {name: p.detach().clone() for name, p in self._trainable().items()}
        else:
            # No clone: on the CPU torch.save writes the live tensors, so memory never doubles.
            state = {name: p.detach().cpu() for name, p in self._trainable().items()}
            tmp = self.path.with_suffix(".tmp")
            torch.save(state, tmp)
            tmp.replace(self.path)
        self.saved_step = step

    @torch.no_grad()
    def restore(self) -> None:
        if self.saved_step is None:
            raise RuntimeError("no best state was saved")
        state = self._memory
        if not self.in_memory:
            # Memory-mapped: tensors are read from the file one by one as they are copied.
            state = torch.load(self.path, weights_only=True, mmap=True)
        for name, param in self._trainable().items():
            param.copy_(state[name].to(param.device))

    def export(self, directory: Path) -> None:
        """Put the saved state (if any) into a checkpoint's `directory`."""
        if self.saved_step is None:
            return
        target = directory / self.name
        if self.in_memory:
            torch.save({name: p.cpu() for name, p in self._memory.items()}, target)
        else:
            _link_or_copy(self.path, target)

    def adopt(self, directory: Path, step: int) -> None:
        """Take the state of `step` from a checkpoint's `directory`, as if saved here."""
        source = directory / self.name
        if self.in_memory:
            state = torch.load(source, weights_only=True)
            self._memory = {name: p.to(self._trainable()[name].device) for name, p in state.items()}
        else:
            _link_or_copy(source, self.path)
        self.saved_step = step

    def discard(self) -> None:
        self._memory = {}
        self.path.unlink(missing_ok=True)


def _link_or_copy(source: Path, target: Path) -> None:
    """`target` as a second name of `source`: save() replaces its file, never rewrites it."""
    target.unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:  # a file system without hard links
        shutil.copy2(source, target)
