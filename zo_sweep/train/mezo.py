"""MeZO: zeroth-order SGD with SPSA and the seed trick, parameters perturbed in place.

One step: theta + eps z -> loss+, theta - eps z -> loss-, g = (loss+ - loss-) / (2 eps), then
restore and update in one pass: theta <- theta + eps z - lr (g z + wd theta). The noise z is never
stored: it is regenerated from a seed in each of the three passes, so memory stays at inference
level (no parameter copy, no gradient buffers).

Speed comes from the noise draw, which dominates a step on the CPU (docs/performance.md):
parameters are cut into groups of at most `chunk` values, each with its own generator seed
derived from (step seed, group index). Groups are independent, so they are drawn into a reused
per-worker buffer, in any order and by several threads (torch releases the GIL in its kernels),
and redrawn bit-identically in every pass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import torch

_GOLDEN = 0x9E3779B97F4A7C15  # odd 64-bit constant: spreads (seed, group) pairs over seeds
_MASK63 = (1 << 63) - 1
CPU_CHUNK = 1 << 20  # fits a core's cache with its noise
GPU_CHUNK = 1 << 24  # fewer, larger kernels: a GPU is bound by launches, not cache


@dataclass(frozen=True)
class ZOStep:
    loss: float
    projected_grad: float
    grads: tuple[float, ...] = ()  # one projected gradient per perturbation (a trajectory's record)


def pack_groups(params: Iterable[torch.Tensor], chunk: int) -> list[list[torch.Tensor]]:
    """Flat views of the parameters, packed into groups of at most `chunk` values."""
    groups: list[list[torch.Tensor]] = []
    current: list[torch.Tensor] = []
    size = 0
    for param in params:
        for piece in param.detach().view(-1).split(chunk):
            if current and size + piece.numel() > chunk:
                groups.append(current)
                current, size = [], 0
            current.append(piece)
            size += piece.numel()
    if current:
        groups.append(current)
    return groups


def group_seed(step_seed: int, group: int) -> int:
    return (step_seed * _GOLDEN + group) & _MASK63


class ZerothOrderSGD:
    """MeZO's optimizer; `step(closure, seed)` runs one SPSA step (n perturbations averaged)."""

    def __init__(
        self,
        params: Iterable[torch.nn.Parameter],
        *,
        lr: float,
        eps: float,
        weight_decay: float = 0.0,
        num_perturbations: int = 1,
        chunk: int | None = None,
        workers: int | None = None,
    ) -> None:
        params = [p for p in params if p.requires_grad]
        if not params:
            raise ValueError("no trainable parameters")
        if num_perturbations < 1:
            raise ValueError("num_perturbations must be at least 1")
        self.lr, self.eps, self.weight_decay = lr, eps, weight_decay
        self.num_perturbations = num_perturbations
        device, dtype = params[0].device, params[0].dtype
        on_cpu = device.type == "cpu"
        self.groups = pack_groups(params, chunk or (CPU_CHUNK if on_cpu else GPU_CHUNK))
        self.workers = min(workers or (torch.get_num_threads() if on_cpu else 1), len(self.groups))
        largest = max(sum(piece.numel() for piece in group) for group in self.groups)
        self._buffers = [
            torch.empty(largest, device=device, dtype=dtype) for _ in range(self.workers)
        ]
        self._generators = [torch.Generator(device=device) for _ in range(self.workers)]
        self._pool = ThreadPoolExecutor(self.workers) if self.workers > 1 else None

    def step(self, closure: Callable[[], torch.Tensor | float], seed: int) -> ZOStep:
        """One step; `closure` returns the loss on the current batch at the current parameters."""
        if self.num_perturbations == 1:
            return self._single_step(closure, seed)
        return self._averaged_step(closure, seed)

    def _single_step(self, closure: Callable[[], torch.Tensor | float], seed: int) -> ZOStep:
        loss_plus, grad = self._probe(closure, seed)
        # Restore (+eps z) and update the restored theta, theta - lr (g z + wd theta), in one
        # pass: decay (theta - eps z) + (eps decay - lr g) z, with decay = 1 - lr wd.
        decay = 1.0 - self.lr * self.weight_decay
        self.apply_update(seed, self.eps * decay - self.lr * grad, decay)
        return ZOStep(loss=loss_plus, projected_grad=grad, grads=(grad,))

    def _averaged_step(self, closure: Callable[[], torch.Tensor | float], seed: int) -> ZOStep:
        """n-SPSA: average the n projected gradients' updates, all taken at the same theta."""
        seeds = [seed * self.num_perturbations + k for k in range(self.num_perturbations)]
        probes = []
        for perturbation_seed in seeds:
            probes.append(self._probe(closure, perturbation_seed))
            self.apply_update(perturbation_seed, self.eps)  # restore
        decay = 1.0 - self.lr * self.weight_decay
        for index, (perturbation_seed, (_, grad)) in enumerate(zip(seeds, probes, strict=True)):
            self.apply_update(
                perturbation_seed,
                -self.lr * grad / self.num_perturbations,
                decay if index == 0 else 1.0,
            )
        losses = [loss for loss, _ in probes]
        grads = [grad for _, grad in probes]
        return ZOStep(
            loss=sum(losses) / len(losses),
            projected_grad=sum(grads) / len(grads),
            grads=tuple(grads),
        )

    def _probe(self, closure: Callable[[], torch.Tensor | float], seed: int) -> tuple[float, float]:
        """Leaves theta at theta - eps z; returns loss+ and the projected gradient."""
        self.apply_update(seed, self.eps)
        loss_plus = float(closure())
        self.apply_update(seed, -2.0 * self.eps)
        loss_minus = float(closure())
        return loss_plus, (loss_plus - loss_minus) / (2.0 * self.eps)

    def apply_update(self, step_seed: int, scale: float, decay: float = 1.0) -> None:
        """theta <- decay * theta + scale * z(step_seed): every change a step makes to theta.

        Training moves the parameters through this method only, so replaying a step's calls
        (zo_sweep.train.trajectory) rebuilds its weights bit for bit, without the forwards.
        """
        self._noise_pass(step_seed, scale, decay)

    def _noise_pass(self, seed: int, alpha: float, decay: float = 1.0) -> None:
        """theta <- decay * theta + alpha * z(seed), group by group, across the workers."""
        if self._pool is None:
            self._fill(0, seed, alpha, decay)
            return
        jobs = [
            self._pool.submit(self._fill, worker, seed, alpha, decay)
            for worker in range(self.workers)
        ]
        for job in jobs:
            job.result()

    @torch.no_grad()
    def _fill(self, worker: int, seed: int, alpha: float, decay: float) -> None:
        generator, buffer = self._generators[worker], self._buffers[worker]
        for index in range(worker, len(self.groups), self.workers):
            pieces = self.groups[index]
            sizes = [piece.numel() for piece in pieces]
            generator.manual_seed(group_seed(seed, index))
            noise = buffer[: sum(sizes)].normal_(generator=generator)
            if decay != 1.0:
                torch._foreach_mul_(pieces, decay)
            torch._foreach_add_(pieces, list(noise.split(sizes)), alpha=alpha)

    def noise_like_parameters(self, seed: int) -> list[torch.Tensor]:
        """The z a step with `seed` uses, group by group (for tests and diagnostics)."""
        out = []
        generator = torch.Generator(device=self._buffers[0].device)
        for index, pieces in enumerate(self.groups):
            generator.manual_seed(group_seed(seed, index))
            noise = self._buffers[0][: sum(p.numel() for p in pieces)].normal_(generator=generator)
            out.extend(chunk.clone() for chunk in noise.split([p.numel() for p in pieces]))
        return out
