"""MeZO at the memory of inference (`zo_weights=inference`): weights in the forward's dtype.

The trainable weights stay in bf16 or fp16, as inference holds them: 2 bytes a parameter.

- Probe: the two forwards run on W + eps z and W - eps z layer by layer
  (zo_sweep.train.perturbed_forward); the stored weights are never written, so nothing is
  restored and nothing drifts.
- Update: one pass over every block computes W (1 - lr wd) - lr g z in float32 (the sum of the
  n updates of n-SPSA) and writes it back with stochastic rounding (zo_sweep.train.rounding),
  so that an update a thousand times below bf16's resolution is kept in expectation. The
  rounding's random numbers are drawn from the step's seed (their own stream of each block),
  so replaying a trajectory (zo_sweep.train.trajectory) lands on the same bits.

The noise is the same function of (seed, parameter name, position) as for fp32 masters
(zo_sweep.train.noise): for one seed both designs perturb along the same direction. On N ranks
(a model sharded by FSDP2) the forwards perturb each weight as FSDP2 gathers it, whole, and
each rank updates only the rows of its own shards, with the noise and the rounding's random
bits of those rows of the full parameter: the update one rank makes to them.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from zo_sweep.train.noise import (
    ROUNDING,
    Block,
    BlockWorkers,
    Scratch,
    block_seed,
    blocks_of,
    default_block_size,
    named_trainable,
    noise_of,
    parameter_key,
    whole_block,
    worker_count,
)
from zo_sweep.train.perturbed_forward import ForwardPerturbation
from zo_sweep.train.rounding import stochastic_round
from zo_sweep.train.spsa import SPSA, Closure, Combine, Update, ZOStep, one_rank
from zo_sweep.train.work_sizes import PERTURBED_SLAB

HALF = (torch.bfloat16, torch.float16)


class ForwardPerturbedSGD(SPSA):
    """MeZO on a model whose trainable weights are bf16 or fp16; `step(closure, seed)`."""

    weights = "inference"

    def __init__(
        self,
        model: torch.nn.Module,
        *,
        lr: float,
        eps: float,
        weight_decay: float = 0.0,
        num_perturbations: int = 1,
        block_size: int | None = None,
        slab_size: int | None = None,
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
        named = named_trainable(model.named_parameters())
        if any(param.dtype not in HALF for _, param in named):
            raise ValueError(
                "weights in the forward's dtype (bf16 or fp16) train here; fp32 weights train "
                "with zo_sweep.train.mezo (fp32 masters)"
            )
        device = named[0][1].device
        on_cpu = device.type == "cpu"
        self.block_size = block_size or default_block_size(device)
        self.keys = [(param, parameter_key(name)) for name, param in named]
        self.blocks = [
            block
            for param, key in self.keys
            for block in blocks_of(param.detach(), key, self.block_size)
        ]
        # Room for a whole block of any parameter: the forward perturbs whole (gathered) weights.
        largest = max(whole_block(param.shape, self.block_size) for param, _ in self.keys)
        self.workers = BlockWorkers(
            device, largest, worker_count(device, workers, len(self.blocks))
        )
        slab_size = slab_size or PERTURBED_SLAB["cpu" if on_cpu else "cuda"]
        self.perturbation = ForwardPerturbation(
            model, named, self.workers, self.block_size, slab_size
        )

    def step(self, closure: Closure, seed: int) -> ZOStep:
        """One step; `closure` returns the loss on the current batch (it runs the model)."""
        probes = [self._probe(closure, s) for s in self.perturbation_seeds(seed)]
        grads = tuple(grad for _, grad in probes)
        updates = self.step_updates(seed, grads)
        self.apply_updates(updates)
        return ZOStep(
            loss=sum(loss for loss, _ in probes) / len(probes),
            projected_grad=sum(grads) / len(grads),
            updates=updates,
            grads=grads,
        )

    def _probe(self, closure: Closure, seed: int) -> tuple[float, float]:
        """loss+ and the projected gradient; the stored weights are not touched."""
        with self.perturbation.applied(seed, self.eps):
            plus = float(closure())
        with self.perturbation.applied(seed, -self.eps):
            minus = float(closure())
        return self.projected(plus, minus)

    def apply_updates(self, updates: Sequence[Update]) -> None:
        """W <- round(W (1 - shrink) + sum of coefficient z(seed)), stochastically, in one pass."""
        keep = 1.0 - sum(update.shrink for update in updates)
        rounding_seed = updates[0].seed

        def work(block: Block, scratch: Scratch) -> None:
            stored = block.values()
            values = scratch.buffers[1][: block.numel].copy_(stored)
            if keep != 1.0:
                values.mul_(keep)
            for update in updates:
                values.add_(block.noise(scratch, update.seed), alpha=update.coefficient)
            stochastic_round(values, block.random16(scratch, rounding_seed), stored)

        self.workers.run(self.blocks, work)

    def draw_step_noise(self, seed: int) -> None:
        """Every draw a one-perturbation step makes, and nothing else: z at each use of each
        weight in both forwards (an embedding draws at most this), z and the rounding's random
        numbers in the update."""
        uses = [
            block
            for param, key in self.perturbation.uses()
            for block in blocks_of(param.detach(), key, self.block_size)
        ]

        def forward(block: Block, scratch: Scratch) -> None:
            scratch.normal(block_seed(seed, block.key, block.index), block.numel)

        def update(block: Block, scratch: Scratch) -> None:
            forward(block, scratch)
            scratch.random16(block_seed(seed, block.key, block.index, ROUNDING), block.numel)

        for _ in range(2):
            self.workers.run(uses, forward)
        self.workers.run(self.blocks, update)

    def noise_like_parameters(self, seed: int) -> list[torch.Tensor]:
        return [noise_of(param, key, seed, self.block_size) for param, key in self.keys]
