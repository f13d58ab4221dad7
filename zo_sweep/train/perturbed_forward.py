"""A forward in which every layer runs on W + scale z(seed), the stored W never touched.

While `ForwardPerturbation.applied(seed, scale)` is open, each module that holds a trainable
parameter runs on a temporary `W + scale z` (computed in float32, rounded once to W's dtype),
dropped when the module's forward returns. Nothing is written into the stored weights, so
there is nothing to restore: the weights after the two forwards of a MeZO step are the weights
before them, bit for bit, in any dtype. The temporaries are small:

- a linear layer runs on slabs of whole output rows, at most `slab_size` values at a time
  (one matrix product per slab), so even the LM head costs a slab, not a second LM head;
- an embedding adds the perturbation to the rows it looked up only;
- any other module (a norm's weight) runs on a whole perturbed copy of its own parameters.

The module's parameters are read when it runs, and the noise is keyed by the parameter's name
and each row's index in the full parameter (zo_sweep.train.noise): a weight that another
forward pre-hook has just gathered (FSDP2's) is perturbed as it is, and a tied weight (the
embedding and the LM head) gets the same z at both uses. Outside `applied`, the modules are
exactly as they were: the forward is swapped in for the block and taken out after it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from zo_sweep.train.noise import (
    Block,
    BlockWorkers,
    Scratch,
    as_rows,
    block_seed,
    blocks_of,
    parameter_key,
    row_blocks,
)


@dataclass
class Site:
    """A module that holds trainable parameters directly: their local names and noise keys."""

    module: torch.nn.Module
    keys: dict[str, int]


class ForwardPerturbation:
    """The modules of `model` that hold the trainable parameters `named`, ready to run on their
    weights + scale z(seed) inside `applied(seed, scale)`."""

    def __init__(
        self,
        model: torch.nn.Module,
        named: list[tuple[str, torch.nn.Parameter]],
        workers: BlockWorkers,
        block_size: int,
        slab_size: int,
    ) -> None:
        self.workers, self.block_size, self.slab_size = workers, block_size, slab_size
        keys = {id(param): parameter_key(name) for name, param in named}
        self.sites = [
            Site(module, local)
            for module in model.modules()
            if (local := {n: keys[id(p)] for n, p in module._parameters.items() if id(p) in keys})
        ]
        self._seed, self._scale = 0, 0.0

    @contextmanager
    def applied(self, seed: int, scale: float) -> Iterator[None]:
        """Every module in the block runs on its weights + scale z(seed)."""
        self._seed, self._scale = seed, scale
        previous = [site.module.__dict__.get("forward") for site in self.sites]
        for site in self.sites:
            site.module.__dict__["forward"] = functools.partial(
                self._forward_of(site), site, site.module.forward
            )
        try:
            yield
        finally:
            for site, forward in zip(self.sites, previous, strict=True):
                if forward is None:
                    del site.module.__dict__["forward"]
                else:
                    site.module.__dict__["forward"] = forward

    def uses(self) -> list[tuple[torch.Tensor, int]]:
        """(parameter, key) at each of its uses: a tied weight once per module that holds it."""
        return [(s.module._parameters[n], key) for s in self.sites for n, key in s.keys.items()]

    # --- the perturbed weights ----------------------------------------------------------------

    def perturbed(self, tensor: torch.Tensor, key: int, start: int = 0, stop: int | None = None):
        """Rows [start, stop) of tensor + scale z, in the tensor's dtype (a new tensor)."""
        rows = as_rows(tensor)
        stop = rows.shape[0] if stop is None else stop
        out = torch.empty((stop - start, rows.shape[1]), dtype=tensor.dtype, device=tensor.device)
        seed, scale = self._seed, self._scale

        def work(block: Block, scratch: Scratch) -> None:
            noise = scratch.normal(block_seed(seed, key, block.index), block.numel)
            weight = scratch.buffers[1][: block.numel].copy_(block.values())
            # scale z first, then W: the same two roundings as (W.float() + scale * z)
            out[block.start - start : block.stop - start].view(-1).copy_(
                noise.mul_(scale).add_(weight)
            )

        self.workers.run(self._blocks(tensor, key, start, stop), work)
        return out.view(stop - start, *tensor.shape[1:]) if tensor.dim() else out.view(())

    def _blocks(self, tensor: torch.Tensor, key: int, start: int, stop: int) -> list[Block]:
        return [b for b in blocks_of(tensor, key, self.block_size) if start <= b.start < stop]

    def slabs(self, tensor: torch.Tensor) -> list[tuple[int, int]]:
        """Row ranges of whole blocks, at most `slab_size` values each (one block at least)."""
        row_numel = as_rows(tensor).shape[1]
        slabs: list[tuple[int, int]] = []
        for start, stop in row_blocks(tensor.shape, self.block_size):
            if slabs and (stop - slabs[-1][0]) * row_numel <= self.slab_size:
                slabs[-1] = (slabs[-1][0], stop)
            else:
                slabs.append((start, stop))
        return slabs

    # --- the forward of each kind of module ---------------------------------------------------

    def _forward_of(self, site: Site) -> Callable:
        kind = type(site.module)
        if kind is torch.nn.Linear:
            return self._linear
        if kind is torch.nn.Embedding and site.module.max_norm is None:
            return self._embedding
        return self._swapped

    def _linear(self, site: Site, _: Callable, x: torch.Tensor) -> torch.Tensor:
        module = site.module
        weight, bias = module.weight, module.bias
        if "bias" in site.keys:
            bias = self.perturbed(bias, site.keys["bias"])
        if "weight" not in site.keys:
            return F.linear(x, weight, bias)
        key = site.keys["weight"]
        slabs = self.slabs(weight)
        if len(slabs) == 1:
            return F.linear(x, self.perturbed(weight, key), bias)
        # One matrix product per slab, on the input as one contiguous matrix: a strided input
        # (the last positions of a batch, as the LM head gets them) would be copied per slab.
        rows = x.reshape(-1, x.shape[-1])
        out = torch.cat([F.linear(rows, self.perturbed(weight, key, *slab)) for slab in slabs], -1)
        out = out.view(*x.shape[:-1], out.shape[-1])
        return out if bias is None else out + bias

    def _embedding(self, site: Site, original: Callable, ids: torch.Tensor) -> torch.Tensor:
        if "weight" not in site.keys:
            return original(ids)
        key, weight = site.keys["weight"], site.module.weight
        out = F.embedding(ids, weight, site.module.padding_idx)
        flat_ids, flat_out = ids.reshape(-1), out.view(-1, weight.shape[1])
        blocks = blocks_of(weight, key, self.block_size)
        which = torch.div(flat_ids, blocks[0].stop - blocks[0].start, rounding_mode="floor")
        seed, scale = self._seed, self._scale

        def work(block: Block, scratch: Scratch) -> None:
            positions = (which == block.index).nonzero().view(-1)
            looked_up = flat_ids[positions]
            noise = scratch.normal(block_seed(seed, key, block.index), block.numel)
            rows = noise.view(-1, weight.shape[1])[looked_up - block.start].mul_(scale)
            flat_out.index_copy_(0, positions, rows.add_(weight[looked_up].float()).to(out.dtype))

        hit = set(which.unique().tolist())
        self.workers.run([block for block in blocks if block.index in hit], work)
        return out

    def _swapped(self, site: Site, original: Callable, *args, **kwargs):
        parameters = site.module._parameters
        stored = {name: parameters[name] for name in site.keys}
        try:
            for name, key in site.keys.items():
                parameters[name] = self.perturbed(stored[name], key)
            return original(*args, **kwargs)
        finally:
            parameters.update(stored)
