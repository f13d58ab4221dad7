"""One training step of each method, behind one interface: `step(batch, step) -> loss`.

Zeroth-order (MeZO) steps run every forward under inference_mode; first-order steps back-
propagate through micro-batches (gradient accumulation) and update with AdamW or SGD.

Every stepper gets the whole global batch and the run's ranks (zo_sweep.train.distributed).
A first-order step on N ranks splits each micro-batch into the ranks' shares; each rank
weighs its share's loss by its part of what the micro-batch's loss averages over, so the
ranks' losses and gradients sum to one rank's (FSDP2 sums the gradients: sharding.py).

A MeZO step on N ranks runs its two forwards on the rank's weighted share of the batch, the
same way (a rank's share of the step's loss), and one `ranks.sum([loss_plus, loss_minus])` gives
every rank the batch's two losses, hence the same projected gradient and the same update of
its own shards (zo_weights.py). The forwards run under no_grad when the model is sharded
(FSDP2 cannot gather weights under inference_mode), under inference_mode otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

import torch

from zo_sweep.train.distributed import Ranks
from zo_sweep.train.model import trainable_parameters
from zo_sweep.train.scoring import Encoded, collate, loss_count, training_loss
from zo_sweep.train.settings import TrainSettings
from zo_sweep.train.sharding import is_sharded
from zo_sweep.train.trajectory import Trajectory
from zo_sweep.train.zo_weights import make_zo_optimizer


class Stepper(Protocol):
    def step(self, items: Sequence[Encoded], step: int) -> float: ...

    def set_lr(self, lr: float) -> None: ...


class ZerothOrderStepper:
    def __init__(
        self, model, config: TrainSettings, objective: str, pad_id: int, ranks: Ranks | None = None
    ) -> None:
        self.model, self.config, self.objective, self.pad_id = model, config, objective, pad_id
        self.ranks = ranks or Ranks()
        self.device = next(model.parameters()).device
        # Dropout would make the + and - passes see different networks: SPSA needs eval mode.
        model.eval()
        self.optimizer = make_zo_optimizer(model, config, self.ranks.sum)
        self.trajectory: Trajectory | None = None  # when set, every step is recorded in it

    def set_lr(self, lr: float) -> None:
        self.optimizer.lr = lr

    def step(self, items: Sequence[Encoded], step: int) -> float:
        share, weight = rank_share(self.ranks, items, self.objective)
        batch = collate(share, self.pad_id, self.device)
        no_grad = torch.no_grad if is_sharded(self.model) else torch.inference_mode

        def closure() -> float:
            with no_grad():
                loss = training_loss(self.model, batch, self.objective, self.config.score)
            return float(loss) * weight

        # The step's noise seed depends on the run's seed and the step only: a rerun draws
        # exactly the same perturbations.
        seed = self.config.seed * 1_000_003 + step
        outcome = self.optimizer.step(closure, seed=seed)
        if self.trajectory is not None:
            self.trajectory.record(seed, outcome.grads, self.optimizer.lr)
        return outcome.loss


class FirstOrderStepper:
    def __init__(
        self, model, config: TrainSettings, objective: str, pad_id: int, ranks: Ranks | None = None
    ) -> None:
        self.model, self.config, self.objective, self.pad_id = model, config, objective, pad_id
        self.ranks = ranks or Ranks()
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
        for start in range(0, len(items), micro):
            chunk = items[start : start + micro]
            share, weight = rank_share(self.ranks, chunk, self.objective, len(chunk) / len(items))
            batch = collate(share, self.pad_id, self.device)
            loss = training_loss(self.model, batch, self.objective, self.config.score)
            (loss * weight).backward()
            total += loss.item() * weight
        (total,) = self.ranks.sum([total])
        if math.isfinite(total):  # the same on every rank: the ranks' weights stay alike
            self.optimizer.step()
        return total


def rank_share(
    ranks: Ranks, chunk: Sequence[Encoded], objective: str, part: float = 1.0
) -> tuple[list[Encoded], float]:
    """This rank's share of a (micro-)batch that is `part` of the step's loss, and its weight:
    the share's part of what the batch's loss averages over. A rank left without examples
    (fewer than ranks) runs one at weight 0: every rank must run every forward (and
    backward), in which FSDP2 gathers (and reduces) with all of them."""
    share = ranks.share(chunk)
    if not share:
        return list(chunk[:1]), 0.0
    return share, part * loss_count(share, objective) / loss_count(chunk, objective)


def make_stepper(
    model, config: TrainSettings, objective: str, pad_id: int, ranks: Ranks | None = None
) -> Stepper:
    if config.trainer == "zo":
        return ZerothOrderStepper(model, config, objective, pad_id, ranks)
    return FirstOrderStepper(model, config, objective, pad_id, ranks)
