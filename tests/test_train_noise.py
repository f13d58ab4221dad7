"""MeZO's noise is a function of the step's seed, the parameter's name and the element's
position in the full parameter: nothing about packing, other parameters or ranks."""

from __future__ import annotations

import torch

from zo_sweep.train.forward_mezo import ForwardPerturbedSGD
from zo_sweep.train.mezo import ZerothOrderSGD
from zo_sweep.train.noise import noise_of, noise_rows, parameter_key, row_blocks


def test_blocks_are_whole_rows_of_at_most_the_block_size() -> None:
    assert row_blocks((10, 30), 100) == [(0, 3), (3, 6), (6, 9), (9, 10)]
    assert row_blocks((250,), 100) == [(0, 100), (100, 200), (200, 250)]
    assert row_blocks((2, 500), 100) == [(0, 1), (1, 2)]  # a row longer than a block is one
    assert row_blocks((), 100) == [(0, 1)]


def test_any_rows_of_a_parameter_draw_the_same_noise_as_the_whole() -> None:
    """What a rank holding rows [a, b) of a parameter (FSDP2's shard) draws for itself."""
    param = torch.zeros(37, 11)
    key = parameter_key("model.layers.0.mlp.up_proj.weight")
    whole = noise_of(param, key, seed=5, block_size=40)
    for start, stop in [(0, 37), (0, 1), (3, 4), (2, 19), (18, 37), (36, 37)]:
        rows = noise_rows(param.shape, key, 5, start, stop, block_size=40)
        assert torch.equal(rows, whole[start:stop]), (start, stop)


def test_a_parameters_noise_does_not_depend_on_the_others_nor_on_the_design() -> None:
    """The same name and seed give the same z with other parameters beside it, in another
    order, and under either design (fp32 masters or bf16 weights perturbed in the forward)."""
    generator = torch.Generator().manual_seed(0)
    weights = {name: torch.randn(shape, generator=generator) for name, shape in
               [("embed.weight", (50, 8)), ("norm.weight", (8,)), ("head.weight", (12, 8))]}  # fmt: skip

    def noise_for(names: list[str]) -> dict[str, torch.Tensor]:
        params = [(n, torch.nn.Parameter(weights[n].clone())) for n in names]
        optimizer = ZerothOrderSGD(params, lr=0.0, eps=1e-3, block_size=64)
        return dict(zip(names, optimizer.noise_like_parameters(seed=9), strict=True))

    alone = noise_for(["head.weight"])["head.weight"]
    assert torch.equal(
        noise_for(["embed.weight", "norm.weight", "head.weight"])["head.weight"], alone
    )
    assert torch.equal(noise_for(["head.weight", "embed.weight"])["head.weight"], alone)

    model = torch.nn.Module()
    model.head = torch.nn.Linear(8, 12, bias=False, dtype=torch.bfloat16)
    bf16 = ForwardPerturbedSGD(model, lr=0.0, eps=1e-3, block_size=64)
    assert torch.equal(bf16.noise_like_parameters(seed=9)[0], alone)
