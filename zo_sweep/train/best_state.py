"""Keeping the trainable state of the best dev step, to test it at the end.

Adapters (LoRA) are small and kept in memory. Full-parameter states are as large as the model,
so they go to a file in the run's directory instead of doubling memory, and the file is removed
when the run ends. Nothing is stored while the zero-shot state is still the best.
"""

from __future__ import annotations

from pathlib import Path

import torch

STATE_FILE = "best_state.pt"


class BestState:
    def __init__(self, model: torch.nn.Module, directory: Path, *, in_memory: bool) -> None:
        self.model = model
        self.path = directory / STATE_FILE
        self.in_memory = in_memory
        self.saved_step: int | None = None
        self._memory: dict[str, torch.Tensor] = {}

    def _trainable(self) -> dict[str, torch.Tensor]:
        return {name: p for name, p in self.model.named_parameters() if p.requires_grad}

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

    def discard(self) -> None:
        self._memory = {}
        self.path.unlink(missing_ok=True)
