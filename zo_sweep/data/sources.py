"""Which files one run's splits come from, found before any record is read.

As in MeZO's run.py, train and dev are drawn from the train file; the test examples come from
the validation file (`eval_split="validation"`, the default) or from the test file
(`eval_split="test"`, refused when that file has no labels, as the hub's COPA, CB and RTE test
files have none). The file the test examples come from is in the task's own folder, or in
another folder of the same task: `eval_root` (a folder of original task folders, for runs
trained on synthetic data) or `eval_dir` (one task folder).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from zo_sweep.data.layout import expected_names, find_task_folder, resolve_task_dir, split_file
from zo_sweep.data.readers import display_name, read_records
from zo_sweep.data.tasks import EVAL_SPLITS, DataError, TaskSpec, load_task_spec

# How the two settings are named where users set them: the sweep config and the trainer's env.
EVAL_ROOT_SETTING = "data.eval_root (env EVAL_ROOT)"
EVAL_SPLIT_SETTING = "task.eval_split (env EVAL_SPLIT)"


@dataclass(frozen=True)
class SplitSources:
    """The files of one run: train and dev come from `train`, the test examples from `eval`."""

    task: TaskSpec
    task_dir: Path
    train: Path
    eval: Path
    eval_split: str
    synthetic_train: Path | None = None


def locate_splits(
    task_dir: str | Path,
    task_name: str | None = None,
    synthetic_dir: str | Path | None = None,
    eval_dir: str | Path | None = None,
    eval_root: str | Path | None = None,
    eval_split: str | None = None,
    spec: TaskSpec | None = None,
) -> SplitSources:
    """Find the files a run reads; a missing one is a one-line DataError saying what to set.

    ``spec`` (e.g. built from a composed job config) wins over the task named by
    ``task_name`` or by the folder's name; ``eval_split`` defaults to the task's own.
    """
    spec = spec or _task_of(task_dir, task_name)
    folder = resolve_task_dir(task_dir, spec)
    split = eval_split or spec.eval_split
    if split not in EVAL_SPLITS:
        raise DataError(f"{EVAL_SPLIT_SETTING} is '{split}': use one of {', '.join(EVAL_SPLITS)}")
    synthetic = None
    if synthetic_dir is not None:
        synthetic = _required(resolve_task_dir(synthetic_dir, spec), "train", spec)
    eval_folder = _eval_folder(folder, spec, eval_dir, eval_root)
    eval_file = split_file(eval_folder, split, spec)
    if eval_file is None:
        raise DataError(_no_eval_file(eval_folder, split, spec, elsewhere=eval_folder != folder))
    if split == "test":
        _require_labels(eval_file, spec)
    return SplitSources(
        task=spec,
        task_dir=folder,
        train=_required(folder, "train", spec),
        eval=eval_file,
        eval_split=split,
        synthetic_train=synthetic,
    )


def _task_of(task_dir: str | Path, task_name: str | None) -> TaskSpec:
    """The task named, else the one the folder's name says; a folder that is neither an
    existing folder nor a task's name is reported as a missing folder."""
    if task_name:
        return load_task_spec(task_name)
    try:
        return load_task_spec(Path(task_dir).name)
    except DataError:
        if Path(task_dir).expanduser().is_dir():
            raise
        raise DataError(f"task data folder '{task_dir}' not found") from None


def _eval_folder(
    folder: Path, spec: TaskSpec, eval_dir: str | Path | None, eval_root: str | Path | None
) -> Path:
    if eval_dir:
        return resolve_task_dir(eval_dir, spec)
    if eval_root:
        try:
            return find_task_folder(eval_root, spec)
        except DataError as err:
            raise DataError(f"{EVAL_ROOT_SETTING}: {err}") from None
    return folder


def _no_eval_file(folder: Path, split: str, spec: TaskSpec, elsewhere: bool) -> str:
    missing = f"{folder.name}/: no {split} file to draw the test examples from (looked for "
    missing += f"{expected_names(split, spec)})"
    if elsewhere:
        return missing
    # A synthetic folder often holds a train file only: its test examples are original data.
    return f"{missing}; set {EVAL_ROOT_SETTING} to the folder of the original task folders"


def _require_labels(path: Path, spec: TaskSpec) -> None:
    if all(spec.is_unlabeled(record) for _, record in read_records(path)):
        raise DataError(
            f"{display_name(path)} has no labels (every '{spec.label.field}' is -1 or empty): "
            "the test metric cannot come from it; use task.eval_split=validation "
            "(env EVAL_SPLIT=validation)"
        )


def _required(folder: Path, split: str, spec: TaskSpec) -> Path:
    path = split_file(folder, split, spec)
    if path is None:
        raise DataError(
            f"{folder.name}/: no {split} file (looked for {expected_names(split, spec)})"
        )
    return path
