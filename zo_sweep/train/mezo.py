"""MeZO on fp32 master weights, perturbed in place on an exact grid (`zo_weights=fp32_masters`).

One step: theta + eps z -> loss+, theta - eps z -> loss-, g = (loss+ - loss-) / (2 eps), then
restore and update in one pass. The noise z is never stored: it is regenerated from the step's
seed in each of the three passes (zo_sweep.train.noise), so there is no parameter copy and
no gradient buffer; the weights themselves are fp32, twice a bf16 model's memory. The other
design, `zo_weights=inference`, keeps the weights in the forward's dtype
(zo_sweep.train.forward_mezo).

Exactness. The forward may run in bf16 or fp16 under autocast (`model.autocast_forward`).
Each block of a parameter (noise.row_blocks) lives on a fixed grid: every value is an integer
multiple of a power of two G chosen so that all values of the block stay below 2^24 G.
Perturbations and updates are rounded to the same grid, so every addition is exact: the
restore after a perturbation gives back theta bit for bit, and the updates applied by
`apply_updates` land on the same bits whether they follow a training step or replay one onto
the starting weights. G is 2^-22 to 2^-23 of twice the block's largest weight, thousands of
times finer than bf16's resolution: an update at lr 1e-6 is kept.

On N ranks (a model sharded by FSDP2) each rank's optimizer holds the blocks its shards
overlap, in part where a shard's edge cuts one, and perturbs and updates those rows only: the
grid of a block held in parts is the whole block's (`grid_blocks`), and its noise is drawn
whole and cut to the rows (noise.Block), so every rank's rows move as one rank's would.

Speed comes from the noise draw, which dominates a step on the CPU (docs/performance.md): the
blocks are independent, so they are drawn into reused per-worker buffers by several threads
and redrawn bit-identically in every pass.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

import torch

from zo_sweep.train.held_rows import max_over_ranks
from zo_sweep.train.noise import (
    Block,
    BlockWorkers,
    Scratch,
    blocks_of,
    default_block_size,
    named_trainable,
    noise_of,
    parameter_key,
    row_blocks,
    worker_count,
)
from zo_sweep.train.spsa import SPSA, Closure, Combine, Update, ZOStep, one_rank

FP32_BITS = 24  # significand bits: integers up to 2^24 are exact in fp32
# Room on the grid: weights may grow to twice their start, perturbations reach 8 sigma.
GROWTH, NOISE_SIGMAS = 2.0, 8.0

GridBlock = tuple[Block, float]  # a block and its grid step G
# What a pass does to one block: (its values, its noise, a spare buffer of its size, G).
BlockPass = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, float], None]


def grid_step(largest: float, eps: float) -> float:
    """The power of two G whose multiples hold every value a block whose largest weight is
    `largest` will take, exactly."""
    bound = GROWTH * largest + NOISE_SIGMAS * eps
    return 2.0 ** (math.ceil(math.log2(bound)) - (FP32_BITS - 1))


def grid_blocks(
    keys: Sequence[tuple[torch.Tensor, int]], block_size: int, eps: float
) -> list[GridBlock]:
    """The blocks this rank holds of each (parameter, key), each with its grid step, set by the
    largest weight of the whole block: on N ranks a block cut by a shard's edge is held in
    parts, whose largest are maximised over the ranks (one all-reduce of every block's, which
    every rank numbers alike), so that each part is on the grid one rank gives the block."""
    numbered, total = [], 0
    for param, key in keys:
        numbered += [(block, total + block.index) for block in blocks_of(param, key, block_size)]
        total += len(row_blocks(param.shape, block_size))
    device = keys[0][0].device
    largest = torch.zeros(total, dtype=torch.float32, device=device)
    if numbered:
        slots = torch.tensor([slot for _, slot in numbered], device=device)
        held = torch.stack([block.values().abs().max() for block, _ in numbered])
        largest.index_copy_(0, slots, held.float())
    maxima = max_over_ranks(largest, [param for param, _ in keys]).tolist()
    return [(block, grid_step(maxima[slot], eps)) for block, slot in numbered]


class ZerothOrderSGD(SPSA):
    """MeZO on fp32 weights; `step(closure, seed)` runs one SPSA step (n perturbations averaged).

    `params`: the trainable parameters, as (name, parameter) pairs (the names key the noise, see
    zo_sweep.train.noise) or bare (named by their position).
    """

    weights = "fp32_masters"

    def __init__(
        self,
        params: Iterable[torch.nn.Parameter] | Iterable[tuple[str, torch.nn.Parameter]],
        *,
        lr: float,
        eps: float,
        weight_decay: float = 0.0,
        num_perturbations: int = 1,
        block_size: int | None = None,
        workers: int | None = None,
        combine: Combine = one_rank,
    ) -> None:
        super().__init__(
            lr=lr,
            eps=eps,
            weight_decay=weight_decay,
            num_perturbations=num_perturbations,
            combine=combine,
        )
        named = named_trainable(params)
        if any(param.dtype != torch.float32 for _, param in named):
            raise ValueError(
                "fp32 master weights train here; half-precision weights train with "
                "zo_sweep.train.forward_mezo (zo_weights=inference)"
            )
        device = named[0][1].device
        self.block_size = block_size or default_block_size(device)
        self.keys = [(param, parameter_key(name)) for name, param in named]
        with torch.no_grad():
            self.blocks = grid_blocks(self.keys, self.block_size, eps)
        self._snap_to_grid()
        largest = max((block.size for block, _ in self.blocks), default=1)
        self.workers = BlockWorkers(
            device, largest, worker_count(device, workers, len(self.blocks))
        )

    @torch.no_grad()
    def _snap_to_grid(self) -> None:
        # Moves each weight by at most G/2 (below 1e-7 of its block's largest): far below bf16.
        for block, grid in self.blocks:
            block.values().div_(grid).round_().mul_(grid)

    # --- the step ---------------------------------------------------------------------------

    def step(self, closure: Closure, seed: int) -> ZOStep:
        """One step; `closure` returns the loss on the current batch at the current parameters."""
        if self.num_perturbations == 1:
            return self._single_step(closure, seed)
        return self._averaged_step(closure, seed)

    def _single_step(self, closure: Closure, seed: int) -> ZOStep:
        loss_plus, grad = self._probe(closure, seed)
        (update,) = self.step_updates(seed, (grad,))
        if update.shrink:
            self._noise_pass(seed, self._restore_then_update(update))
        else:
            # Restore and update in one pass: the two grid integers add exactly.
            self._noise_pass(seed, self._restore_and_update(update.coefficient))
        return ZOStep(loss=loss_plus, projected_grad=grad, updates=(update,), grads=(grad,))

    def _averaged_step(self, closure: Closure, seed: int) -> ZOStep:
        """n-SPSA: average the n projected gradients' updates, all taken at the same theta."""
        probes = []
        for perturbation_seed in self.perturbation_seeds(seed):
            probes.append(self._probe(closure, perturbation_seed))
            self._noise_pass(perturbation_seed, self._perturb(1))  # restore
        losses = [loss for loss, _ in probes]
        grads = tuple(grad for _, grad in probes)
        updates = self.step_updates(seed, grads)
        self.apply_updates(updates)
        return ZOStep(
            loss=sum(losses) / len(losses),
            projected_grad=sum(grads) / len(grads),
            updates=updates,
            grads=grads,
        )

    def _probe(self, closure: Closure, seed: int) -> tuple[float, float]:
        """Leaves theta at theta - eps z; returns loss+ and the projected gradient."""
        self._noise_pass(seed, self._perturb(1))
        plus = float(closure())
        self._noise_pass(seed, self._perturb(-2))
        return self.projected(plus, closure())

    def apply_updates(self, updates: Sequence[Update]) -> None:
        for update in updates:
            self.apply_update(update.seed, update.coefficient, update.shrink)

    def apply_update(self, seed: int, coefficient: float, shrink: float = 0.0) -> None:
        """theta <- theta + coefficient z(seed) - shrink theta, rounded to the grid.

        The update a training step makes (`ZOStep.updates`): replayed onto the weights the step
        started from, it gives the same bits.
        """
        self._noise_pass(seed, self._update(coefficient, shrink))

    def draw_noise(self, seed: int) -> None:
        """Draw z(seed) for every block and drop it: the random number generator's share of a
        pass, the floor no implementation of a pass goes below."""
        self._noise_pass(seed, _ignore)

    def draw_step_noise(self, seed: int) -> None:
        """Every draw a one-perturbation step makes (three passes), and nothing else."""
        for _ in range(3):
            self.draw_noise(seed)

    # --- what one block does in a pass, given its noise ---------------------------------------

    def _perturb(self, times: int) -> BlockPass:
        """theta += times * eps z, with eps z rounded once: +1, -2, +1 come back to theta."""
        eps = self.eps

        def run(values: torch.Tensor, noise: torch.Tensor, _: torch.Tensor, grid: float) -> None:
            values.add_(_grid_steps(noise, eps, grid).mul_(times * grid))

        return run

    @staticmethod
    def _update(coefficient: float, shrink: float) -> BlockPass:
        def run(values: torch.Tensor, noise: torch.Tensor, _: torch.Tensor, grid: float) -> None:
            steps = noise.mul_(coefficient / grid)
            if shrink:
                steps.add_(values, alpha=-shrink / grid)
            values.add_(steps.round_().mul_(grid))

        return run

    def _restore_and_update(self, coefficient: float) -> BlockPass:
        eps = self.eps

        def run(values: torch.Tensor, noise: torch.Tensor, spare: torch.Tensor, grid: float):
            # The same rounding as apply_update's, so that a replay lands on the same bits.
            update = _grid_steps(spare.copy_(noise), coefficient, grid)
            restore = _grid_steps(noise, eps, grid).add_(update)
            values.add_(restore.mul_(grid))

        return run

    def _restore_then_update(self, update: Update) -> BlockPass:
        restore, apply = self._perturb(1), self._update(update.coefficient, update.shrink)

        def run(values: torch.Tensor, noise: torch.Tensor, spare: torch.Tensor, grid: float):
            spare.copy_(noise)
            restore(values, noise, spare, grid)
            apply(values, spare, noise, grid)

        return run

    # --- drawing the noise block by block, across the workers ---------------------------------

    def _noise_pass(self, seed: int, apply: BlockPass) -> None:
        def work(item: GridBlock, scratch: Scratch) -> None:
            block, grid = item
            apply(
                block.values(), block.noise(scratch, seed), scratch.buffers[1][: block.numel], grid
            )

        self.workers.run(self.blocks, work)

    def noise_like_parameters(self, seed: int) -> list[torch.Tensor]:
        return [noise_of(param, key, seed, self.block_size) for param, key in self.keys]


def _ignore(*_: object) -> None:
    pass


def _grid_steps(noise: torch.Tensor, alpha: float, grid: float) -> torch.Tensor:
    """round(alpha z / G), in the noise buffer: a whole number of grid steps per value."""
    return noise.mul_(alpha / grid).round_()
