"""Experiment trackers, read back with their own readers: TensorBoard's event reader, MLflow's client."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.sweep import run_sweep, write_probe
from mlflow.tracking import MlflowClient
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from zo_sweep.data.layout import example_data_root
from zo_sweep.errors import ConfigError
from zo_sweep.summary.cli import main as summary_main
from zo_sweep.train.pipeline import train
from zo_sweep.train.settings import TrainSettings, check
from zo_sweep.train.trackers import check_tracker, mlflow_uri, open_tracker

GROUP = "default/tiny/sst2_zo_original"
RESULT = {"status": "ok", "metric": "accuracy", "best_dev": 0.75, "steps_done": 20, "model": "tiny"}


def _log_a_run(kind: str, directory: Path) -> None:
    tracker = open_tracker(kind, directory, GROUP, "lr=0.001", params={"lr": 1e-3, "bs": 4})
    assert tracker is not None
    tracker.log_metrics(0, {"step": 0, "dev_accuracy": 0.5})
    tracker.log_metrics(10, {"step": 10, "loss": 0.7, "lr": 1e-3})
    tracker.log_metrics(20, {"step": 20, "loss": 0.6, "dev_accuracy": 0.75, "note": "text"})
    tracker.log_summary(RESULT)
    tracker.close("ok")


def _scalars(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    events = EventAccumulator(str(run_dir))
    events.Reload()
    return {
        tag: [(event.step, round(event.value, 6)) for event in events.Scalars(tag)]
        for tag in events.Tags()["scalars"]
    }


def _mlflow_runs(directory: Path) -> list:
    client = MlflowClient(tracking_uri=mlflow_uri(directory))
    ids = [experiment.experiment_id for experiment in client.search_experiments()]
    return list(client.search_runs(ids)) if ids else []


def _history(directory: Path, run, key: str) -> list[tuple[int, float]]:
    client = MlflowClient(tracking_uri=mlflow_uri(directory))
    return sorted((m.step, m.value) for m in client.get_metric_history(run.info.run_id, key))


def test_tensorboard_run_reads_back_with_the_event_reader(tmp_path: Path) -> None:
    _log_a_run("tensorboard", tmp_path)
    scalars = _scalars(tmp_path / GROUP / "lr=0.001")
    assert scalars["loss"] == [(10, 0.7), (20, 0.6)]
    assert scalars["dev_accuracy"] == [(0, 0.5), (20, 0.75)]
    assert scalars["final/best_dev"] == [(20, 0.75)]
    assert "step" not in scalars and "note" not in scalars


def test_mlflow_run_reads_back_with_the_client(tmp_path: Path) -> None:
    _log_a_run("mlflow", tmp_path)
    (run,) = _mlflow_runs(tmp_path)
    client = MlflowClient(tracking_uri=mlflow_uri(tmp_path))
    assert client.get_experiment(run.info.experiment_id).name == GROUP
    assert (run.info.run_name, run.info.status) == ("lr=0.001", "FINISHED")
    assert run.data.params == {"lr": "0.001", "bs": "4"}
    assert run.data.tags["status"] == "ok" and run.data.tags["model"] == "tiny"
    assert _history(tmp_path, run, "loss") == [(10, 0.7), (20, 0.6)]
    assert run.data.metrics["final/best_dev"] == 0.75


def test_the_trainer_logs_loss_dev_config_and_result_live(tmp_path: Path, tiny_model_dir) -> None:
    config = TrainSettings(
        model=str(tiny_model_dir), task_dir=str(example_data_root("original") / "SST-2"),
        steps=4, eval_steps=2, log_steps=2, num_train=8, num_dev=8, num_eval=8, bs=4, lr=1e-3,
        output_dir=str(tmp_path / "job"), tracker="mlflow", tracker_dir=str(tmp_path / "mlflow"),
        tracker_group=GROUP, tracker_run_name="lr=0.001",
    )  # fmt: skip
    check(config)
    result = train(config)
    (run,) = _mlflow_runs(tmp_path / "mlflow")
    assert run.info.status == "FINISHED" and run.data.params["steps"] == "4"
    assert [step for step, _ in _history(tmp_path / "mlflow", run, "loss")] == [2, 4]
    assert [step for step, _ in _history(tmp_path / "mlflow", run, "dev_accuracy")] == [0, 2, 4]
    assert run.data.metrics["final/best_dev"] == result["best_dev"]
    assert "tracker" not in result["hparams"]


def test_a_sweep_hands_the_tracker_group_and_run_name_to_its_jobs(tmp_path: Path) -> None:
    probe = write_probe(tmp_path / "probe")
    common = ("-m", "lr=1e-3", f"method.script={probe}", "dry_run=true")
    tracked = run_sweep(*common, f"output_root={tmp_path / 'a'}", "tracker=mlflow")
    plain = run_sweep(*common, f"output_root={tmp_path / 'b'}")
    assert tracked.returncode == 0 and plain.returncode == 0, tracked.stderr + plain.stderr
    command = next((tmp_path / "a").rglob("command.sh")).read_text()
    assert "TRACKER=mlflow" in command and f"TRACKER_DIR={tmp_path / 'a'}/mlflow" in command
    assert "TRACKER_GROUP=default/smollm2_135m/sst2_zo_original" in command
    assert "TRACKER_RUN_NAME=lr=0.001" in command
    assert "TRACKER" not in next((tmp_path / "b").rglob("command.sh")).read_text()
    # Where a run is logged is not part of what it computes: resume finds it either way.
    hashes = [
        json.loads(next(tmp_path.glob(f"{d}/**/result.json")).read_text())["config_hash"]
        for d in "ab"
    ]
    assert hashes[0] == hashes[1]


def test_an_unknown_tracker_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    done = run_sweep("tracker=wandb", f"output_root={tmp_path}")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: unknown tracker 'wandb' (known: mlflow, none, tensorboard)"
    ]
    with pytest.raises(ConfigError, match="TRACKER='bogus'"):
        check_tracker("bogus")


def test_export_replays_finished_jobs_old_results_and_external_scripts(tmp_path: Path) -> None:
    outputs = _finished_jobs(tmp_path / "outputs")
    results = _old_results(tmp_path / "results")
    assert (
        summary_main(["--export", "tensorboard", str(tmp_path / "tb"), str(outputs), str(results)])
        == 0
    )
    own = _scalars(tmp_path / "tb" / "p/m/sst2_zo_original" / "lr=0.001")
    assert own["loss"] == [(10, 0.7), (20, 0.6)] and own["final/best_dev"] == [(20, 0.75)]
    external = _scalars(tmp_path / "tb" / "p/m/sst2_zo_original" / "lr=0.01")
    assert external == {"final/best_dev": [(0, 0.9)], "final/test_at_best": [(0, 0.8)]}
    old = _scalars(tmp_path / "tb" / "legacy/llama1b/copa_zo_original" / "1e-6_original")
    assert old["final/best_dev"] == [(0, 0.5)]

    dest = tmp_path / "mlflow"
    assert summary_main(["--export", "mlflow", str(dest), str(outputs), str(results)]) == 0
    runs = {run.info.run_name: run for run in _mlflow_runs(dest)}
    assert set(runs) == {"lr=0.001", "lr=0.01", "1e-6_original"}
    assert _history(dest, runs["lr=0.001"], "loss") == [(10, 0.7), (20, 0.6)]
    assert runs["1e-6_original"].data.metrics["final/test_at_best"] == 0.75
    assert runs["lr=0.001"].data.params["lr"] == "0.001"
    # A second export adds nothing: the store knows the jobs it holds.
    assert summary_main(["--export", "mlflow", str(dest), str(outputs), str(results)]) == 0
    assert len(_mlflow_runs(dest)) == 3


def _finished_jobs(outputs: Path) -> Path:
    """A zo_sweep job with metrics, an external script's job (result only) and a running job."""
    cell = outputs / "p" / "2024-05-01_10-00-00" / "m" / "sst2_zo_original"
    for leaf, lr, result, metrics in (
        ("lr=0.001", 0.001, RESULT, [{"step": 10, "loss": 0.7}, {"step": 20, "loss": 0.6}]),
        ("lr=0.01", 0.01, {"status": "ok", "best_dev": 0.9, "test_at_best": 0.8}, None),
        ("lr=0.1", 0.1, None, [{"step": 1, "loss": 0.9}]),
    ):
        job = cell / leaf
        (job / ".hydra").mkdir(parents=True)
        (job / ".hydra" / "config.yaml").write_text(
            f"purpose: p\nlr: {lr}\nsteps: 20\nmodel: {{name: m}}\ntask: {{name: sst2}}\n"
            "method: {name: zo}\ndata: {name: original}\n"
        )
        if result:
            (job / "result.json").write_text(json.dumps(result))
        if metrics:
            (job / "metrics.jsonl").write_text("".join(json.dumps(m) + "\n" for m in metrics))
    return outputs


def _old_results(results: Path) -> Path:
    copa = results / "Llama-3.2-1B" / "Copa" / "zo" / "original"
    copa.mkdir(parents=True)
    (copa / "1e-6_original.out").write_text(
        "===== Train set 0 =====\n{'accuracy': 0.75, 'dev_accuracy': 0.5}\n"
    )
    (copa / "1e-6_original.err").write_text("")
    return results
