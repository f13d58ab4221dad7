"""MeZO at the memory of inference: a bf16 tiny Llama trained with its weights in bf16.

The stored weights are never perturbed, the perturbed forwards are those of explicitly
perturbed weights, the projected gradient is the directional derivative, the stochastically
rounded updates are kept in expectation, and a replay lands on the same bits.
"""

from __future__ import annotations

import copy
import statistics
from pathlib import Path

import pytest
import torch

from zo_sweep.data.tasks import Example
from zo_sweep.random_llama import build_random_llama
from zo_sweep.train.forward_mezo import ForwardPerturbedSGD
from zo_sweep.train.model import load_model
from zo_sweep.train.noise import Scratch
from zo_sweep.train.rounding import stochastic_round
from zo_sweep.train.scoring import Batch, collate, encode, training_loss
from zo_sweep.train.spsa import Update

WORDS = ["awful", "lovely", "dull", "great"]


@pytest.fixture(scope="module")
def tied_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny Llama with its embedding and LM head tied, as SmolLM2's are."""
    from helpers.tiny_llama import TEST_CORPUS

    return build_random_llama(
        tmp_path_factory.mktemp("tied_llama"), hidden=32, layers=2, heads=4, kv_heads=2,
        intermediate=64, tie_embeddings=True, max_positions=512, corpus=TEST_CORPUS,
    )  # fmt: skip


def bf16_model(model_dir: Path) -> tuple[torch.nn.Module, Batch]:
    """The model as MeZO's default holds it in a bf16 run (every weight in bf16), and a batch."""
    model, tokenizer = load_model(str(model_dir), dtype="bfloat16", device="cpu", masters=False)
    model.eval()
    examples = [
        Example(f"The film was {word}. It was", [" bad", " good"], i % 2)
        for i, word in enumerate(WORDS * 2)
    ]
    return model, collate(encode(tokenizer, examples), tokenizer.pad_token_id, torch.device("cpu"))


def loss_of(model: torch.nn.Module, batch: Batch):
    @torch.inference_mode()
    def loss() -> torch.Tensor:
        return training_loss(model, batch, "ce")

    return loss


def snapshot(model) -> dict[str, torch.Tensor]:
    return {name: param.detach().clone() for name, param in model.named_parameters()}


def same_weights(model, weights: dict[str, torch.Tensor]) -> bool:
    return all(torch.equal(param, weights[name]) for name, param in model.named_parameters())


def test_no_stored_weight_changes_during_the_two_forwards(tiny_model_dir: Path) -> None:
    model, batch = bf16_model(tiny_model_dir)
    optimizer = ForwardPerturbedSGD(model, lr=1e-2, eps=1e-2, block_size=256, workers=2)
    before = snapshot(model)
    untouched = []

    def closure() -> torch.Tensor:
        untouched.append(same_weights(model, before))
        return loss_of(model, batch)()

    optimizer.step(closure, seed=3)
    assert untouched == [True, True]
    assert not same_weights(model, before), "the update does write the weights"
    assert not any("forward" in module.__dict__ for module in model.modules())


@pytest.mark.parametrize("tied", [False, True])
@pytest.mark.parametrize(("block_size", "slab_size"), [(None, None), (1000, 3000)])
def test_a_steps_losses_are_those_of_explicitly_perturbed_weights(
    tiny_model_dir: Path, tied_model_dir: Path, tied: bool, block_size, slab_size
) -> None:
    """Also in many blocks (the embedding perturbs the rows it looked up; the LM head runs in
    slabs of rows), and with a tied embedding, perturbed by the same z at both of its uses."""
    model, batch = bf16_model(tied_model_dir if tied else tiny_model_dir)
    eps = 1e-2
    optimizer = ForwardPerturbedSGD(
        model, lr=0.0, eps=eps, block_size=block_size, slab_size=slab_size, workers=2
    )
    noise = optimizer.noise_like_parameters(seed=7)
    expected = []
    for scale in (eps, -eps):
        perturbed = copy.deepcopy(model)
        trainable = [p for p in perturbed.parameters() if p.requires_grad]
        with torch.no_grad():
            for param, z in zip(trainable, noise, strict=True):
                param.copy_((param.float() + z * scale).to(param.dtype))
        expected.append(float(loss_of(perturbed, batch)()))
    step = optimizer.step(loss_of(model, batch), seed=7)
    assert step.loss == expected[0]
    assert step.projected_grad == (expected[0] - expected[1]) / (2 * eps)


def test_projected_gradient_matches_autograds_directional_derivative(tiny_model_dir) -> None:
    """Against grad . z of the same weights in fp32: the bf16 forward's rounding is the only
    difference, so the estimates follow the exact values closely, not exactly."""
    model, batch = bf16_model(tiny_model_dir)
    exact_model = copy.deepcopy(model).float()
    params = list(exact_model.parameters())
    gradient = torch.autograd.grad(training_loss(exact_model, batch, "ce"), params)
    optimizer = ForwardPerturbedSGD(model, lr=0.0, eps=4e-3)
    estimates, exact = [], []
    for seed in range(8):
        noise = optimizer.noise_like_parameters(seed)
        exact.append(float(sum((g * z).sum() for g, z in zip(gradient, noise, strict=True))))
        estimates.append(optimizer.step(loss_of(model, batch), seed=seed).projected_grad)
    estimates_t, exact_t = torch.tensor(estimates), torch.tensor(exact)
    typical = float(exact_t.square().mean().sqrt())
    assert float(torch.corrcoef(torch.stack([estimates_t, exact_t]))[0, 1]) > 0.98
    assert float((estimates_t - exact_t).abs().max()) < 0.3 * typical, (estimates, exact)


def test_updates_far_below_bf16s_resolution_are_kept_in_expectation(tiny_model_dir) -> None:
    """50 updates of about a tenth of a bf16 unit: each keeps its intended change on average
    (<actual, intended> / |intended|^2 near 1), where rounding to nearest keeps a fraction."""
    model, _ = bf16_model(tiny_model_dir)
    optimizer = ForwardPerturbedSGD(model, lr=0.0, eps=1e-3)
    coefficient = 1e-5
    kept, nearest = [], []
    for seed in range(50):
        before = [p.detach().float().clone() for p in model.parameters()]
        intended = [coefficient * z for z in optimizer.noise_like_parameters(seed)]
        optimizer.apply_updates([Update(seed, coefficient)])
        actual = [p.detach().float() - b for p, b in zip(model.parameters(), before, strict=True)]
        to_nearest = [(b + i).bfloat16().float() - b for b, i in zip(before, intended, strict=True)]
        kept.append(projection(actual, intended))
        nearest.append(projection(to_nearest, intended))
    assert statistics.mean(kept) == pytest.approx(1.0, abs=0.02)
    assert max(abs(k - 1) for k in kept) < 0.1
    assert statistics.mean(nearest) < 0.5


def projection(actual: list[torch.Tensor], intended: list[torch.Tensor]) -> float:
    flat_actual = torch.cat([a.reshape(-1) for a in actual]).double()
    flat_intended = torch.cat([i.reshape(-1) for i in intended]).double()
    return float(flat_actual @ flat_intended / (flat_intended @ flat_intended))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_stochastic_rounding_is_unbiased_and_keeps_what_the_dtype_holds(dtype) -> None:
    low = torch.tensor(0.3, dtype=dtype)
    high = torch.nextafter(low, torch.tensor(1.0, dtype=dtype))
    count = 1 << 14
    scratch = Scratch(torch.device("cpu"), count, 1)
    for fraction in (0.1, 0.5, 0.93):
        for sign in (1, -1):
            value = sign * (low.double() + fraction * (high.double() - low.double()))
            out = torch.empty(count, dtype=dtype)
            stochastic_round(torch.full((count,), value), scratch.random16(3, count), out)
            assert set(out.abs().unique().tolist()) == {low.item(), high.item()}
            # The mean of 16384 roundings: one sigma is at most 0.004 of a unit.
            assert float(out.double().mean()) == pytest.approx(value, abs=0.02 * float(high - low))
    exact = torch.linspace(-2, 2, 101).to(dtype)
    out = torch.empty_like(exact)
    stochastic_round(exact.float(), scratch.random16(5, exact.numel()), out)
    assert torch.equal(out, exact)
