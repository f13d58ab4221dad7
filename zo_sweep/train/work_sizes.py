"""Sizes of MeZO's working buffers, by device type: the trainer allocates them and the memory
plan counts them, which must be planned on machines without torch's devices (a login node)."""

from __future__ import annotations

# Values of noise drawn per block (zo_sweep.train.noise): a few blocks per decoder weight on the
# CPU, so that every core draws a layer's noise; fewer, larger kernels on a GPU, which is bound
# by launches, not cache. Each worker thread holds two fp32 buffers of a block.
NOISE_BLOCK = {"cpu": 1 << 18, "cuda": 1 << 24}
NOISE_BUFFERS_PER_WORKER = 2
# Values of a linear layer's weight perturbed at once in the forward (perturbed_forward): 4 MB
# in bf16 on the CPU; a GPU keeps its matrix products large.
PERTURBED_SLAB = {"cpu": 1 << 21, "cuda": 1 << 27}
