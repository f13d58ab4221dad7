"""MeZO: zeroth-order SGD with SPSA and the seed trick, parameters perturbed in place.

One step: theta + eps z -> loss+, theta - eps z -> loss-, g = (loss+ - loss-) / (2 eps), then
restore and update in one pass. The noise z is never stored: it is regenerated from a seed in
each of the three passes, so memory stays at inference level (no parameter copy, no gradient
buffers).

Exactness. Trainable parameters are fp32 master weights (the forward may run in bf16 or fp16
under autocast, see `model.autocast_forward`). Each piece of a parameter lives on a fixed grid:
every value is an integer multiple of a power of two G chosen so that all values of the piece
stay below 2^24 G. Perturbations and updates are rounded to the same grid, so every addition is exact:
the restore after a perturbation gives back theta bit for bit, and an update applied by
`apply_update(seed, coefficient)` lands on the same bits whether it follows a training step or
replays one onto the starting weights. G is 2^-22 to 2^-23 of twice the piece's largest weight,
thousands of times finer than bf16's resolution: an update at lr 1e-6 is kept.

Speed comes from the noise draw, which dominates a step on the CPU (docs/performance.md):
parameters are cut into groups of at most `chunk` values, each with its own generator seed
derived from (step seed, group index). Groups are independent, so they are drawn into a reused
per-worker buffer, in any order and by several threads (torch releases the GIL in its kernels),
and redrawn bit-identically in every pass.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import torch

_GOLDEN = 0x9E3779B97F4A7C15  # odd 64-bit constant: spreads (seed, group) pairs over seeds
_MASK63 = (1 << 63) - 1
CPU_CHUNK = 1 << 20  # fits a core's cache with its noise
GPU_CHUNK = 1 << 24  # fewer, larger kernels: a GPU is bound by launches, not cache
FP32_BITS = 24  # significand bits: integers up to 2^24 are exact in fp32
# Room on the grid: weights may grow to twice their start, perturbations reach 8 sigma.
GROWTH, NOISE_SIGMAS = 2.0, 8.0

Pieces = list[torch.Tensor]
# What a pass does to one group: (pieces, its noise, a spare buffer of its size, grid steps).
GroupPass = Callable[[Pieces, torch.Tensor, torch.Tensor, list[float]], None]


@dataclass(frozen=True)
class Update:
    """One update as applied: theta <- theta + coefficient z(seed) - shrink theta, on the grid."""

    seed: int
    coefficient: float
    shrink: float = 0.0


@dataclass(frozen=True)
class ZOStep:
    loss: float
    projected_grad: float
    updates: tuple[Update, ...] = ()
    grads: tuple[float, ...] = ()  # one projected gradient per perturbation (a trajectory's record)


def pack_groups(params: Iterable[torch.Tensor], chunk: int) -> list[Pieces]:
    """Flat views of the parameters, packed into groups of at most `chunk` values."""
    groups: list[Pieces] = []
    current: Pieces = []
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


def grid_step(piece: torch.Tensor, eps: float) -> float:
    """The power of two G whose multiples hold every value the piece will take, exactly."""
    largest = float(piece.abs().max())
    bound = GROWTH * largest + NOISE_SIGMAS * eps
    return 2.0 ** (math.ceil(math.log2(bound)) - (FP32_BITS - 1))


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
        if any(p.dtype != torch.float32 for p in params):
            raise ValueError(
                "MeZO updates fp32 master weights; run a half-precision forward under autocast"
            )
        self.lr, self.eps, self.weight_decay = lr, eps, weight_decay
        self.num_perturbations = num_perturbations
        device = params[0].device
        on_cpu = device.type == "cpu"
        self.groups = pack_groups(params, chunk or (CPU_CHUNK if on_cpu else GPU_CHUNK))
        self.grids = [[grid_step(piece, eps) for piece in group] for group in self.groups]
        self._snap_to_grid()
        self.workers = min(workers or (torch.get_num_threads() if on_cpu else 1), len(self.groups))
        largest = max(sum(piece.numel() for piece in group) for group in self.groups)
        self._buffers = [
            torch.empty(2, largest, device=device, dtype=torch.float32) for _ in range(self.workers)
        ]
        self._generators = [torch.Generator(device=device) for _ in range(self.workers)]
        self._pool = ThreadPoolExecutor(self.workers) if self.workers > 1 else None

    @torch.no_grad()
    def _snap_to_grid(self) -> None:
        # Moves each weight by at most G/2 (below 1e-7 of its piece's largest): far below bf16.
        for pieces, grids in zip(self.groups, self.grids, strict=True):
            for piece, grid in zip(pieces, grids, strict=True):
                piece.div_(grid).round_().mul_(grid)

    # --- the step ---------------------------------------------------------------------------

    def step(self, closure: Callable[[], torch.Tensor | float], seed: int) -> ZOStep:
        """One step; `closure` returns the loss on the current batch at the current parameters."""
        if self.num_perturbations == 1:
            return self._single_step(closure, seed)
        return self._averaged_step(closure, seed)

    def _single_step(self, closure: Callable[[], torch.Tensor | float], seed: int) -> ZOStep:
        loss_plus, grad = self._probe(closure, seed)
        (update,) = self.step_updates(seed, (grad,))
        if update.shrink:
            self._noise_pass(seed, self._restore_then_update(update))
        else:
            # Restore and update in one pass: the two grid integers add exactly.
            self._noise_pass(seed, self._restore_and_update(update.coefficient))
        return ZOStep(loss=loss_plus, projected_grad=grad, updates=(update,), grads=(grad,))

    def _averaged_step(self, closure: Callable[[], torch.Tensor | float], seed: int) -> ZOStep:
        """n-SPSA: average the n projected gradients' updates, all taken at the same theta."""
        probes = []
        for perturbation_seed in self._perturbation_seeds(seed):
            probes.append(self._probe(closure, perturbation_seed))
            self._noise_pass(perturbation_seed, self._perturb(1))  # restore
        losses = [loss for loss, _ in probes]
        grads = tuple(grad for _, grad in probes)
        updates = self.step_updates(seed, grads)
        for update in updates:
            self.apply_update(update.seed, update.coefficient, update.shrink)
        return ZOStep(
            loss=sum(losses) / len(losses),
            projected_grad=sum(grads) / len(grads),
            updates=updates,
            grads=grads,
        )

    def step_updates(
        self, seed: int, grads: Sequence[float], lr: float | None = None
    ) -> tuple[Update, ...]:
        """The updates of a step from its seed and projected gradient(s): what training applies,
        and what a replay of its trajectory applies again (zo_sweep.train.trajectory)."""
        lr = self.lr if lr is None else lr
        seeds = [seed] if len(grads) == 1 else self._perturbation_seeds(seed)
        return tuple(
            Update(
                perturbation_seed,
                -lr * grad / len(grads),
                lr * self.weight_decay if index == 0 else 0.0,
            )
            for index, (perturbation_seed, grad) in enumerate(zip(seeds, grads, strict=True))
        )

    def _perturbation_seeds(self, seed: int) -> list[int]:
        return [seed * self.num_perturbations + k for k in range(self.num_perturbations)]

    def _probe(self, closure: Callable[[], torch.Tensor | float], seed: int) -> tuple[float, float]:
        """Leaves theta at theta - eps z; returns loss+ and the projected gradient."""
        self._noise_pass(seed, self._perturb(1))
        loss_plus = float(closure())
        self._noise_pass(seed, self._perturb(-2))
        loss_minus = float(closure())
        return loss_plus, (loss_plus - loss_minus) / (2.0 * self.eps)

    def apply_update(self, seed: int, coefficient: float, shrink: float = 0.0) -> None:
        """theta <- theta + coefficient z(seed) - shrink theta, rounded to the grid.

        The update a training step makes (`ZOStep.updates`): replayed onto the weights the step
        started from, it gives the same bits.
        """
        self._noise_pass(seed, self._update(coefficient, shrink))

    def draw_noise(self, seed: int) -> None:
        """Draw z(seed) for every group and drop it: the random number generator's share of a
        pass, the floor no implementation of a pass goes below."""
        self._noise_pass(seed, _ignore)

    # --- what one group does in a pass, given its noise ---------------------------------------

    def _perturb(self, times: int) -> GroupPass:
        """theta += times * eps z, with eps z rounded once: +1, -2, +1 come back to theta."""
        eps = self.eps

        def run(pieces: Pieces, noise: torch.Tensor, _: torch.Tensor, grids: list[float]) -> None:
            steps = _grid_steps(noise, pieces, eps, grids)
            _add_on_grid(pieces, steps, [times * grid for grid in grids])

        return run

    @staticmethod
    def _update(coefficient: float, shrink: float) -> GroupPass:
        def run(pieces: Pieces, noise: torch.Tensor, _: torch.Tensor, grids: list[float]) -> None:
            steps = _split_like(noise, pieces)
            torch._foreach_mul_(steps, [coefficient / grid for grid in grids])
            if shrink:
                torch._foreach_add_(steps, torch._foreach_mul(pieces, [-shrink / g for g in grids]))
            torch._foreach_round_(steps)
            _add_on_grid(pieces, steps, grids)

        return run

    def _restore_and_update(self, coefficient: float) -> GroupPass:
        eps = self.eps

        def run(
            pieces: Pieces, noise: torch.Tensor, spare: torch.Tensor, grids: list[float]
        ) -> None:
            # The same rounding as apply_update's, so that a replay lands on the same bits.
            update = _grid_steps(spare.copy_(noise), pieces, coefficient, grids)
            restore = _grid_steps(noise, pieces, eps, grids)
            torch._foreach_add_(restore, update)
            _add_on_grid(pieces, restore, grids)

        return run

    def _restore_then_update(self, update: Update) -> GroupPass:
        restore, apply = self._perturb(1), self._update(update.coefficient, update.shrink)

        def run(
            pieces: Pieces, noise: torch.Tensor, spare: torch.Tensor, grids: list[float]
        ) -> None:
            spare.copy_(noise)
            restore(pieces, noise, spare, grids)
            apply(pieces, spare, noise, grids)

        return run

    # --- drawing the noise group by group, across the workers ---------------------------------

    def _noise_pass(self, seed: int, apply: GroupPass) -> None:
        if self._pool is None:
            self._fill(0, seed, apply)
            return
        jobs = [
            self._pool.submit(self._fill, worker, seed, apply) for worker in range(self.workers)
        ]
        for job in jobs:
            job.result()

    @torch.no_grad()
    def _fill(self, worker: int, seed: int, apply: GroupPass) -> None:
        generator, buffers = self._generators[worker], self._buffers[worker]
        for index in range(worker, len(self.groups), self.workers):
            pieces = self.groups[index]
            size = sum(piece.numel() for piece in pieces)
            generator.manual_seed(group_seed(seed, index))
            noise = buffers[0, :size].normal_(generator=generator)
            apply(pieces, noise, buffers[1, :size], self.grids[index])

    def noise_like_parameters(self, seed: int) -> list[torch.Tensor]:
        """The z a step with `seed` uses, group by group (for tests and diagnostics)."""
        out = []
        generator = torch.Generator(device=self._buffers[0].device)
        for index, pieces in enumerate(self.groups):
            generator.manual_seed(group_seed(seed, index))
            size = sum(p.numel() for p in pieces)
            noise = torch.empty(size, device=self._buffers[0].device).normal_(generator=generator)
            out.extend(chunk.clone() for chunk in noise.split([p.numel() for p in pieces]))
        return out


def _ignore(*_: object) -> None:
    pass


def _split_like(flat: torch.Tensor, pieces: Pieces) -> list[torch.Tensor]:
    return list(flat.split([piece.numel() for piece in pieces]))


def _grid_steps(
    noise: torch.Tensor, pieces: Pieces, alpha: float, grids: list[float]
) -> list[torch.Tensor]:
    """round(alpha z / G), piece by piece, in the noise buffer: whole numbers of grid steps."""
    steps = _split_like(noise, pieces)
    torch._foreach_mul_(steps, [alpha / grid for grid in grids])
    torch._foreach_round_(steps)
    return steps


def _add_on_grid(pieces: Pieces, steps: list[torch.Tensor], grids: list[float]) -> None:
    """pieces += G steps, with integer steps: exact while values stay below 2^24 G."""
    torch._foreach_mul_(steps, grids)
    torch._foreach_add_(pieces, steps)
