"""Which rows of a parameter this rank holds: all of them, or those of its FSDP2 shard.

MeZO's noise is a function of the rows of the full parameter (zo_sweep.train.noise), so a rank
that perturbs and updates only its own shard must know which rows its local tensor holds.
FSDP2 shards a parameter along its first dimension as `torch.chunk` does: of N ranks, rank r
holds rows [r c, min((r + 1) c, rows)) with c = ceil(rows / N), and a rank past the last row
holds none (FSDP2 pads its own storage; the local tensor leaves the padding out).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.distributed.tensor import DTensor, Shard


@dataclass(frozen=True)
class HeldRows:
    """The rows of a parameter of full shape `shape` that `local` holds, from row `offset` on."""

    local: torch.Tensor
    shape: torch.Size
    offset: int

    @property
    def rows(self) -> int:
        return self.local.shape[0] if self.local.dim() else 1


def held_rows(param: torch.Tensor) -> HeldRows:
    """This rank's rows of `param` (a plain tensor: all of them), sharing its storage."""
    if not isinstance(param, DTensor):
        return HeldRows(param.detach(), param.shape, 0)
    if tuple(param.placements) != (Shard(0),):
        raise ValueError(f"MeZO trains parameters sharded along rows, not {param.placements}")
    mesh = param.device_mesh
    rows, local = param.shape[0], param.detach().to_local()
    per_rank = -(-rows // mesh.size())
    offset = min(mesh.get_local_rank() * per_rank, rows)
    if local.shape[0] != min(per_rank, rows - offset):
        raise ValueError(f"a shard of {local.shape[0]} rows from row {offset} of {rows}")
    return HeldRows(local, param.shape, offset)


def max_over_ranks(values: torch.Tensor, params: Iterable[torch.Tensor]) -> torch.Tensor:
    """Each of `values` (on the parameters' device) maximised over the ranks that shard
    `params`, in one all-reduce; `values` itself where nothing is sharded."""
    sharded = next((param for param in params if isinstance(param, DTensor)), None)
    if sharded is not None:
        dist.all_reduce(values, op=dist.ReduceOp.MAX, group=sharded.device_mesh.get_group())
    return values
