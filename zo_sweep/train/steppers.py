"""One training step of each method, behind one interface: `step(batch, step) -> loss`.

Zeroth-order (MeZO) steps run every forward under inference_mode; first-order steps back-
propagate through micro-batches (gradient accumulation) and update with AdamW or SGD.

Every stepper gets the whole global batch and the run's ranks (zo_sweep.train.distributed).
A first-order step on N ranks splits each micro-batch into the ranks' shares; each rank
weighs its share's loss by its part of what the micro-batch's loss averages over, so the
ranks' losses and gradients sum to one rank's (FSDP2 sums the gradients: sharding.py).

MeZO on N ranks (to come with its sharded weights) fits the same seam: each rank perturbs and
updates only its own shards, with noise defined per block of rows of each parameter and keyed
by (step seed, parameter, block), so that a shard draws the noise of its rows whatever the
number of ranks (FSDP2 shards along rows); its two forwards run under no_grad (FSDP2 cannot
gather weights under inference_mode) on the rank's weighted share of the batch, and one
`ranks.sum([loss_plus, loss_minus])` gives every rank the batch's two losses, hence the same
projected gradient and the same update.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

import torch

from zo_sweep.errors import ConfigError
from zo_sweep.train.distributed import Ranks
from zo_sweep.train.model import trainable_parameters
from zo_sweep.train.scoring import Encoded, collate, loss_count, training_loss
from zo_sweep.train.settings import TrainSettings
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
        check_ranks(config, self.ranks)
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
            share, weight = self._share(chunk, len(chunk) / len(items))
            batch = collate(share, self.pad_id, self.device)
            loss = training_loss(self.model, batch, self.objective, self.config.score)
            (loss * weight).backward()
            total += loss.item() * weight
        (total,) = self.ranks.sum([total])
        if math.isfinite(total):  # the same on every rank: the ranks' weights stay alike
            self.optimizer.step()
        return total

    def _share(self, chunk: Sequence[Encoded], part: float) -> tuple[list[Encoded], float]:
        """This rank's share of a micro-batch that is `part` of the step's loss, and its
        weight: the share's part of what the micro-batch's loss averages over. A rank left
        without examples (fewer than ranks) runs one at weight 0: every rank must run every
        forward and backward, in which FSDP2 gathers and reduces with all of them."""
        share = self.ranks.share(chunk)
        if not share:
            return list(chunk[:1]), 0.0
        count = loss_count(share, self.objective) / loss_count(chunk, self.objective)
        return share, part * count


def check_ranks(config: TrainSettings, ranks: Ranks) -> None:
    """Refuse, before a model is loaded, a method that cannot run on this many ranks yet."""
    if config.trainer == "zo" and ranks.world > 1:
        raise ConfigError(
            f"{config.method} runs on one device: MeZO over {ranks.world} ranks is not built "
            "yet (use devices_per_job=1)"
        )


def make_stepper(
    model, config: TrainSettings, objective: str, pad_id: int, ranks: Ranks | None = None
) -> Stepper:
    if config.trainer == "zo":
        return ZerothOrderStepper(model, config, objective, pad_id, ranks)
    return FirstOrderStepper(model, config, objective, pad_id, ranks)
