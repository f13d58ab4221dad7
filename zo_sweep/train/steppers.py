"""One training step of each method, behind one interface: `step(batch, step) -> loss`.

Zeroth-order (MeZO) steps run every forward under inference_mode; first-order steps back-
propagate through micro-batches (gradient accumulation) and update with AdamW or SGD.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

import torch

from zo_sweep.train.model import trainable_parameters
from zo_sweep.train.scoring import Encoded, collate, training_loss
from zo_sweep.train.settings import TrainSettings
from zo_sweep.train.trajectory import Trajectory
from zo_sweep.train.zo_weights import make_zo_optimizer


class Stepper(Protocol):
    def step(self, items: Sequence[Encoded], step: int) -> float: ...

    def set_lr(self, lr: float) -> None: ...


class ZerothOrderStepper:
    def __init__(self, model, config: TrainSettings, objective: str, pad_id: int) -> None:
        self.model, self.config, self.objective, self.pad_id = model, config, objective, pad_id
        self.device = next(model.parameters()).device
        # Dropout would make the + and - passes see different networks: SPSA needs eval mode.
        model.eval()
        self.optimizer = make_zo_optimizer(model, config)
        self.trajectory: Trajectory | None = None  # when set, every step is recorded in it

    def set_lr(self, lr: float) -> None:
        self.optimizer.lr = lr

    def step(self, items: Sequence[Encoded], step: int) -> float:
        batch = collate(items, self.pad_id, self.device)

        @torch.inference_mode()
        def closure() -> torch.Tensor:
            return training_loss(self.model, batch, self.objective, self.config.score)

        # The step's noise seed depends on the run's seed and the step only: a rerun draws
        # exactly the same perturbations.
        seed = self.config.seed * 1_000_003 + step
        outcome = self.optimizer.step(closure, seed=seed)
        if self.trajectory is not None:
            self.trajectory.record(seed, outcome.grads, self.optimizer.lr)
        return outcome.loss


class FirstOrderStepper:
    def __init__(self, model, config: TrainSettings, objective: str, pad_id: int) -> None:
        self.model, self.config, self.objective, self.pad_id = model, config, objective, pad_id
        self.device = next(model.parameters()).device
        params = trainable_parameters(model)
        if config.optim == "sgd":
            self.optimizer = torch.optim.SGD(params, lr=config.lr, weight_decay=config.wd)
        else:
            self.optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.wd)
        if config.grad_ckpt:
            model.gradient_checkpointing_enable()
            if hasattr(model, "enable_input_require_grads"):
                model.enable_input_require_grads()

    def set_lr(self, lr: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def step(self, items: Sequence[Encoded], step: int) -> float:
        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        micro = len(items) // self.config.grad_accum or 1
        total = 0.0
        chunks = [items[i : i + micro] for i in range(0, len(items), micro)]
        for chunk in chunks:
            batch = collate(chunk, self.pad_id, self.device)
            loss = training_loss(self.model, batch, self.objective, self.config.score)
            (loss * len(chunk) / len(items)).backward()
            total += loss.item() * len(chunk) / len(items)
        if math.isfinite(total):
            self.optimizer.step()
        return total


def make_stepper(model, config: TrainSettings, objective: str, pad_id: int) -> Stepper:
    if config.trainer == "zo":
        return ZerothOrderStepper(model, config, objective, pad_id)
    return FirstOrderStepper(model, config, objective, pad_id)
