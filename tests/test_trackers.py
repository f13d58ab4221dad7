"""Experiment trackers, read back with their own readers: TensorBoard's event reader, MLflow's
client, W&B's offline run file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.sweep import job_results, run_sweep, write_probe
from helpers.wandb_offline import offline_runs
from mlflow.tracking import MlflowClient
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData

from zo_sweep.data.layout import example_data_root
from zo_sweep.errors import ConfigError
from zo_sweep.records import read_metrics
from zo_sweep.summary.cli import main as summary_main
from zo_sweep.train.pipeline import train
from zo_sweep.train.settings import TrainSettings, check
from zo_sweep.train.tracker_stores import mlflow_uri
from zo_sweep.train.trackers import check_tracker, open_tracker

GROUP = "default/tiny/sst2_zo_original"
CELL = "tiny/sst2_zo_original"
RESULT = {"status": "ok", "metric": "accuracy", "best_dev": 0.75, "steps_done": 20, "model": "tiny"}


def _log_a_run(kind: str, directory: Path) -> None:
    tracker = open_tracker(kind, directory, GROUP, "lr=0.001", params={"lr": 1e-3, "bs": 4})
    assert tracker is not None
    tracker.log_metrics(0, {"step": 0, "dev_accuracy": 0.5, "test_accuracy": 0.25})
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


def _hparams(run_dir: Path) -> dict[str, float | str]:
    """The hyperparameters TensorBoard's hparams plugin shows for a run."""
    events = EventAccumulator(str(run_dir))
    events.Reload()
    content = events.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    start = HParamsPluginData.FromString(content).session_start_info
    return {
        name: value.number_value if value.HasField("number_value") else value.string_value
        for name, value in start.hparams.items()
    }


def test_tensorboard_run_reads_back_with_the_event_reader(tmp_path: Path) -> None:
    _log_a_run("tensorboard", tmp_path)
    scalars = _scalars(tmp_path / GROUP / "lr=0.001")
    assert scalars["train/loss"] == [(10, 0.7), (20, 0.6)]
    assert scalars["train/lr"] == [(10, 0.001)]
    assert scalars["eval/dev_accuracy"] == [(0, 0.5), (20, 0.75)]
    assert scalars["eval/test_accuracy"] == [(0, 0.25)]
    assert scalars["final/best_dev"] == [(20, 0.75)]
    assert not {"step", "loss", "note", "train/note"} & set(scalars)
    assert _hparams(tmp_path / GROUP / "lr=0.001") == {"lr": 0.001, "bs": 4.0}


def test_mlflow_run_reads_back_with_the_client(tmp_path: Path) -> None:
    _log_a_run("mlflow", tmp_path)
    (run,) = _mlflow_runs(tmp_path)
    client = MlflowClient(tracking_uri=mlflow_uri(tmp_path))
    # One experiment per purpose: a sweep's runs compare in one table.
    assert client.get_experiment(run.info.experiment_id).name == "default"
    assert (run.info.run_name, run.info.status) == (f"{CELL}/lr=0.001", "FINISHED")
    assert run.data.params == {"lr": "0.001", "bs": "4"}
    assert run.data.tags["status"] == "ok" and run.data.tags["model"] == "tiny"
    assert run.data.tags["cell"] == CELL
    assert _history(tmp_path, run, "train/loss") == [(10, 0.7), (20, 0.6)]
    assert _history(tmp_path, run, "eval/dev_accuracy") == [(0, 0.5), (20, 0.75)]
    assert run.data.metrics["final/best_dev"] == 0.75


def test_wandb_run_is_offline_and_reads_back_from_its_file(tmp_path: Path) -> None:
    _log_a_run("wandb", tmp_path)
    (run,) = offline_runs(tmp_path)
    assert (run.project, run.group, run.name) == ("default", CELL, "lr=0.001")
    assert run.config == {"lr": 0.001, "bs": 4}
    assert run.history == [
        {"_step": 0, "eval/dev_accuracy": 0.5, "eval/test_accuracy": 0.25},
        {"_step": 10, "train/loss": 0.7, "train/lr": 0.001},
        {"_step": 20, "train/loss": 0.6, "eval/dev_accuracy": 0.75},
    ]
    assert run.summary["final/best_dev"] == 0.75 and run.summary["status"] == "ok"
    assert run.exit_code == 0


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
    assert [step for step, _ in _history(tmp_path / "mlflow", run, "train/loss")] == [2, 4]
    assert [step for step, _ in _history(tmp_path / "mlflow", run, "eval/dev_accuracy")] == [
        0,
        2,
        4,
    ]
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


def test_a_wandb_sweep_logs_each_job_offline(tmp_path: Path, tiny_model_dir: Path) -> None:
    done = run_sweep(
        f"model.id={tiny_model_dir}", "model.name=tiny", "-m", "tracker=wandb",
        "purpose=wandb_study", "lr=1e-3,1e-4", "steps=2", "eval_steps=1", "num_train=8",
        "num_dev=8", "num_eval=8", f"output_root={tmp_path}", timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    runs = {run.name: run for run in offline_runs(tmp_path / "wandb")}
    results = job_results(tmp_path)  # by job folder, which names the run
    assert sorted(runs) == sorted(results) and len(runs) == 2
    for name, run in runs.items():
        assert (run.project, run.group) == ("wandb_study", "tiny/sst2_zo_original")
        (job,) = [path.parent for path in tmp_path.rglob(f"{name}/result.json")]
        lines = read_metrics(job)
        for key, tracked in (("loss", "train/loss"), ("dev_accuracy", "eval/dev_accuracy")):
            logged = [(row["_step"], row[tracked]) for row in run.history if tracked in row]
            assert logged == [(line["step"], line[key]) for line in lines if key in line]
            assert logged
        assert run.summary["final/best_dev"] == results[name]["best_dev"]
        assert run.config["lr"] == results[name]["hparams"]["lr"]


def test_an_unknown_tracker_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    done = run_sweep("tracker=bogus", f"output_root={tmp_path}")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: unknown tracker 'bogus' (known: mlflow, none, tensorboard, wandb)"
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
    assert own["train/loss"] == [(10, 0.7), (20, 0.6)] and own["final/best_dev"] == [(20, 0.75)]
    assert _hparams(tmp_path / "tb" / "p/m/sst2_zo_original" / "lr=0.001")["lr"] == 0.001
    external = _scalars(tmp_path / "tb" / "p/m/sst2_zo_original" / "lr=0.01")
    assert external == {"final/best_dev": [(0, 0.9)], "final/test_at_best": [(0, 0.8)]}
    old = _scalars(tmp_path / "tb" / "legacy/llama1b/copa_zo_original" / "1e-6_original")
    assert old["final/best_dev"] == [(0, 0.5)]

    dest = tmp_path / "mlflow"
    assert summary_main(["--export", "mlflow", str(dest), str(outputs), str(results)]) == 0
    runs = {run.info.run_name: run for run in _mlflow_runs(dest)}
    own, old = "m/sst2_zo_original/lr=0.001", "llama1b/copa_zo_original/1e-6_original"
    assert set(runs) == {own, "m/sst2_zo_original/lr=0.01", old}
    assert _history(dest, runs[own], "train/loss") == [(10, 0.7), (20, 0.6)]
    assert runs[old].data.metrics["final/test_at_best"] == 0.75
    assert runs[own].data.params["lr"] == "0.001"
    # A second export adds nothing: the store knows the jobs it holds.
    assert summary_main(["--export", "mlflow", str(dest), str(outputs), str(results)]) == 0
    assert len(_mlflow_runs(dest)) == 3

    dest = tmp_path / "wandb"
    for _ in range(2):  # the second export adds nothing either
        assert summary_main(["--export", "wandb", str(dest), str(outputs), str(results)]) == 0
    runs = {(run.project, run.group, run.name): run for run in offline_runs(dest)}
    assert set(runs) == {
        ("p", "m/sst2_zo_original", "lr=0.001"),
        ("p", "m/sst2_zo_original", "lr=0.01"),
        ("legacy", "llama1b/copa_zo_original", "1e-6_original"),
    }
    history = runs["p", "m/sst2_zo_original", "lr=0.001"].history
    assert [(row["_step"], row["train/loss"]) for row in history] == [(10, 0.7), (20, 0.6)]


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
