"""The summary on directories made by a real sweep (`python -m zo_sweep ... -m`) on the tiny model."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from helpers.sweep import run_sweep

from zo_sweep.summary import load, views
from zo_sweep.summary.plots import write_plots

HAS_APP = importlib.util.find_spec("zo_sweep.sweep.app") is not None
HAS_TRAINER = importlib.util.find_spec("zo_sweep.train") is not None
needs_app = pytest.mark.skipif(
    not HAS_APP, reason="needs the sweep application (zo_sweep.sweep.app)"
)
needs_trainer = pytest.mark.skipif(
    not (HAS_APP and HAS_TRAINER),
    reason="needs the sweep application (zo_sweep.sweep.app) and the trainer (zo_sweep.train)",
)


# One worker runs the module, so its module-scoped fixture runs once.
pytestmark = pytest.mark.xdist_group("summary_sweep")


def tiny_sweep(root: Path, model_dir: Path, *extra: str) -> str:
    """Run the sweep; returns its standard output."""
    done = run_sweep(
        f"model.id={model_dir}", "model.name=tiny", "task=sst2", "method=fo_lora",
        f"output_root={root}", "steps=2", "num_train=8", "num_dev=8", "num_eval=8", "gpus=[]",
        *extra, "-m", "lr=1e-3,1e-4", timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout


@needs_app
def test_a_dry_run_sweep_reads_back_from_hydra_directories(repo_root: Path, tmp_path: Path) -> None:
    tiny_sweep(tmp_path, tmp_path / "no_model_needed", "dry_run=true")
    frame = load(tmp_path)
    assert sorted(frame["lr"]) == [1e-4, 1e-3]
    assert set(frame["status"]) == {"dry_run"} and set(frame["model"]) == {"tiny"}
    assert frame["timestamp"].notna().all() and frame["timestamp"].nunique() == 1
    assert views.failures(frame).empty and views.best(frame).empty


@pytest.fixture(scope="module")
def sweep_root(
    tiny_model_dir: Path, repo_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    root = tmp_path_factory.mktemp("sweep")
    (root / "sweep_stdout.txt").write_text(tiny_sweep(root, tiny_model_dir))
    return root


@needs_trainer
def test_every_job_of_the_sweep_is_one_finished_row(sweep_root: Path) -> None:
    frame = load(sweep_root)
    assert sorted(frame["lr"]) == [1e-4, 1e-3]
    assert set(frame["status"]) == {"ok"}
    assert set(frame["model"]) == {"tiny"} and set(frame["task"]) == {"sst2"}
    assert set(frame["method"]) == {"fo_lora"} and set(frame["data"]) == {"original"}
    assert frame["timestamp"].notna().all() and frame["timestamp"].nunique() == 1
    assert (frame["steps_done"] == 2).all()
    assert frame["best_dev"].between(0, 1).all() and frame["test_at_best"].between(0, 1).all()


@needs_trainer
def test_views_and_plots_on_the_sweep(sweep_root: Path, tmp_path: Path) -> None:
    frame = load(sweep_root)
    best = views.best(frame)
    assert len(best) == 1 and best.loc[0, "configs_tried"] == 2
    assert list(views.compare(frame).columns) == ["model", "task", "metric", "fo_lora original"]
    assert views.failures(frame).empty
    names = sorted(path.name for path in write_plots(frame, tmp_path))
    assert names == ["curves_tiny_sst2.png", "lr_tiny_sst2.png"]


@needs_trainer
def test_every_job_writes_one_prediction_per_test_example(sweep_root: Path) -> None:
    for job in load(sweep_root)["path"]:
        lines = [json.loads(line) for line in (Path(job) / "predictions.jsonl").open()]
        assert len(lines) == 8
        assert len({line["id"] for line in lines}) == 8
        result = json.loads((Path(job) / "result.json").read_text())
        # Ids name the file the test examples came from (MeZO's protocol: the validation file).
        assert all(line["id"].startswith(f"{result['eval_split']}:") for line in lines)
        assert all(line["prediction"] in (0, 1) and line["gold"] in (0, 1) for line in lines)
        correct = sum(line["prediction"] == line["gold"] for line in lines) / 8
        assert correct == pytest.approx(result["test_at_best"])


@needs_trainer
def test_the_sweep_ends_with_its_verdict(sweep_root: Path) -> None:
    stdout = (sweep_root / "sweep_stdout.txt").read_text()
    tally_at = stdout.index("2 jobs: 2 ok")
    verdict = stdout[tally_at:].splitlines()[1:]
    assert verdict[0].startswith("verdict")
    assert verdict[1].startswith("  tiny sst2 fo_lora original: lr ")
