"""Experiment trackers: a run's loss, dev metrics, config and final record in TensorBoard or MLflow.

A tracker is an optional view of what the job directory already holds, so the code takes plain
values (which tracker, where, the group and the run's name) and never decides what a run
does: the trainer feeds it live, `python -m zo_sweep.summary --export` replays finished jobs.
A tracker that stops working mid-run says so once on stderr and the run goes on without it.

    tracker = open_tracker("mlflow", "outputs/mlflow", "default/smollm2_135m/sst2_zo_original",
                           "lr=1e-06", params={"lr": 1e-6, ...})
    tracker.log_metrics(10, {"loss": 0.69})
    tracker.log_summary(result)
    tracker.close("ok")
"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from filelock import FileLock

from zo_sweep.errors import ConfigError

# Tracker name -> the package it needs (installed by the extra of the same name).
PACKAGES = {"tensorboard": "tensorboard", "mlflow": "mlflow"}
NO_TRACKER = ("", "none", "null")
MLFLOW_DB = "mlflow.db"
MLFLOW_ARTIFACTS = "artifacts"
# Summary fields that are not numbers to plot but say what the run was.
SUMMARY_TAGS = ("status", "metric", "trainer", "mode", "method", "model", "task", "data_kind")


class Tracker(Protocol):
    def log_metrics(self, step: int, metrics: Mapping[str, Any]) -> None: ...

    def log_summary(self, summary: Mapping[str, Any]) -> None: ...

    def close(self, status: str) -> None: ...


def check_tracker(kind: str | None) -> None:
    """Raise ConfigError (one line) for an unknown tracker or one whose package is missing."""
    if kind is None or kind in NO_TRACKER:
        return
    if kind not in PACKAGES:
        raise ConfigError(f"TRACKER={kind!r}: use one of none, {', '.join(PACKAGES)}")
    if importlib.util.find_spec(PACKAGES[kind]) is None:
        raise ConfigError(
            f"TRACKER={kind} needs the {PACKAGES[kind]} package: pip install -e '.[{kind}]'"
        )


def open_tracker(
    kind: str | None,
    directory: str | Path,
    group: str,
    run_name: str,
    params: Mapping[str, Any],
    tags: Mapping[str, str] | None = None,
) -> Tracker | None:
    """A started run in the tracker `kind` (None for no tracker), its config logged."""
    check_tracker(kind)
    if kind is None or kind in NO_TRACKER:
        return None
    if not str(directory):
        raise ConfigError(f"TRACKER={kind} needs TRACKER_DIR: where its files go")
    tracker_class = {"tensorboard": TensorBoardTracker, "mlflow": MlflowTracker}[kind]
    return Guarded(tracker_class(Path(directory), group, run_name, params, dict(tags or {})))


def numbers(values: Mapping[str, Any]) -> dict[str, float]:
    """The finite numeric values (booleans, nulls and the step itself left out), as floats."""
    return {
        str(key): float(value)
        for key, value in values.items()
        if key != "step"
        and isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    }


class TensorBoardTracker:
    """Event files in <directory>/<group>/<run_name>: `tensorboard --logdir <directory>`."""

    def __init__(
        self,
        directory: Path,
        group: str,
        run_name: str,
        params: Mapping[str, Any],
        tags: dict[str, str],
    ) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(directory / group / run_name))
        self.last_step = 0
        config = json.dumps({**params, **tags}, indent=2, sort_keys=True, default=str)
        self.writer.add_text("config", f"```\n{config}\n```", 0)

    def log_metrics(self, step: int, metrics: Mapping[str, Any]) -> None:
        self.last_step = max(self.last_step, step)
        for name, value in numbers(metrics).items():
            self.writer.add_scalar(name, value, step)

    def log_summary(self, summary: Mapping[str, Any]) -> None:
        for name, value in numbers(summary).items():
            self.writer.add_scalar(f"final/{name}", value, self.last_step)
        text = json.dumps(dict(summary), indent=2, sort_keys=True, default=str)
        self.writer.add_text("result", f"```\n{text}\n```", self.last_step)

    def close(self, status: str) -> None:
        self.writer.close()


class MlflowTracker:
    """A run in a local sqlite store, <directory>/mlflow.db; one experiment per group."""

    def __init__(
        self,
        directory: Path,
        group: str,
        run_name: str,
        params: Mapping[str, Any],
        tags: dict[str, str],
    ) -> None:
        from mlflow.entities import Param, RunTag
        from mlflow.tracking import MlflowClient

        directory = directory.resolve()
        directory.mkdir(parents=True, exist_ok=True)
        # Parallel jobs share the store: the first creates its tables, one at a time creates
        # an experiment.
        with FileLock(str(directory / f"{MLFLOW_DB}.lock")):
            self.client = MlflowClient(tracking_uri=mlflow_uri(directory))
            experiment = self.client.get_experiment_by_name(group)
            experiment_id = (
                experiment.experiment_id
                if experiment is not None
                else self.client.create_experiment(
                    group, artifact_location=(directory / MLFLOW_ARTIFACTS).as_uri()
                )
            )
        self.run_id = self.client.create_run(experiment_id, run_name=run_name).info.run_id
        self.client.log_batch(
            self.run_id,
            params=[Param(str(key), str(value)[:6000]) for key, value in params.items()],
            tags=[RunTag(key, str(value)) for key, value in tags.items()],
        )

    def log_metrics(self, step: int, metrics: Mapping[str, Any]) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        batch = [Metric(name, value, now, step) for name, value in numbers(metrics).items()]
        if batch:
            self.client.log_batch(self.run_id, metrics=batch)

    def log_summary(self, summary: Mapping[str, Any]) -> None:
        from mlflow.entities import Metric, RunTag

        now = int(time.time() * 1000)
        step = int(summary.get("steps_done") or 0)
        self.client.log_batch(
            self.run_id,
            metrics=[Metric(f"final/{k}", v, now, step) for k, v in numbers(summary).items()],
            tags=[RunTag(key, str(summary[key])) for key in SUMMARY_TAGS if key in summary],
        )
        self.client.log_dict(
            self.run_id, json.loads(json.dumps(summary, default=str)), "result.json"
        )

    def close(self, status: str) -> None:
        finished = status in ("ok", "skipped", "legacy")
        self.client.set_terminated(self.run_id, "FINISHED" if finished else "FAILED")


def mlflow_uri(directory: str | Path) -> str:
    """The tracking URI of the store in `directory`, as `mlflow ui --backend-store-uri` takes it."""
    return f"sqlite:///{Path(directory).resolve() / MLFLOW_DB}"


class Guarded:
    """A tracker whose failures end its logging with one line on stderr, never the run."""

    def __init__(self, tracker: Tracker) -> None:
        self.tracker: Tracker | None = tracker

    def log_metrics(self, step: int, metrics: Mapping[str, Any]) -> None:
        self._call("log_metrics", step, metrics)

    def log_summary(self, summary: Mapping[str, Any]) -> None:
        self._call("log_summary", summary)

    def close(self, status: str) -> None:
        self._call("close", status)

    def _call(self, method: str, *args: Any) -> None:
        if self.tracker is None:
            return
        try:
            getattr(self.tracker, method)(*args)
        except Exception as err:  # a view of the run must not end the run
            first = (str(err).strip().splitlines() or [type(err).__name__])[0]
            print(f"warning: tracker stopped logging ({first})", file=sys.stderr, flush=True)
            self.tracker = None
