"""What both of MeZO's weight designs share: a step's record and the updates it makes.

A step with seed s averages n SPSA estimates (n-SPSA); perturbation k uses the noise of seed
s n + k (s itself when n is 1), so every estimate of a step is taken at the same weights. A
step's updates follow from its seed, its projected gradients and its learning rate alone:
training applies them, and a replay of the run's trajectory (zo_sweep.train.trajectory) applies
them again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

Closure = Callable[[], torch.Tensor | float]
# The probes' losses summed over the ranks that share the batch (zo_sweep.train.distributed's
# `Ranks.sum`): each rank's closure returns its weighted share of the batch's loss.
Combine = Callable[[Sequence[float]], list[float]]


def one_rank(losses: Sequence[float]) -> list[float]:
    return [float(loss) for loss in losses]


@dataclass(frozen=True)
class Update:
    """One update: theta <- theta + coefficient z(seed) - shrink theta."""

    seed: int
    coefficient: float
    shrink: float = 0.0


@dataclass(frozen=True)
class ZOStep:
    loss: float
    projected_grad: float
    updates: tuple[Update, ...] = ()
    grads: tuple[float, ...] = ()  # one projected gradient per perturbation (a trajectory's record)


class SPSA:
    """The settings and the update rule of a MeZO optimizer; subclasses hold the weights."""

    #: how the trainable weights are held, as result.json records it (the `zo_weights` setting)
    weights = ""

    def __init__(
        self,
        *,
        lr: float,
        eps: float,
        weight_decay: float,
        num_perturbations: int,
        combine: Combine = one_rank,
    ) -> None:
        if num_perturbations < 1:
            raise ValueError("num_perturbations must be at least 1")
        self.lr, self.eps, self.weight_decay = lr, eps, weight_decay
        self.num_perturbations = num_perturbations
        self.combine = combine

    def projected(
        self, plus: torch.Tensor | float, minus: torch.Tensor | float
    ) -> tuple[float, float]:
        """loss+ and the projected gradient of one probe, from this rank's two losses: one
        all-reduce of both on N ranks, so that every rank gets the same."""
        loss_plus, loss_minus = self.combine([float(plus), float(minus)])
        return loss_plus, (loss_plus - loss_minus) / (2.0 * self.eps)

    def perturbation_seeds(self, seed: int) -> list[int]:
        if self.num_perturbations == 1:
            return [seed]
        return [seed * self.num_perturbations + k for k in range(self.num_perturbations)]

    def step_updates(
        self, seed: int, grads: Sequence[float], lr: float | None = None
    ) -> tuple[Update, ...]:
        """The updates of a step from its seed and projected gradient(s): what training applies,
        and what a replay of its trajectory applies again (zo_sweep.train.trajectory)."""
        lr = self.lr if lr is None else lr
        seeds = self.perturbation_seeds(seed) if len(grads) > 1 else [seed]
        return tuple(
            Update(
                perturbation_seed,
                -lr * grad / len(grads),
                lr * self.weight_decay if index == 0 else 0.0,
            )
            for index, (perturbation_seed, grad) in enumerate(zip(seeds, grads, strict=True))
        )

    def apply_updates(self, updates: Sequence[Update]) -> None:
        """Apply one step's updates, as the step itself did: the same bits on replay."""
        raise NotImplementedError

    def noise_like_parameters(self, seed: int) -> list[torch.Tensor]:
        """The z of `seed` for every trainable parameter (tests and diagnostics)."""
        raise NotImplementedError
