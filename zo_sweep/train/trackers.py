"""Experiment trackers: a run's loss, dev metrics, config and final record in TensorBoard,
MLflow or Weights & Biases.

A tracker is an optional view of what the job directory already holds, so the code takes plain
values (which tracker, where, the group and the run's name) and never decides what a run
does: the trainer feeds it live, `python -m zo_sweep.summary --export` replays finished jobs.
A tracker that stops working mid-run says so once on stderr and the run goes on without it.

    tracker = open_tracker("mlflow", "outputs/mlflow", "default/smollm2_135m/sst2_zo_original",
                           "lr=1e-06", params={"lr": 1e-6, ...})
    tracker.log_metrics(10, {"loss": 0.69})     # logged as train/loss
    tracker.log_summary(result)                 # final/best_dev, ...
    tracker.close("ok")

How each store names and groups runs: zo_sweep.train.tracker_stores.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from zo_sweep.errors import ConfigError
from zo_sweep.train.tracker_stores import STORES

# Tracker name -> the package it needs: each has the tracker's name, and so has its extra.
PACKAGES = {kind: kind for kind in STORES}
NO_TRACKER = ("", "none", "null")


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
    store = STORES[kind](Path(directory), group, run_name, params, dict(tags or {}))
    return Guarded(store)


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
