"""The metrics a task may name in its spec (`metrics: [accuracy, macro_f1]`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence


def accuracy(predictions: Sequence[int], labels: Sequence[int]) -> float:
    return sum(p == g for p, g in zip(predictions, labels, strict=True)) / len(labels)


def macro_f1(predictions: Sequence[int], labels: Sequence[int]) -> float:
    """F1 averaged over every class seen in labels or predictions (scikit-learn's macro F1)."""
    pairs = list(zip(predictions, labels, strict=True))
    scores = []
    for cls in sorted(set(predictions) | set(labels)):
        true_pos = sum(p == cls and g == cls for p, g in pairs)
        predicted = sum(p == cls for p, _ in pairs)
        actual = sum(g == cls for _, g in pairs)
        scores.append(2 * true_pos / (predicted + actual) if predicted + actual else 0.0)
    return sum(scores) / len(scores)


METRICS: dict[str, Callable[[Sequence[int], Sequence[int]], float]] = {
    "accuracy": accuracy,
    "macro_f1": macro_f1,
}
