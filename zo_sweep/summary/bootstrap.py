"""Paired bootstrap over test examples: the confidence interval of a difference in accuracy.

Two runs scored on the same test examples are paired: resampling examples (not runs) keeps
the pairing, so the interval reflects how much the difference depends on which examples the
test set happens to hold. Several seeds of one side are averaged per example first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

RESAMPLES = 10_000
LEVEL = 0.95
SEED = 0
# Resamples are drawn in chunks so memory stays small on large test sets.
CHUNK = 1_000


Predictions = dict[str, tuple[Any, Any]]  # example id -> (prediction, gold)


def per_example_accuracy(runs: Sequence[Predictions], ids: Sequence[str]) -> np.ndarray:
    """For each id, the share of runs (seeds) that predicted it right."""
    right = [[run[i][0] == run[i][1] for i in ids] for run in runs]
    return np.array(right, dtype=float).mean(axis=0)


def shared_ids(runs: Sequence[Predictions]) -> list[str]:
    """The test examples every run was scored on, in a stable order; none if the runs disagree
    on a gold answer (the same id in different test files cannot be paired)."""
    if not runs:
        return []
    common = sorted(set(runs[0]).intersection(*runs[1:]))
    if any(run[i][1] != runs[0][i][1] for run in runs[1:] for i in common):
        return []
    return common


def paired_interval(
    baseline: np.ndarray,
    other: np.ndarray,
    *,
    resamples: int = RESAMPLES,
    level: float = LEVEL,
    seed: int = SEED,
) -> tuple[float, float, float]:
    """(mean difference other - baseline, low, high): a percentile bootstrap interval."""
    differences = np.asarray(other, dtype=float) - np.asarray(baseline, dtype=float)
    count = len(differences)
    generator = np.random.default_rng(seed)
    means = []
    for start in range(0, resamples, CHUNK):
        size = min(CHUNK, resamples - start)
        picks = generator.integers(0, count, size=(size, count))
        means.append(differences[picks].mean(axis=1))
    spread = np.concatenate(means)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(spread, [tail, 100 - tail])
    return float(differences.mean()), float(low), float(high)
