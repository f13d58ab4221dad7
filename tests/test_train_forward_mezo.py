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

from zo_sweep import records
from zo_sweep.data.tasks import Example
from zo_sweep.random_llama import build_random_llama
from zo_sweep.train.cli import main as train_main
from zo_sweep.train.forward_mezo import ForwardPerturbedSGD
from zo_sweep.train.model import load_model, load_run_model
from zo_sweep.train.noise import Scratch
from zo_sweep.train.rounding import stochastic_round
from zo_sweep.train.scoring import Batch, collate, encode, training_loss
from zo_sweep.train.settings import TrainSettings
from zo_sweep.train.spsa import Update
from zo_sweep.train.steppers import make_stepper
from zo_sweep.train.trajectory import TRAJECTORY_FILE, Trajectory, identity, replay
from zo_sweep.train.trajectory import main as trajectory_main
from zo_sweep.train.zo_weights import make_zo_optimizer

WORDS = ["awful", "lovely", "dull", "great"]


# One worker runs the module, so its module-scoped fixture runs once.
pytestmark = pytest.mark.xdist_group("forward_mezo")


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
            value = sign * float(low.double() + fraction * (high.double() - low.double()))
            out = torch.empty(count, dtype=dtype)
            stochastic_round(torch.full((count,), value), scratch.random16(3, count), out)
            assert set(out.abs().unique().tolist()) == {low.item(), high.item()}
            # The mean of 16384 roundings: one sigma is at most 0.004 of a unit.
            unit = float(high.double() - low.double())
            assert float(out.double().mean()) == pytest.approx(value, abs=0.02 * unit)
    exact = torch.linspace(-2, 2, 101).to(dtype)
    out = torch.empty_like(exact)
    stochastic_round(exact.float(), scratch.random16(5, exact.numel()), out)
    assert torch.equal(out, exact)


@pytest.mark.parametrize(
    ("mode", "n_perturb", "wd"), [("ft", 1, 0.0), ("ft", 2, 0.1), ("lora", 1, 0.0)]
)
def test_a_bf16_run_replays_to_the_same_bits(tiny_model_dir, tmp_path, mode, n_perturb, wd) -> None:
    """The trajectory's steps applied to the base weights give the trained weights exactly:
    the stochastic rounding draws its random numbers from each step's seed."""
    config = TrainSettings(
        model=str(tiny_model_dir), dtype="bfloat16", device="cpu", trainer="zo", mode=mode,
        lr=1e-2, eps=1e-2, bs=4, n_perturb=n_perturb, wd=wd, rank=2, alpha=4,
    )  # fmt: skip
    torch.manual_seed(config.seed)  # LoRA's initial weights, as a run and its rebuild draw them
    model, tokenizer = load_run_model(config, torch.device("cpu"))
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}
    stepper = make_stepper(model, config, "ce", tokenizer.pad_token_id)
    stepper.trajectory = Trajectory(config=identity(config))
    items = encode(tokenizer, [Example(f"It was {w}.", [" bad", " good"], i % 2)
                               for i, w in enumerate(WORDS)])  # fmt: skip
    for step in range(1, 7):
        stepper.step(items, step)
    stepper.trajectory.save(tmp_path / TRAJECTORY_FILE)

    torch.manual_seed(config.seed)
    base, _ = load_run_model(config, torch.device("cpu"))
    base_trainable = [p for p in base.parameters() if p.requires_grad]
    assert not all(torch.equal(a, b) for a, b in zip(base_trainable, trainable, strict=True))
    trajectory = Trajectory.load(tmp_path / TRAJECTORY_FILE)
    replay(make_zo_optimizer(base, config), trajectory, 0, trajectory.steps)
    for (name, rebuilt), trained in zip(base.named_parameters(), model.parameters(), strict=True):
        assert torch.equal(rebuilt, trained), name
    if mode == "ft":  # the rebuild command saves the bf16 weights as they trained
        assert trajectory_main([str(tmp_path), str(tmp_path / "model")]) == 0
        saved, _ = load_model(str(tmp_path / "model"), "bfloat16", "cpu", masters=False)
        for (name, rebuilt), trained in zip(
            saved.named_parameters(), model.parameters(), strict=True
        ):
            assert torch.equal(rebuilt, trained), name


@pytest.mark.parametrize(
    ("env", "held"),
    [
        ({"DTYPE": "bfloat16"}, "inference"),
        ({"DTYPE": "bfloat16", "ZO_WEIGHTS": "fp32_masters"}, "fp32_masters"),
        ({"DTYPE": "float32"}, "fp32_masters"),
        ({"DTYPE": "bfloat16", "TRAINER": "regular"}, None),
    ],
)
def test_result_records_how_mezo_held_its_weights(
    monkeypatch, tiny_model_dir, tmp_path, env: dict[str, str], held: str | None
) -> None:
    settings = {"MODEL": str(tiny_model_dir), "TASK": "sst2", "LR": "1e-3", "BS": "4",
                "STEPS": "2", "TRAIN": "8", "DEV": "4", "EVAL": "4", "OUTPUT_DIR": str(tmp_path)}  # fmt: skip
    for key, value in {**settings, **env}.items():
        monkeypatch.setenv(key, value)
    assert train_main([]) == 0
    result = records.read_result(tmp_path)
    assert result["status"] == "ok" and result["zo_weights"] == held
    assert result["hparams"]["zo_weights"] == env.get("ZO_WEIGHTS", "inference")


def test_an_unknown_weights_option_is_one_line(monkeypatch, capsys, tiny_model_dir, tmp_path):
    monkeypatch.setenv("MODEL", str(tiny_model_dir))
    monkeypatch.setenv("OUTPUT_DIR", str(tmp_path))
    monkeypatch.setenv("ZO_WEIGHTS", "bf16")
    assert train_main([]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "error: ZO_WEIGHTS='bf16': use one of inference, fp32_masters"
    )


def test_the_perturbation_applies_to_the_weights_fsdp2_gathers(tiny_model_dir, tmp_path) -> None:
    """Sharded by FSDP2 (one gloo rank, the CPU), each layer runs on its gathered weight plus
    the same z: the same losses as the unsharded model. (FSDP2's forward runs under no_grad:
    it does not take inference mode's tensors.)"""
    import torch.distributed as dist
    from torch.distributed.fsdp import fully_shard

    def probe_losses(sharded: bool) -> list[float]:
        model, batch = bf16_model(tiny_model_dir)
        optimizer = ForwardPerturbedSGD(model, lr=0.0, eps=1e-2, block_size=500)
        if sharded:
            for layer in model.model.layers:
                fully_shard(layer)
            fully_shard(model)
        losses = []
        for scale in (1e-2, -1e-2):
            with optimizer.perturbation.applied(7, scale), torch.no_grad():
                losses.append(float(training_loss(model, batch, "ce")))
        return losses

    store = f"file://{tmp_path / 'store'}"
    dist.init_process_group("gloo", init_method=store, rank=0, world_size=1)
    try:
        assert probe_losses(sharded=True) == probe_losses(sharded=False)
    finally:
        dist.destroy_process_group()
