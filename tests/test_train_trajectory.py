"""A MeZO run's trajectory rebuilds its weights bit for bit, and a stopped run goes on from it."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
import torch

from zo_sweep import records
from zo_sweep.data.tasks import Example, load_task_spec
from zo_sweep.train.loop import EncodedSplits, Run
from zo_sweep.train.model import load_model, load_run_model
from zo_sweep.train.scoring import encode
from zo_sweep.train.settings import TrainSettings
from zo_sweep.train.trajectory import TRAJECTORY_FILE, Trajectory, main, replay
from zo_sweep.train.zo_weights import make_zo_optimizer

EXAMPLES = [
    Example(f"The film was {word}. It was", [" bad", " good"], label)
    for word, label in [("awful", 0), ("lovely", 1), ("dull", 0), ("great", 1)] * 2
]


def _config(model_dir: Path, out_dir: Path, **overrides) -> TrainSettings:
    settings = dict(
        model=str(model_dir), trainer="zo", lr=1e-3, eps=1e-3, bs=4, steps=8, eval_steps=4,
        log_steps=1, checkpoint_steps=3, output_dir=str(out_dir),
    )  # fmt: skip
    return TrainSettings(**{**settings, **overrides})


def _train(config: TrainSettings, stop_at: int | None = None) -> tuple[Run, torch.nn.Module]:
    """Run the loop on the tiny model; `stop_at`: stopped (like SIGTERM) when that step logs."""
    model, tokenizer = load_run_model(config, torch.device("cpu"))
    items = encode(tokenizer, EXAMPLES)
    out_dir = Path(config.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    run = Run(model, tokenizer, load_task_spec("sst2"), EncodedSplits(items, items, items),
              config, out_dir)  # fmt: skip
    if stop_at is not None:
        log = run.log

        def log_then_stop(record: dict) -> None:
            log(record)
            if record.get("step") == stop_at and "loss" in record:
                raise KeyboardInterrupt

        run.log = log_then_stop
    with contextlib.suppress(KeyboardInterrupt):
        run.run()
    return run, model


def _assert_same_weights(left: torch.nn.Module, right: torch.nn.Module) -> None:
    for (name, a), (_, b) in zip(left.named_parameters(), right.named_parameters(), strict=True):
        assert torch.equal(a, b), f"{name} differs"


@pytest.mark.parametrize("n_perturb,wd", [(1, 0.0), (2, 0.1)])
def test_replayed_model_equals_the_trained_one_bit_for_bit(
    tiny_model_dir: Path, tmp_path: Path, n_perturb: int, wd: float
) -> None:
    config = _config(tiny_model_dir, tmp_path, n_perturb=n_perturb, wd=wd)
    _, trained = _train(config)
    trajectory = Trajectory.load(tmp_path / TRAJECTORY_FILE)
    assert trajectory.steps == 8 and all(len(grads) == n_perturb for grads in trajectory.grads)

    base, _ = load_model(str(tiny_model_dir))
    assert not all(
        torch.equal(a, b) for a, b in zip(base.parameters(), trained.parameters(), strict=True)
    )
    replay(make_zo_optimizer(base, config), trajectory, 0, trajectory.steps)
    _assert_same_weights(base, trained)


def test_final_model_is_saved_from_the_trajectory(tiny_model_dir: Path, tmp_path: Path) -> None:
    _, trained = _train(_config(tiny_model_dir, tmp_path / "run"))
    trajectory_bytes = (tmp_path / "run" / TRAJECTORY_FILE).stat().st_size
    assert trajectory_bytes < 4000
    assert main([str(tmp_path / "run"), str(tmp_path / "model")]) == 0
    rebuilt, _ = load_model(str(tmp_path / "model"))
    _assert_same_weights(rebuilt, trained)


@pytest.mark.parametrize("dtype", ["auto", "bfloat16"])  # fp32 masters; bf16 weights
def test_stopped_run_goes_on_from_its_trajectory(
    tiny_model_dir: Path, tmp_path: Path, dtype: str
) -> None:
    whole, whole_model = _train(_config(tiny_model_dir, tmp_path / "whole", dtype=dtype))
    _train(_config(tiny_model_dir, tmp_path / "stopped", dtype=dtype), stop_at=5)
    assert Trajectory.load(tmp_path / "stopped" / TRAJECTORY_FILE).steps == 5

    resumed, resumed_model = _train(_config(tiny_model_dir, tmp_path / "stopped", dtype=dtype))
    _assert_same_weights(resumed_model, whole_model)
    timing = {"train_seconds", "seconds_per_step"}
    expected = {k: v for k, v in whole.outcome.as_dict().items() if k not in timing}
    assert {k: v for k, v in resumed.outcome.as_dict().items() if k not in timing} == expected
    steps = [line["step"] for line in records.read_metrics(tmp_path / "stopped") if "loss" in line]
    assert steps == list(range(1, 9)), "each step logged once"


def test_trajectory_of_other_settings_is_not_resumed(tiny_model_dir: Path, tmp_path: Path) -> None:
    _train(_config(tiny_model_dir, tmp_path), stop_at=2)
    run, _ = _train(_config(tiny_model_dir, tmp_path, lr=2e-3, steps=2))
    assert run.resumed is None
    assert Trajectory.load(tmp_path / TRAJECTORY_FILE).config["lr"] == 2e-3


def test_twenty_thousand_steps_fit_in_a_few_hundred_kilobytes(tmp_path: Path) -> None:
    trajectory = Trajectory(config={"lr": 1e-6})
    generator = torch.Generator().manual_seed(0)
    for step in range(1, 20_001):
        trajectory.record(step, [float(torch.randn(1, generator=generator))], 1e-6)
    trajectory.save(tmp_path / TRAJECTORY_FILE)
    assert (tmp_path / TRAJECTORY_FILE).stat().st_size < 400_000
    loaded = Trajectory.load(tmp_path / TRAJECTORY_FILE)
    assert loaded.grads == trajectory.grads and loaded.seeds == trajectory.seeds


def test_lora_run_is_rebuilt_from_its_trajectory(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole pipeline, so the rebuild draws LoRA's initial weights as the run did."""
    from peft import PeftModel

    from zo_sweep.train.pipeline import train

    trained: dict[str, torch.nn.Module] = {}
    run_once = Run.run

    def run_and_keep(self: Run):
        outcome = run_once(self)
        trained["model"] = self.model
        return outcome

    monkeypatch.setattr(Run, "run", run_and_keep)
    train(
        TrainSettings(
            model=str(tiny_model_dir), task_dir="sst2", trainer="zo", mode="lora", lr=1e-2, bs=2,
            steps=4, num_train=8, num_dev=4, num_eval=4, output_dir=str(tmp_path / "run"),
        )
    )  # fmt: skip
    assert main([str(tmp_path / "run"), str(tmp_path / "adapters")]) == 0
    base, _ = load_model(str(tiny_model_dir))
    rebuilt = PeftModel.from_pretrained(base, tmp_path / "adapters")
    adapters = {name: p for name, p in trained["model"].named_parameters() if "lora_" in name}
    assert adapters and any(not torch.all(p == 0) for p in adapters.values())
    for name, param in rebuilt.named_parameters():
        if "lora_" in name:
            assert torch.equal(param, adapters[name]), name
