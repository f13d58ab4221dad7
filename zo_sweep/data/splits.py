"""Seeded train / dev / test splits of a task folder, sampled as in MeZO.

train and dev come from one seeded permutation of the train file (dev = its last ``num_dev``,
train = its first ``num_train``, never overlapping); the test examples come from the validation
file by default, or from the test file (see `sources`), with a fixed seed so that every training
seed is evaluated on the same examples. With a synthetic folder, half of the training examples
(by default) come from the synthetic train file; dev always comes from the original folder.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from zo_sweep.data.readers import display_name, read_records
from zo_sweep.data.sources import SplitSources, locate_splits
from zo_sweep.data.tasks import DataError, Example, RecordError, TaskSpec

log = logging.getLogger(__name__)

# MeZO samples its evaluation set with seed 0 whatever the training seed.
TEST_SEED = 0


@dataclass(frozen=True)
class Splits:
    """The examples one run trains, selects and tests on, and the files they came from."""

    task: TaskSpec
    train: list[Example]
    dev: list[Example]
    test: list[Example]
    # Where the examples were read from; two samplings of the same examples are equal.
    sources: SplitSources | None = field(default=None, compare=False)

    @property
    def eval_split(self) -> str | None:
        """Which split of the data the test examples came from: validation or test."""
        return self.sources.eval_split if self.sources else None


def load_splits(
    task_dir: str | Path,
    task_name: str | None = None,
    synthetic_dir: str | Path | None = None,
    num_train: int = 1000,
    num_dev: int = 100,
    num_eval: int = 1000,
    seed: int = 0,
    synthetic_fraction: float = 0.5,
    eval_dir: str | Path | None = None,
    eval_root: str | Path | None = None,
    eval_split: str | None = None,
    spec: TaskSpec | None = None,
) -> Splits:
    """Read a task folder (and optionally a synthetic one) and sample the three splits.

    ``task_name`` defaults to the folder's name ("Copa" -> copa); ``spec`` replaces the task's
    packaged spec (e.g. one built from a job's composed config). Sizes larger than the data are
    clipped with a warning. ``synthetic_fraction`` is the share of ``num_train`` drawn from
    ``synthetic_dir``'s train file. The test examples come from ``eval_split`` (default: the
    task's, validation) of the task's folder, of its folder under ``eval_root`` (runs trained on
    synthetic data are tested on original data), or of ``eval_dir``. A size of 0 gives an
    empty split (e.g. zero-shot runs).
    """
    _check_sizes(num_train=num_train, num_dev=num_dev, num_eval=num_eval, seed=seed)
    if not 0.0 <= synthetic_fraction <= 1.0:
        raise DataError(f"synthetic_fraction must be between 0 and 1, got {synthetic_fraction}")
    sources = locate_splits(
        task_dir,
        task_name=task_name,
        synthetic_dir=synthetic_dir,
        eval_dir=eval_dir,
        eval_root=eval_root,
        eval_split=eval_split,
        spec=spec,
    )
    spec = sources.task
    num_synthetic = round(num_train * synthetic_fraction) if synthetic_dir is not None else 0

    train, dev = _train_and_dev(sources.train, spec, num_train - num_synthetic, num_dev, seed)
    if sources.synthetic_train is not None:
        synthetic = _sample(sources.synthetic_train, spec, num_synthetic, seed, "train")
        train = _mix(train, synthetic, seed)
    test = _sample(sources.eval, spec, num_eval, TEST_SEED, "test")
    _require_nonempty(
        sources.task_dir, train=(train, num_train), dev=(dev, num_dev), test=(test, num_eval)
    )
    log.info(
        "%s: %d train, %d dev, %d test examples (test from %s)",
        spec.name, len(train), len(dev), len(test), display_name(sources.eval),
    )  # fmt: skip
    return Splits(task=spec, train=train, dev=dev, test=test, sources=sources)


def read_examples(path: Path, spec: TaskSpec) -> list[Example]:
    """Every record of a file as an Example; a bad record is a DataError naming its line."""
    examples = []
    for where, record in read_records(path):
        try:
            examples.append(spec.make_example(record))
        except RecordError as err:
            raise DataError(f"{where}: {err}") from None
    if not examples:
        raise DataError(f"{display_name(path)}: no records")
    return examples


def _train_and_dev(
    path: Path, spec: TaskSpec, num_train: int, num_dev: int, seed: int
) -> tuple[list[Example], list[Example]]:
    pool = read_examples(path, spec)
    n_train, n_dev = _fit_train_and_dev(len(pool), num_train, num_dev, display_name(path))
    order = _permutation(len(pool), seed)
    train = [pool[i] for i in order[:n_train]]
    dev = [pool[i] for i in order[len(pool) - n_dev :]]
    return train, dev


def _fit_train_and_dev(
    available: int, num_train: int, num_dev: int, source: str
) -> tuple[int, int]:
    """Clip the sizes to the file. A dev set that fits in half the file is honoured and train
    gets the rest; a file too small for that is divided in proportion to the two sizes."""
    if num_train + num_dev <= available:
        return num_train, num_dev
    if num_train == 0 or num_dev == 0:
        n_train, n_dev = min(num_train, available), min(num_dev, available)
    elif num_dev <= available // 2:
        n_train, n_dev = available - num_dev, num_dev
    else:
        n_dev = max(1, round(available * num_dev / (num_train + num_dev)))
        n_train = available - n_dev
    log.warning(
        "%s has %d examples, fewer than %d train + %d dev: using %d train + %d dev",
        source, available, num_train, num_dev, n_train, n_dev,
    )  # fmt: skip
    return n_train, n_dev


def _sample(path: Path, spec: TaskSpec, num: int, seed: int, split: str) -> list[Example]:
    pool = read_examples(path, spec)
    return [pool[i] for i in _permutation(len(pool), seed)[: _clip(num, len(pool), path, split)]]


def _mix(original: list[Example], synthetic: list[Example], seed: int) -> list[Example]:
    """Interleave by a seeded shuffle, so every batch sees both kinds of data."""
    combined = original + synthetic
    return [combined[i] for i in _permutation(len(combined), seed)]


def _clip(wanted: int, available: int, path: Path, split: str) -> int:
    if wanted > available:
        log.warning(
            "%s has %d examples, fewer than the %d %s examples asked for: using %d",
            display_name(path), available, wanted, split, available,
        )  # fmt: skip
    return min(wanted, available)


def _permutation(size: int, seed: int) -> list[int]:
    # RandomState's stream is frozen by numpy, so a seed gives the same split in every version.
    return np.random.RandomState(seed).permutation(size).tolist()


def _check_sizes(**sizes: int) -> None:
    for name, value in sizes.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise DataError(f"{name} must be a non-negative integer, got {value!r}")


def _require_nonempty(task_dir: Path, **splits: tuple[list[Example], int]) -> None:
    for name, (examples, wanted) in splits.items():
        if wanted > 0 and not examples:
            raise DataError(f"{task_dir.name}/: the {name} split is empty")
