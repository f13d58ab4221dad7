"""MeZO's optimizer: same noise in every pass, exact restore, an unbiased directional derivative."""

from __future__ import annotations

import pytest
import torch

from zo_sweep.data.tasks import Example
from zo_sweep.train.mezo import ZerothOrderSGD
from zo_sweep.train.model import load_model, trainable_parameters
from zo_sweep.train.scoring import collate, encode, training_loss


def make_params(seed: int = 0) -> list[torch.nn.Parameter]:
    generator = torch.Generator().manual_seed(seed)
    shapes = [(300, 7), (5,), (64, 64), (3, 3, 3)]
    return [torch.nn.Parameter(torch.randn(s, generator=generator)) for s in shapes]


@pytest.mark.parametrize("workers", [1, 2])
def test_lr_zero_restores_parameters(workers: int) -> None:
    params = make_params()
    before = [p.detach().clone() for p in params]
    optimizer = ZerothOrderSGD(params, lr=0.0, eps=1e-2, block_size=500, workers=workers)
    for seed in range(3):
        optimizer.step(lambda: sum((p**2).sum() for p in params), seed=seed)
    for old, new in zip(before, params, strict=True):
        torch.testing.assert_close(new.detach(), old, atol=1e-5, rtol=0)


def test_half_precision_parameters_are_refused() -> None:
    params = [torch.nn.Parameter(torch.zeros(4, dtype=torch.bfloat16))]
    with pytest.raises(ValueError, match="fp32 master weights train here"):
        ZerothOrderSGD(params, lr=1e-6, eps=1e-3)


def test_every_parameter_moves_by_the_same_noise() -> None:
    params = make_params()
    before = [p.detach().clone() for p in params]
    optimizer = ZerothOrderSGD(params, lr=0.1, eps=1e-3, block_size=500)
    result = optimizer.step(lambda: sum((p**2).sum() for p in params), seed=7)
    noise = optimizer.noise_like_parameters(seed=7)
    flat_noise = torch.cat([z.view(-1) for z in noise])
    flat_delta = torch.cat([(p.detach() - b).view(-1) for p, b in zip(params, before, strict=True)])
    expected = -0.1 * result.projected_grad * flat_noise
    torch.testing.assert_close(flat_delta, expected, atol=2e-5, rtol=1e-4)


def test_projected_gradient_matches_directional_derivative() -> None:
    params = make_params()
    targets = [p.detach() for p in make_params(seed=1)]

    def loss() -> torch.Tensor:
        return sum(((p - t) ** 2).sum() for p, t in zip(params, targets, strict=True))

    # A central difference is exact on a quadratic, so only float rounding separates the two;
    # a large eps keeps that rounding (ulp of the loss / 2 eps) far below the tolerance.
    optimizer = ZerothOrderSGD(params, lr=0.0, eps=0.1, block_size=500)
    noise = torch.cat([z.view(-1) for z in optimizer.noise_like_parameters(seed=3)])
    grads = torch.autograd.grad(loss(), params)
    true_directional = float(torch.dot(torch.cat([g.view(-1) for g in grads]), noise))
    estimate = optimizer.step(lambda: loss().detach(), seed=3).projected_grad
    assert estimate == pytest.approx(true_directional, rel=1e-2)


def test_weight_decay_shrinks_parameters() -> None:
    params = make_params()
    norm_before = sum(float(p.detach().norm()) for p in params)
    optimizer = ZerothOrderSGD(params, lr=0.1, eps=1e-3, weight_decay=0.5)
    optimizer.step(lambda: 0.0, seed=0)  # zero loss: only the decay acts
    assert sum(float(p.detach().norm()) for p in params) == pytest.approx(
        norm_before * 0.95, rel=1e-3
    )


def test_several_perturbations_average_the_update() -> None:
    params = make_params()
    before = [p.detach().clone() for p in params]
    optimizer = ZerothOrderSGD(params, lr=0.0, eps=1e-2, num_perturbations=3)
    optimizer.step(lambda: sum((p**2).sum() for p in params), seed=1)
    for old, new in zip(before, params, strict=True):
        torch.testing.assert_close(new.detach(), old, atol=1e-5, rtol=0)


def test_descends_on_a_quadratic() -> None:
    params = [torch.nn.Parameter(torch.full((50,), 3.0))]
    optimizer = ZerothOrderSGD(params, lr=0.005, eps=1e-3)
    start = float((params[0] ** 2).sum())
    for seed in range(300):
        optimizer.step(lambda: (params[0] ** 2).sum(), seed=seed)
    assert float((params[0] ** 2).sum()) < 0.5 * start


def test_several_perturbations_apply_the_mean_of_their_updates() -> None:
    """n-SPSA moves theta by -lr/n * sum_k g_k z_k, every g_k taken at the same theta."""
    params = make_params()
    before = torch.cat([p.detach().reshape(-1) for p in params])
    target = torch.cat([p.detach().reshape(-1) for p in make_params(seed=1)])

    def loss() -> torch.Tensor:
        return ((torch.cat([p.reshape(-1) for p in params]) - target) ** 2).sum()

    lr = 1e-3
    # A central difference is exact on a quadratic; a large eps keeps float rounding small.
    optimizer = ZerothOrderSGD(params, lr=lr, eps=0.1, num_perturbations=2, block_size=500)
    optimizer.step(loss, seed=5)
    expected = torch.zeros_like(before)
    for perturbation_seed in (10, 11):  # step seed * num_perturbations + k
        noise = torch.cat([z.view(-1) for z in optimizer.noise_like_parameters(perturbation_seed)])
        directional = float(torch.dot(2 * (before - target), noise))
        expected -= lr * directional / 2 * noise
    delta = torch.cat([p.detach().reshape(-1) for p in params]) - before
    torch.testing.assert_close(delta, expected, atol=1e-4, rtol=1e-3)


# --- a bf16 run of the tiny model: the forward in bf16, fp32 master weights ---------------------


def bf16_model_and_loss(tiny_model_dir):
    model, tokenizer = load_model(str(tiny_model_dir), dtype="bfloat16", device="cpu")
    model.eval()
    examples = [
        Example(f"The film was {word}. It was", [" bad", " good"], i % 2)
        for i, word in enumerate(["awful", "lovely", "dull", "great"] * 2)
    ]
    batch = collate(encode(tokenizer, examples), tokenizer.pad_token_id, torch.device("cpu"))

    @torch.inference_mode()
    def loss() -> torch.Tensor:
        return training_loss(model, batch, "ce")

    return model, loss


def flat(params) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in params])


def test_bf16_model_moves_its_weights_by_the_intended_amount(tiny_model_dir) -> None:
    model, loss = bf16_model_and_loss(tiny_model_dir)
    params = trainable_parameters(model)
    # A realistic lr: each weight moves by about 1e-5, far below bf16's resolution of its value.
    optimizer = ZerothOrderSGD(params, lr=1e-6, eps=1e-3)
    before = flat(params).clone()
    intended = torch.zeros_like(before)
    for seed in range(3):
        step = optimizer.step(loss, seed=seed)
        noise = torch.cat([z.reshape(-1) for z in optimizer.noise_like_parameters(seed)])
        intended -= 1e-6 * step.projected_grad * noise
    actual = flat(params) - before
    assert float(intended.norm()) > 0
    kept = float(torch.dot(actual, intended) / torch.dot(intended, intended))
    assert kept == pytest.approx(1.0, abs=0.05)
    assert float(actual.norm()) == pytest.approx(float(intended.norm()), rel=0.05)


def test_bf16_model_restores_exactly_at_lr_zero(tiny_model_dir) -> None:
    model, loss = bf16_model_and_loss(tiny_model_dir)
    params = trainable_parameters(model)
    optimizer = ZerothOrderSGD(params, lr=0.0, eps=1e-3, workers=2)
    before = flat(params).clone()
    for seed in range(20):
        optimizer.step(loss, seed=seed)
    assert torch.equal(flat(params), before)


def test_replaying_the_updates_gives_the_trained_weights_bit_for_bit() -> None:
    trained, replayed = make_params(), make_params()
    target = [p.detach() for p in make_params(seed=1)]

    def loss() -> torch.Tensor:
        return sum(((p - t) ** 2).sum() for p, t in zip(trained, target, strict=True))

    optimizer = ZerothOrderSGD(trained, lr=1e-3, eps=1e-3, weight_decay=0.1, block_size=500)
    replay = ZerothOrderSGD(replayed, lr=1e-3, eps=1e-3, weight_decay=0.1, block_size=500)
    updates = [u for seed in range(5) for u in optimizer.step(loss, seed=seed).updates]
    for update in updates:
        replay.apply_update(update.seed, update.coefficient, update.shrink)
    assert torch.equal(flat(trained), flat(replayed))
