"""MeZO's noise z: a function of the step's seed, the parameter and the element's position.

z is never stored: every pass that needs it draws it again. Each parameter's z is cut into
blocks of whole rows of the parameter's full shape (its first dimension, the one FSDP2 shards
along), at most `block_size` values each, and block b of the parameter named `name` is drawn by
a generator seeded from (step seed, hash of `name`, b). So z depends on nothing else: not on
which other parameters train, not on how parameters are packed, ordered or split over ranks.
A rank that holds rows [a, b) of a parameter draws the blocks that overlap them and keeps
exactly those rows of z; a tied parameter (SmolLM2's embedding and LM head) has one name and so
one z at both of its uses.

Blocks are independent, so `BlockWorkers` draws them in any order on several threads (torch
releases the GIL in its kernels), each thread with its own generator and scratch buffers.
A counter-based generator drawing z inside the kernel that adds it (a GPU's Philox, keyed by
the block's seed, counting the element's index) would be the same function of the same three
things; `BlockWorkers.normal` is the one place that draws.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import torch

from zo_sweep.train.held_rows import held_rows
from zo_sweep.train.work_sizes import NOISE_BLOCK

Item = TypeVar("Item")
_MASK63 = (1 << 63) - 1
NOISE, ROUNDING = 0, 1  # the streams of a block: its z, and the random bits of its rounding


def parameter_key(name: str) -> int:
    """A parameter's identity in the noise: its name, hashed (stable across processes)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little")


def block_seed(step_seed: int, key: int, block: int, stream: int = NOISE) -> int:
    data = b"".join(value.to_bytes(8, "little", signed=False) for value in
                    (step_seed & _MASK63, key, block, stream))  # fmt: skip
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little") & _MASK63


def default_block_size(device: torch.device) -> int:
    return NOISE_BLOCK["cpu" if device.type == "cpu" else "cuda"]


def worker_count(device: torch.device, requested: int | None, blocks: int) -> int:
    """Threads that draw blocks: as asked, else one per core on the CPU and one on a GPU; never
    more than there are blocks, at least one."""
    default = torch.get_num_threads() if device.type == "cpu" else 1
    return max(min(requested or default, blocks), 1)


def row_blocks(shape: Sequence[int], block_size: int) -> list[tuple[int, int]]:
    """The blocks of a parameter of this (full) shape: [start, stop) ranges of its rows."""
    rows = shape[0] if len(shape) else 1
    per_block = max(1, block_size // max(math.prod(shape[1:]), 1))
    return [(start, min(start + per_block, rows)) for start in range(0, rows, per_block)]


def whole_block(shape: Sequence[int], block_size: int) -> int:
    """The number of values in the largest block of a parameter of this (full) shape."""
    start, stop = row_blocks(shape, block_size)[0]
    return (stop - start) * (math.prod(shape[1:]) if len(shape) else 1)


def as_rows(tensor: torch.Tensor) -> torch.Tensor:
    """The tensor as a 2-d view, one row per row of `row_blocks` (a vector's rows are its
    elements)."""
    return tensor.view(tensor.shape[0] if tensor.dim() else 1, -1)


@dataclass(frozen=True)
class Block:
    """Block `index` of a parameter whose noise key is `key`, as far as `param` holds it: its
    rows [start, stop) of `param` (the parameter, or a rank's shard of it), whose values are
    the block's noise from its value `skip` on. The block's generator draws `drawn` values
    (the whole block's), so a shard's part of a block gets the rows one rank would."""

    param: torch.Tensor
    key: int
    index: int
    start: int
    stop: int
    skip: int = 0
    drawn: int = 0  # 0: the block is whole in `param`

    def values(self, tensor: torch.Tensor | None = None) -> torch.Tensor:
        """The block's rows of `tensor` (default: the parameter itself), flat."""
        return as_rows(self.param if tensor is None else tensor)[self.start : self.stop].view(-1)

    @property
    def numel(self) -> int:
        return (self.stop - self.start) * as_rows(self.param).shape[1]

    @property
    def size(self) -> int:
        """How many values the block's generators draw."""
        return self.drawn or self.numel

    def noise(self, scratch: Scratch, seed: int) -> torch.Tensor:
        """The block's z for step seed `seed`, in the scratch's first buffer."""
        drawn = scratch.normal(block_seed(seed, self.key, self.index), self.size)
        return drawn[self.skip : self.skip + self.numel]

    def random16(self, scratch: Scratch, seed: int) -> torch.Tensor:
        """The random integers of the block's stochastic rounding for step seed `seed`."""
        drawn = scratch.random16(block_seed(seed, self.key, self.index, ROUNDING), self.size)
        return drawn[self.skip : self.skip + self.numel]


def blocks_of(param: torch.Tensor, key: int, block_size: int) -> list[Block]:
    """The blocks of `param` this rank holds: all of them, or those its shard overlaps (a
    block cut by a shard's edge is held in part; a rank with no rows of it holds none)."""
    held = held_rows(param)
    row_numel = math.prod(held.shape[1:]) if len(held.shape) else 1
    first_row, last_row = held.offset, held.offset + held.rows
    blocks = []
    for index, (first, last) in enumerate(row_blocks(held.shape, block_size)):
        start, stop = max(first, first_row), min(last, last_row)
        if start < stop:
            skip, drawn = (start - first) * row_numel, (last - first) * row_numel
            blocks.append(Block(held.local, key, index, start - first_row, stop - first_row,
                                skip, drawn))  # fmt: skip
    return blocks


def named_trainable(
    params: Iterable[torch.Tensor] | Iterable[tuple[str, torch.Tensor]],
) -> list[tuple[str, torch.nn.Parameter]]:
    """(name, parameter) of each trainable parameter once; bare parameters are named by their
    position. A parameter listed twice (tied) keeps its first name."""
    named, seen = [], set()
    for index, item in enumerate(params):
        name, param = item if isinstance(item, tuple) else (f"param{index}", item)
        if param.requires_grad and id(param) not in seen:
            seen.add(id(param))
            named.append((name, param))
    if not named:
        raise ValueError("no trainable parameters")
    return named


class Scratch:
    """One worker's generator, float32 buffers of a block's size and room for random bits."""

    def __init__(self, device: torch.device, block_size: int, buffers: int) -> None:
        self.generator = torch.Generator(device=device)
        self.buffers = [
            torch.empty(block_size, device=device, dtype=torch.float32) for _ in range(buffers)
        ]
        self._words = torch.empty(-(-block_size // 4), device=device, dtype=torch.int64)
        self._bits = torch.empty(block_size, device=device, dtype=torch.int32)

    def normal(self, seed: int, numel: int, buffer: int = 0) -> torch.Tensor:
        """z of one block (the seed says which) in buffer `buffer`."""
        self.generator.manual_seed(seed)
        return self.buffers[buffer][:numel].normal_(generator=self.generator)

    def random16(self, seed: int, numel: int) -> torch.Tensor:
        """`numel` random integers in [0, 2^16) as int32: four from each 64 random bits, which
        costs a third of drawing them one by one."""
        self.generator.manual_seed(seed)
        words = self._words[: -(-numel // 4)].random_(-(2**63), 2**63 - 1, generator=self.generator)
        bits = self._bits[:numel].copy_(words.view(torch.int16)[:numel])
        return bits.bitwise_and_(0xFFFF)


class BlockWorkers:
    """Runs one function over many blocks (or items holding one) on `workers` threads, each
    with its own Scratch; the blocks are independent, so any order gives the same bits.

    Each thread runs its kernels on one core: the threads are the parallelism. A block's
    kernels are too small to share out, and sharing them out costs far more than they do when
    the cores are busy (a 2^18-value multiply took 3.5 ms on two threads of a loaded 2-core
    machine, 0.025 ms on one).
    """

    def __init__(
        self, device: torch.device, largest_block: int, workers: int, buffers: int = 2
    ) -> None:
        self.scratch = [Scratch(device, largest_block, buffers) for _ in range(max(1, workers))]
        self._pool = None
        if len(self.scratch) > 1:
            self._pool = ThreadPoolExecutor(
                len(self.scratch), initializer=torch.set_num_threads, initargs=(1,)
            )

    def run(self, items: Sequence[Item], work: Callable[[Item, Scratch], None]) -> None:
        # Threads start outside the caller's inference mode (it is thread-local): pass it on.
        inference = torch.is_inference_mode_enabled()
        if self._pool is None or len(items) == 1:
            threads = torch.get_num_threads()  # the caller's own: one while it runs blocks
            torch.set_num_threads(1)
            try:
                _run_share(items, work, self.scratch[0], inference)
            finally:
                torch.set_num_threads(threads)
            return
        count = min(len(self.scratch), len(items))
        jobs = [
            self._pool.submit(
                _run_share, items[worker::count], work, self.scratch[worker], inference
            )
            for worker in range(count)
        ]
        for job in jobs:
            job.result()


def _run_share(
    items: Sequence[Item], work: Callable[[Item, Scratch], None], scratch: Scratch, inference: bool
) -> None:
    # In this order: leaving inference mode (False) turns gradients back on.
    with torch.inference_mode(inference), torch.no_grad():
        for item in items:
            work(item, scratch)


def noise_rows(
    shape: Sequence[int],
    key: int,
    seed: int,
    start: int,
    stop: int,
    block_size: int,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """Rows [start, stop) of the z of a parameter of (full) shape `shape`, float32: drawn from
    the blocks that overlap them, as a rank holding only those rows would draw them."""
    blocks = [
        (i, a, b)
        for i, (a, b) in enumerate(row_blocks(shape, block_size))
        if a < stop and b > start
    ]
    row_numel = math.prod(shape[1:]) if len(shape) else 1
    scratch = Scratch(torch.device(device), max((b - a) * row_numel for _, a, b in blocks), 1)
    pieces = []
    for index, first, last in blocks:
        rows = scratch.normal(block_seed(seed, key, index), (last - first) * row_numel)
        pieces.append(
            rows.view(last - first, row_numel)[
                max(start, first) - first : min(stop, last) - first
            ].clone()
        )
    return torch.cat(pieces).view(stop - start, *shape[1:])


def noise_of(param: torch.Tensor, key: int, seed: int, block_size: int) -> torch.Tensor:
    """The whole z of one parameter for `seed`, as float32 of its shape (tests, diagnostics)."""
    rows = param.shape[0] if param.dim() else 1
    whole = noise_rows(param.shape, key, seed, 0, rows, block_size, param.device)
    return whole.view(param.shape)
