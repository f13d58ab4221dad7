"""The `zo_weights` setting: how MeZO holds the weights it trains, and the optimizer of each.

- `inference` (the default): in the forward's dtype, as inference holds them (2 bytes a
  parameter in bf16); perturbed as each layer runs, updated with stochastic rounding
  (zo_sweep.train.forward_mezo).
- `fp32_masters`: fp32 weights on an exact grid, the forward under autocast (4 bytes a
  parameter; zo_sweep.train.mezo).

An fp32 forward has nothing to gain from either: its weights are fp32, and they train on the
exact grid whatever the setting says. The model's loading (zo_sweep.train.model) stores the
weights as the setting says, and the optimizer follows the weights it is given.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from zo_sweep.train.forward_mezo import ForwardPerturbedSGD
from zo_sweep.train.mezo import ZerothOrderSGD
from zo_sweep.train.settings import FP32_MASTERS, INFERENCE
from zo_sweep.train.spsa import Combine, one_rank

if TYPE_CHECKING:
    from zo_sweep.train.settings import TrainSettings


def trains_in_forward_dtype(settings: TrainSettings, compute: torch.dtype) -> bool:
    """Whether the run stores what it trains in the forward's (half) dtype."""
    return (
        settings.trainer == "zo" and settings.zo_weights == INFERENCE and compute != torch.float32
    )


def held_as(model: torch.nn.Module) -> str:
    """How the model holds what it trains: `fp32_masters` when every trainable weight is fp32,
    else `inference` (result.json's `zo_weights`)."""
    trainable = [param for param in model.parameters() if param.requires_grad]
    return FP32_MASTERS if all(p.dtype == torch.float32 for p in trainable) else INFERENCE


def make_zo_optimizer(
    model: torch.nn.Module, settings: TrainSettings, combine: Combine = one_rank
) -> ZerothOrderSGD | ForwardPerturbedSGD:
    """MeZO's optimizer for the model's trainable weights: fp32 ones on the exact grid, half
    precision ones perturbed in the forward and rounded stochastically. On N ranks (a model
    sharded by FSDP2) each rank's optimizer perturbs and updates the rows of its own shards,
    and `combine` sums the ranks' losses."""
    named = [(name, param) for name, param in model.named_parameters() if param.requires_grad]
    options = {
        "lr": settings.lr,
        "eps": settings.eps,
        "weight_decay": settings.wd,
        "num_perturbations": settings.n_perturb,
        "combine": combine,
    }
    if held_as(model) == FP32_MASTERS:
        return ZerothOrderSGD(named, **options)
    return ForwardPerturbedSGD(model, **options)
