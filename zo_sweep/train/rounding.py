"""Stochastic rounding: a float32 value written into bf16 or fp16, kept in expectation.

A MeZO update at lr 1e-6 moves a weight by about 1e-5, far below bf16's resolution at a typical
weight (about 1e-4): rounded to the nearest bf16 value, most updates vanish (the benchmark's
`bf16_rtn_update_kept`). Rounded up with probability (x - lo) / (hi - lo), to the next value
`hi` on x's side of the nearest `lo`, and to `lo` otherwise, the stored value is x on average:
the update survives in expectation, at the cost of noise of about one unit in the last place
on the weights it moves. The random numbers come from the caller (MeZO draws them from the
step's seed), so the same step rounds the same way when a trajectory is replayed.
"""

from __future__ import annotations

import torch

LOW_HALF = -(1 << 16)  # 0xFFFF0000 as an int32: the bits of a float32 that bf16 keeps


def stochastic_round(values: torch.Tensor, random16: torch.Tensor, out: torch.Tensor) -> None:
    """out <- `values` (float32, overwritten) rounded stochastically to out's dtype, with one
    random integer in [0, 2^16) per value. A value the dtype holds exactly is kept as it is."""
    if out.dtype == torch.bfloat16:
        # bf16 is the top half of a float32: adding r to the low half carries into the top half
        # with probability (low half) / 2^16, which is (x - lo) / (hi - lo); then cut the low half.
        bits = values.view(torch.int32)
        bits.add_(random16).bitwise_and_(LOW_HALF)
        out.copy_(values)
        return
    uniform = random16.float().mul_(2.0**-16)
    nearest = values.to(out.dtype)
    near = nearest.float()
    gap = values.sub_(near)  # exact: the bits of the value that the dtype cannot hold
    toward = torch.where(gap > 0, torch.inf, -torch.inf).to(out.dtype)
    other = torch.nextafter(nearest, toward)  # the neighbour of `nearest` on the value's side
    up = uniform < gap.div_(other.float().sub_(near))  # P(up) = |gap| / |other - nearest|
    out.copy_(torch.where(up, other, nearest))
