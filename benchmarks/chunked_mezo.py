"""A MeZO optimizer built for the noise draw being the cost: the candidate measured in
docs/performance.md, with the same interface as zo_sweep.train.mezo.ZerothOrderSGD.

Run it through the benchmark:
    python -m zo_sweep.bench --optimizer benchmarks.chunked_mezo:ChunkedZerothOrderSGD

What makes it fast, each measured on the CPU:
- The parameters are cut into cache-sized groups (at most `chunk` values: a slice of a large
  tensor, or several small tensors packed together). Each group's noise has its own generator
  seed, derived from (step seed, group index), so groups are independent and can be drawn in
  any order, by any thread, and redrawn bit-identically for the -, restore and update passes.
- The noise is drawn with normal_ into a reused per-thread buffer, never allocated, and it is
  still in cache when it is added to the parameters.
- Groups are filled by as many threads as torch has intra-op threads (torch kernels release the
  GIL): the CPU's Gaussian generator is serial, so this is the only way to use every core.
- Restore and update are one pass: three noise draws a step instead of MeZO's four.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import torch

GOLDEN = 0x9E3779B97F4A7C15  # odd 64-bit constant: spreads (seed, group) pairs over seeds
MASK63 = (1 << 63) - 1


@dataclass
class ZOStep:
    loss: float
    projected_grad: float


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
    return (step_seed * GOLDEN + group) & MASK63


class ChunkedZerothOrderSGD:
    """MeZO (SPSA, the seed trick) with grouped, threaded, cache-resident noise."""

    def __init__(
        self,
        params: Iterable[torch.nn.Parameter],
        *,
        lr: float,
        eps: float,
        weight_decay: float = 0.0,
        chunk: int = 1 << 20,
        workers: int | None = None,
    ) -> None:
        params = [p for p in params if p.requires_grad]
        if not params:
            raise ValueError("no trainable parameters")
        self.lr, self.eps, self.weight_decay = lr, eps, weight_decay
        self.groups = pack_groups(params, chunk)
        device, dtype = params[0].device, params[0].dtype
        # One thread per core on the CPU; a GPU kernel queue gains nothing from threads.
        self.workers = workers or (torch.get_num_threads() if device.type == "cpu" else 1)
        largest = max(sum(piece.numel() for piece in group) for group in self.groups)
        self.buffers = [
            torch.empty(largest, device=device, dtype=dtype) for _ in range(self.workers)
        ]
        self.generators = [torch.Generator(device=device) for _ in range(self.workers)]
        self.pool = ThreadPoolExecutor(self.workers) if self.workers > 1 else None

    def _noise_pass(self, seed: int, alpha: float, decay: float = 1.0) -> None:
        """params <- decay * params + alpha * z(seed), group by group."""
        if self.pool is None:
            self._fill(0, seed, alpha, decay)
            return
        futures = [self.pool.submit(self._fill, w, seed, alpha, decay) for w in range(self.workers)]
        for future in futures:
            future.result()

    @torch.no_grad()
    def _fill(self, worker: int, seed: int, alpha: float, decay: float) -> None:
        generator, buffer = self.generators[worker], self.buffers[worker]
        for index in range(worker, len(self.groups), self.workers):
            pieces = self.groups[index]
            generator.manual_seed(group_seed(seed, index))
            noise = buffer[: sum(p.numel() for p in pieces)].normal_(generator=generator)
            if decay != 1.0:
                torch._foreach_mul_(pieces, decay)
            torch._foreach_add_(pieces, list(noise.split([p.numel() for p in pieces])), alpha=alpha)

    def step(self, closure: Callable[[], torch.Tensor | float], seed: int) -> ZOStep:
        self._noise_pass(seed, self.eps)
        loss_plus = float(closure())
        self._noise_pass(seed, -2 * self.eps)
        loss_minus = float(closure())
        projected_grad = (loss_plus - loss_minus) / (2 * self.eps)
        # Restore (+eps z) and MeZO's update of the restored p, p - lr (g z + wd p), fused into
        # one pass: decay * (p - eps z) + (eps * decay - lr g) z, with decay = 1 - lr wd.
        decay = 1.0 - self.lr * self.weight_decay
        self._noise_pass(seed, self.eps * decay - self.lr * projected_grad, decay)
        return ZOStep(loss=loss_plus, projected_grad=projected_grad)
