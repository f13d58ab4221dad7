"""Where a tracker's run goes: TensorBoard event files, an MLflow store, a W&B run.

Every store names a metrics.jsonl line's values as `train/<name>` (loss, lr, seconds) or
`eval/<name>` (dev_accuracy, test_accuracy: an evaluation's), and the result record's numbers
as `final/<field>`. A group is `<purpose>/<cell>`: the runs of one purpose compare together, in
one MLflow experiment or W&B project (named after the purpose), and in TensorBoard's hparams
table and parallel coordinates over `<dir>/<purpose>/`.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from filelock import FileLock

MLFLOW_DB = "mlflow.db"
MLFLOW_ARTIFACTS = "artifacts"
# Summary fields that are not numbers to plot but say what the run was.
SUMMARY_TAGS = ("status", "metric", "trainer", "mode", "method", "model", "task", "data_kind")
# A metrics.jsonl value is an evaluation's when its name starts so; any other is training's.
EVAL_PREFIXES = ("dev_", "test_")
FINAL = "final/"
# The columns of TensorBoard's hparams table beside the hyperparameters.
HPARAMS_METRICS = ("final/best_dev", "final/test_at_best", "final/final_dev", "final/zero_shot_dev")
# W&B runs offline unless WANDB_MODE says otherwise; `wandb sync` uploads them later.
WANDB_MODE = "WANDB_MODE"
WANDB_DEFAULT_MODE = "offline"
OUTPUT_DIR_TAG = "output_dir"  # the job a run shows, which finds the run again (export)
FINISHED = ("ok", "skipped", "legacy")


def purpose_and_cell(group: str) -> tuple[str, str]:
    """`<purpose>/<model>/<cell>` -> (`<purpose>`, `<model>/<cell>`); a plain group is its own."""
    purpose, _, cell = group.partition("/")
    return purpose, cell


def tracked_metrics(line: Mapping[str, Any]) -> dict[str, float]:
    """A metrics.jsonl line's numbers named as every tracker shows them: train/..., eval/..."""
    return {
        f"{'eval' if name.startswith(EVAL_PREFIXES) else 'train'}/{name}": value
        for name, value in numbers(line).items()
    }


def final_metrics(summary: Mapping[str, Any]) -> dict[str, float]:
    """The result record's numbers as `final/<field>`."""
    return {f"{FINAL}{name}": value for name, value in numbers(summary).items()}


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
    """Event files in <directory>/<group>/<run_name>: `tensorboard --logdir <directory>`.

    Each run also holds its hyperparameters for the hparams plugin, whose table and parallel
    coordinates compare every run under the folder TensorBoard is given.
    """

    def __init__(
        self,
        directory: Path,
        group: str,
        run_name: str,
        params: Mapping[str, Any],
        tags: dict[str, str],
    ) -> None:
        from torch.utils.tensorboard import SummaryWriter
        from torch.utils.tensorboard.summary import hparams

        self.writer = SummaryWriter(log_dir=str(directory / group / run_name))
        self.last_step = 0
        config = json.dumps({**params, **tags}, indent=2, sort_keys=True, default=str)
        self.writer.add_text("config", f"```\n{config}\n```", 0)
        plain = {
            key: value for key, value in params.items() if isinstance(value, int | float | str)
        }
        for summary in hparams(plain, dict.fromkeys(HPARAMS_METRICS, 0.0)):
            self.writer.file_writer.add_summary(summary)

    def log_metrics(self, step: int, metrics: Mapping[str, Any]) -> None:
        self.last_step = max(self.last_step, step)
        for name, value in tracked_metrics(metrics).items():
            self.writer.add_scalar(name, value, step)

    def log_summary(self, summary: Mapping[str, Any]) -> None:
        for name, value in final_metrics(summary).items():
            self.writer.add_scalar(name, value, self.last_step)
        text = json.dumps(dict(summary), indent=2, sort_keys=True, default=str)
        self.writer.add_text("result", f"```\n{text}\n```", self.last_step)

    def close(self, status: str) -> None:
        self.writer.close()


class MlflowTracker:
    """A run in a local sqlite store, <directory>/mlflow.db; one experiment per purpose, the
    run named `<model>/<cell>/<run_name>` and tagged with its cell."""

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
        purpose, cell = purpose_and_cell(group)
        # Parallel jobs share the store: the first creates its tables, one at a time creates
        # an experiment.
        with FileLock(str(directory / f"{MLFLOW_DB}.lock")):
            self.client = MlflowClient(tracking_uri=mlflow_uri(directory))
            experiment = self.client.get_experiment_by_name(purpose)
            experiment_id = (
                experiment.experiment_id
                if experiment is not None
                else self.client.create_experiment(
                    purpose, artifact_location=(directory / MLFLOW_ARTIFACTS).as_uri()
                )
            )
        name = f"{cell}/{run_name}" if cell else run_name
        self.run_id = self.client.create_run(experiment_id, run_name=name).info.run_id
        self.client.log_batch(
            self.run_id,
            params=[Param(str(key), str(value)[:6000]) for key, value in params.items()],
            tags=[RunTag(key, str(value)) for key, value in {**tags, "cell": cell}.items()],
        )

    def log_metrics(self, step: int, metrics: Mapping[str, Any]) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        batch = [Metric(k, v, now, step) for k, v in tracked_metrics(metrics).items()]
        if batch:
            self.client.log_batch(self.run_id, metrics=batch)

    def log_summary(self, summary: Mapping[str, Any]) -> None:
        from mlflow.entities import Metric, RunTag

        now = int(time.time() * 1000)
        step = int(summary.get("steps_done") or 0)
        self.client.log_batch(
            self.run_id,
            metrics=[Metric(k, v, now, step) for k, v in final_metrics(summary).items()],
            tags=[RunTag(key, str(summary[key])) for key in SUMMARY_TAGS if key in summary],
        )
        self.client.log_dict(
            self.run_id, json.loads(json.dumps(summary, default=str)), "result.json"
        )

    def close(self, status: str) -> None:
        self.client.set_terminated(self.run_id, "FINISHED" if status in FINISHED else "FAILED")


def mlflow_uri(directory: str | Path) -> str:
    """The tracking URI of the store in `directory`, as `mlflow ui --backend-store-uri` takes it."""
    return f"sqlite:///{Path(directory).resolve() / MLFLOW_DB}"


class WandbTracker:
    """A W&B run under <directory>/wandb/, offline unless WANDB_MODE says otherwise (sync it
    with `wandb sync <directory>/wandb/offline-run-*`): the purpose is its project, the model
    and cell its group. A job's run has an id made from the job's folder, so an export does not
    log it twice."""

    def __init__(
        self,
        directory: Path,
        group: str,
        run_name: str,
        params: Mapping[str, Any],
        tags: dict[str, str],
    ) -> None:
        import wandb

        directory.mkdir(parents=True, exist_ok=True)
        purpose, cell = purpose_and_cell(group)
        self.run = wandb.init(
            dir=str(directory),
            project=purpose,
            group=cell or None,
            name=run_name,
            id=wandb_run_id(tags.get(OUTPUT_DIR_TAG)),
            config={**params, **tags},
            mode=os.environ.get(WANDB_MODE, WANDB_DEFAULT_MODE),  # type: ignore[arg-type]
            reinit="create_new",
            # The trainer's own output stays as it is (the job records its git commit itself).
            settings=wandb.Settings(silent=True, console="off", disable_git=True),
        )

    def log_metrics(self, step: int, metrics: Mapping[str, Any]) -> None:
        values = tracked_metrics(metrics)
        if values:
            self.run.log(values, step=step)

    def log_summary(self, summary: Mapping[str, Any]) -> None:
        tags = {key: str(summary[key]) for key in SUMMARY_TAGS if key in summary}
        self.run.summary.update({**final_metrics(summary), **tags})

    def close(self, status: str) -> None:
        import wandb

        self.run.finish(exit_code=0 if status in FINISHED else 1)
        # The run's file is complete, to read or to sync, only once W&B's service has stopped.
        wandb.teardown()


def wandb_run_id(output_dir: str | None) -> str | None:
    """The W&B run id of a job's folder (None: a fresh id)."""
    if not output_dir:
        return None
    return hashlib.sha256(str(Path(output_dir).resolve()).encode()).hexdigest()[:16]


def wandb_has_run(directory: str | Path, output_dir: str) -> bool:
    """Whether the W&B folder `directory` already holds the run of this job's folder."""
    return any((Path(directory) / "wandb").glob(f"*-{wandb_run_id(output_dir)}"))


STORES = {"tensorboard": TensorBoardTracker, "mlflow": MlflowTracker, "wandb": WandbTracker}
