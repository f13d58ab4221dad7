"""Each method really trains a tiny random Llama; LoRA touches only adapters."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from zo_sweep.data.tasks import Example
from zo_sweep.train.best_state import BestState
from zo_sweep.train.mezo import ZerothOrderSGD
from zo_sweep.train.model import add_lora, load_model, trainable_parameters
from zo_sweep.train.scoring import collate, encode, evaluate, training_loss
from zo_sweep.train.settings import TrainSettings
from zo_sweep.train.steppers import make_stepper

WORDS = {0: ["awful", "dull", "bad"], 1: ["lovely", "great", "fine"]}


def toy_examples(count: int = 24) -> list[Example]:
    """A sentiment task a tiny model can learn: the label is set by one keyword."""
    examples = []
    for i in range(count):
        label = i % 2
        word = WORDS[label][i % 3]
        examples.append(Example(f"The film was {word}. It was", [" bad", " good"], label))
    return examples


def mean_loss(model, tokenizer, items) -> float:
    with torch.inference_mode():
        batch = collate(items, tokenizer.pad_token_id, torch.device("cpu"))
        return float(training_loss(model, batch, "ce"))


def train_steps(model, tokenizer, config: TrainSettings, steps: int) -> tuple[float, float]:
    items = encode(tokenizer, toy_examples())
    before = mean_loss(model, tokenizer, items)
    stepper = make_stepper(model, config, "ce", tokenizer.pad_token_id)
    for step in range(1, steps + 1):
        stepper.step(items[(step * 8) % 24 : (step * 8) % 24 + 8], step)
    return before, mean_loss(model, tokenizer, items)


@pytest.mark.parametrize(
    ("trainer", "mode", "lr", "steps"),
    [("regular", "ft", 1e-2, 20), ("regular", "lora", 2e-2, 20), ("zo", "ft", 5e-3, 150)],
)
def test_loss_falls(tiny_model_dir, trainer, mode, lr, steps) -> None:
    torch.manual_seed(0)
    model, tokenizer = load_model(str(tiny_model_dir))
    config = TrainSettings(trainer=trainer, mode=mode, lr=lr, eps=1e-3, bs=8, rank=4, alpha=8)
    if mode == "lora":
        model = add_lora(model, rank=4, alpha=8, dropout=0.0, targets=["q_proj", "v_proj"])
    before, after = train_steps(model, tokenizer, config, steps)
    assert after < before - 0.05, (before, after)


def test_lora_changes_only_adapter_weights(tiny_model_dir) -> None:
    model, tokenizer = load_model(str(tiny_model_dir))
    model = add_lora(model, rank=4, alpha=8, dropout=0.0, targets=["q_proj", "v_proj"])
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    for trainer in ("regular", "zo"):
        train_steps(model, tokenizer, TrainSettings(trainer=trainer, mode="lora", lr=1e-2, bs=8), 3)
    changed = {n for n, p in model.named_parameters() if not torch.equal(p.detach(), before[n])}
    assert changed, "no weight changed"
    assert all("lora_" in name for name in changed), sorted(changed)


def test_zo_moves_every_weight(tiny_model_dir) -> None:
    model, tokenizer = load_model(str(tiny_model_dir))
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    train_steps(model, tokenizer, TrainSettings(trainer="zo", lr=1e-2, eps=1e-3, bs=8), 1)
    unchanged = [n for n, p in model.named_parameters() if torch.equal(p.detach(), before[n])]
    assert not unchanged


def test_zo_with_zero_lr_restores_the_model(tiny_model_dir) -> None:
    model, tokenizer = load_model(str(tiny_model_dir))
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    train_steps(model, tokenizer, TrainSettings(trainer="zo", lr=1e-30, eps=1e-2, bs=8), 3)
    for name, param in model.named_parameters():
        torch.testing.assert_close(param.detach(), before[name], atol=1e-6, rtol=0)


def test_batched_scores_equal_one_by_one(tiny_model_dir) -> None:
    model, tokenizer = load_model(str(tiny_model_dir))
    examples = toy_examples(6) + [Example("Pick one:", [" a", " bb", " ccc long"], 2)]
    batched = evaluate(model, tokenizer, examples, batch_size=7)
    single = [evaluate(model, tokenizer, [e], batch_size=1)["accuracy"] for e in examples]
    assert batched["accuracy"] == pytest.approx(sum(single) / len(single))


def test_gradient_accumulation_matches_full_batch(tiny_model_dir) -> None:
    grads = []
    for accum in (1, 4):
        model, tokenizer = load_model(str(tiny_model_dir))
        items = encode(tokenizer, toy_examples(8))
        config = dataclasses.replace(
            TrainSettings(trainer="regular", optim="sgd", lr=1.0, bs=8), grad_accum=accum
        )
        stepper = make_stepper(model, config, "ce", tokenizer.pad_token_id)
        weight = model.model.embed_tokens.weight
        start = weight.detach().clone()
        stepper.step(items, 1)
        grads.append(start - weight.detach())
    torch.testing.assert_close(grads[0], grads[1], atol=1e-6, rtol=1e-4)


def test_zo_estimate_matches_the_true_directional_derivative(tiny_model_dir) -> None:
    """SPSA's (L(theta + eps z) - L(theta - eps z)) / 2 eps against autograd's grad . z."""
    model, tokenizer = load_model(str(tiny_model_dir))
    model.eval()
    batch = collate(encode(tokenizer, toy_examples(8)), tokenizer.pad_token_id, torch.device("cpu"))
    params = trainable_parameters(model)
    optimizer = ZerothOrderSGD(params, lr=0.0, eps=1e-3)
    estimates, exact = [], []
    for seed in (11, 12, 13):
        noise = torch.cat([z.view(-1) for z in optimizer.noise_like_parameters(seed)])
        grads = torch.autograd.grad(training_loss(model, batch, "ce"), params)
        exact.append(float(torch.dot(torch.cat([g.reshape(-1) for g in grads]), noise)))

        @torch.inference_mode()
        def closure() -> torch.Tensor:
            return training_loss(model, batch, "ce")

        estimates.append(optimizer.step(closure, seed=seed).projected_grad)
    assert estimates == pytest.approx(exact, rel=0.05, abs=1e-3), (estimates, exact)


def test_gradient_checkpointing_gives_the_same_update(tiny_model_dir) -> None:
    updates = []
    for checkpointing in (False, True):
        model, tokenizer = load_model(str(tiny_model_dir))
        items = encode(tokenizer, toy_examples(8))
        config = TrainSettings(
            trainer="regular", optim="sgd", lr=1.0, bs=8, grad_ckpt=checkpointing
        )
        stepper = make_stepper(model, config, "ce", tokenizer.pad_token_id)
        weight = model.model.layers[0].self_attn.q_proj.weight
        start = weight.detach().clone()
        stepper.step(items, 1)
        updates.append(start - weight.detach())
    assert updates[0].abs().sum() > 0
    torch.testing.assert_close(updates[0], updates[1], atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("in_memory", [True, False])
def test_best_state_restores_the_saved_weights(tiny_model_dir, tmp_path, in_memory) -> None:
    model, _ = load_model(str(tiny_model_dir))
    best = BestState(model, tmp_path, in_memory=in_memory)
    saved = {name: p.detach().clone() for name, p in model.named_parameters()}
    best.save(step=3)
    with torch.no_grad():
        for param in model.parameters():
            param.add_(1.0)
    best.restore()
    for name, param in model.named_parameters():
        torch.testing.assert_close(param.detach(), saved[name], atol=0, rtol=0)
    best.discard()
    assert not list(tmp_path.iterdir())


def test_shared_prompt_scores_equal_one_sequence_per_candidate(tiny_model_dir) -> None:
    from zo_sweep.train.scoring import candidate_scores

    model, tokenizer = load_model(str(tiny_model_dir))
    examples = [
        Example("The film was fine. It was", [" a", " the", " is"], 1),
        Example("Question: which one? Answer:", [" yes", " no"], 0),
    ]
    items = encode(tokenizer, examples)
    assert all(len(c) == 1 for item in items for c in item.candidates)
    with torch.inference_mode():
        shared = collate(items, tokenizer.pad_token_id, torch.device("cpu"))
        separate = collate(items, tokenizer.pad_token_id, torch.device("cpu"), share_prompt=False)
        assert shared.shared_prompt and not separate.shared_prompt
        torch.testing.assert_close(
            candidate_scores(model, shared), candidate_scores(model, separate), atol=1e-5, rtol=1e-5
        )
        for objective in ("ce", "lm"):
            torch.testing.assert_close(
                training_loss(model, shared, objective),
                training_loss(model, separate, objective),
                atol=1e-5,
                rtol=1e-5,
            )
