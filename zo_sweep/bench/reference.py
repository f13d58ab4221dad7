"""MeZO's step as its authors' trainer writes it, ported to the trainer's closure interface.

The global RNG is reseeded before each of four passes (+eps, -2 eps, +eps restore, update) and
the noise is allocated afresh per parameter with `torch.normal`, as in MeZO's `trainer.py`
(`zo_perturb_parameters`, `zo_step`, `zo_update`). One change: the original assigns a new
tensor to `param.data`, which here would orphan any flat view of the old storage (another
optimizer's, a second copy of the weights); this port writes the same values in place.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch


class ReferenceMeZO:
    def __init__(self, params: Sequence[torch.nn.Parameter], *, lr: float, eps: float) -> None:
        self.params = [p for p in params if p.requires_grad]
        self.lr, self.eps, self.weight_decay = lr, eps, 0.0

    @staticmethod
    def _noise(param: torch.Tensor) -> torch.Tensor:
        return torch.normal(
            mean=0, std=1, size=param.data.size(), device=param.data.device, dtype=param.data.dtype
        )

    @torch.no_grad()
    def _perturb(self, seed: int, scaling_factor: float) -> None:
        torch.manual_seed(seed)
        for param in self.params:
            param.data.add_(scaling_factor * self._noise(param) * self.eps)

    @torch.no_grad()
    def _update(self, seed: int, projected_grad: float) -> None:
        torch.manual_seed(seed)
        for param in self.params:
            z = self._noise(param)
            param.data.sub_(self.lr * (projected_grad * z + self.weight_decay * param.data))

    def step(self, closure: Callable[[], torch.Tensor], seed: int) -> float:
        self._perturb(seed, 1)
        loss1 = closure()
        self._perturb(seed, -2)
        loss2 = closure()
        projected_grad = float((loss1 - loss2) / (2 * self.eps))
        self._perturb(seed, 1)
        self._update(seed, projected_grad)
        return float(loss1)
