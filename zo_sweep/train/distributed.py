"""The ranks of one run: the process group, who is who, and the few collectives the trainer uses.

A run started as `python -m zo_sweep.train` is one rank with no process group, and every
collective here returns its input: the single-process trainer runs exactly as it always has.
A run started by torchrun (`python -m zo_sweep.train.launch`, or torch.distributed.run itself)
finds RANK, WORLD_SIZE and LOCAL_RANK in its environment and joins one process group: NCCL on
GPUs, each rank on the GPU of its local rank, gloo on the CPU. A collective that waits longer
than COLLECTIVE_TIMEOUT fails instead of hanging; a rank that dies is noticed sooner by
torchrun's agent, which stops the others.

Rank 0 is the one that writes: metrics.jsonl, result.json, predictions.jsonl, the tracker.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import torch
import torch.distributed as dist

from zo_sweep.train.settings import TORCHRUN_ENV

# Longer than any wait of a healthy run: a slow rank's model loading, or rank 0's writing.
COLLECTIVE_TIMEOUT = timedelta(minutes=10)

T = TypeVar("T")


@dataclass(frozen=True)
class Ranks:
    """This process's place among the run's ranks; one rank and no group by default."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    grouped: bool = False  # a process group exists (started by torchrun)

    @property
    def main(self) -> bool:
        """Whether this rank writes the run's files."""
        return self.rank == 0

    def share(self, items: Sequence[T]) -> list[T]:
        """This rank's contiguous share of `items`; shares differ in size by one at most, and
        the ranks' shares in rank order are `items` again."""
        start, stop = (len(items) * k // self.world for k in (self.rank, self.rank + 1))
        return list(items[start:stop])

    def sum(self, values: Sequence[float]) -> list[float]:
        """Each value summed over the ranks, in one all-reduce (float64: a sum of the ranks'
        shares of a loss that equals one rank's loss to the last digit that matters)."""
        if not self.grouped:
            return [float(value) for value in values]
        tensor = torch.tensor(values, dtype=torch.float64, device=self._collective_device())
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor.tolist()

    def max(self, value: float) -> float:
        if not self.grouped:
            return float(value)
        tensor = torch.tensor([value], dtype=torch.float64, device=self._collective_device())
        dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
        return float(tensor.item())

    def any(self, flag: bool) -> bool:
        """Whether the flag is set on any rank: every rank gets the same answer."""
        return self.max(1.0 if flag else 0.0) > 0

    def gather(self, value: Any) -> list[Any]:
        """Every rank's `value` (any picklable object), in rank order, on every rank."""
        if not self.grouped:
            return [value]
        gathered: list[Any] = [None] * self.world
        dist.all_gather_object(gathered, value)
        return gathered

    def barrier(self) -> None:
        if self.grouped:
            dist.barrier()

    def _collective_device(self) -> torch.device:
        # NCCL moves only GPU tensors; gloo only CPU ones.
        if dist.get_backend() == dist.Backend.NCCL:
            return torch.device("cuda", torch.cuda.current_device())
        return torch.device("cpu")


def launched_by_torchrun(environ: Mapping[str, str] | None = None) -> bool:
    environ = os.environ if environ is None else environ
    return all(name in environ for name in TORCHRUN_ENV)


def start_ranks(device: torch.device, environ: Mapping[str, str] | None = None) -> Ranks:
    """Join the run's process group when torchrun started this process; else one rank."""
    environ = os.environ if environ is None else environ
    if not launched_by_torchrun(environ):
        return Ranks()
    rank, world = int(environ["RANK"]), int(environ["WORLD_SIZE"])
    local_rank = int(environ["LOCAL_RANK"])
    if device.type == "cuda":
        torch.cuda.set_device(local_rank)
    previous_hook = sys.excepthook
    dist.init_process_group(
        backend="nccl" if device.type == "cuda" else "gloo", timeout=COLLECTIVE_TIMEOUT
    )
    # torch prefixes a traceback's lines with the rank; torchrun's log prefix already does,
    # and twice is noise.
    sys.excepthook = previous_hook
    return Ranks(rank=rank, world=world, local_rank=local_rank, grouped=True)


def rank_device(device: torch.device, ranks: Ranks) -> torch.device:
    """The device this rank computes on: its local rank's GPU, or the CPU."""
    if device.type == "cuda" and ranks.grouped:
        return torch.device("cuda", ranks.local_rank)
    return device


def stop_ranks(ranks: Ranks) -> None:
    if ranks.grouped and dist.is_initialized():
        dist.destroy_process_group()
