"""MeZO's closing log lines: `===== Train set N =====` and a dict of metrics.

MeZO's run.py ends a run with these two lines. The project's trainer prints them too, so that
tools reading old logs read its runs; the job runner reads them from a foreign script that
writes no result.json, and the legacy import from old runs' logs.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from typing import Any

# The first closing line; the metrics dict follows it.
TRAIN_SET_LINE = re.compile(r"^=+\s*Train set\s+(\S+)\s*=+\s*$")
# How numpy 2 and torch print a number inside a dict: np.float64(0.61), np.float32(0.5),
# numpy.int64(3), tensor(0.6100), tensor(0.61, device='cuda:0'). The wrapper is dropped.
NUMBER_WRAPPER = re.compile(
    r"\b(?:(?:np|numpy|torch)\.)?(?:float(?:16|32|64|128)?|u?int(?:8|16|32|64)?|bool_|tensor)"
    r"\(\s*([^(),]*?)\s*(?:,[^()]*)?\)"
)
# Python prints a float NaN or infinity as a bare name, which is no literal.
NON_FINITE = re.compile(r"(?<![\w'\"])-?(?:nan|inf)(?![\w'\"])")


def parse_closing_lines(lines: Iterable[str]) -> tuple[str, dict[str, Any]] | None:
    """Find the last `===== Train set N =====` line and the metrics dict printed after it.

    Returns (train set id, metrics) or None when the log has no complete pair (a run killed
    before its end, or a script that does not log in MeZO's way).
    """
    found = None
    pending_id = None
    for line in _strip_lines(lines):
        match = TRAIN_SET_LINE.match(line)
        if match:
            pending_id = match.group(1)
            continue
        if pending_id is not None:
            metrics = _literal_dict(line)
            if metrics is not None:
                found = (pending_id, metrics)
            pending_id = None
    return found


def metric_fields(metrics: dict[str, Any], primary: str = "accuracy") -> dict[str, Any]:
    """result.json's metric fields from MeZO's closing dict (test metrics, dev ones as dev_*).

    The dict holds the final (best-checkpoint) metrics only, so best and final dev coincide.
    """
    dev = {
        key.removeprefix("dev_"): value for key, value in metrics.items() if key.startswith("dev_")
    }
    test = {key: value for key, value in metrics.items() if not key.startswith("dev_")}
    if primary not in dev and primary not in test:
        primary = next(iter(dev or test), primary)
    return {
        "metric": primary,
        "best_dev": dev.get(primary),
        "final_dev": dev.get(primary),
        "test_at_best": test.get(primary),
        "dev_metrics": dev,
        "test_metrics": test,
    }


def print_closing_lines(train_set: int | str, metrics: dict[str, Any]) -> None:
    """Log the two closing lines that MeZO's run.py prints, so tools that read old logs read ours."""
    print(f"===== Train set {train_set} =====", flush=True)
    print(repr({key: _plain(value) for key, value in metrics.items()}), flush=True)


def _strip_lines(lines: Iterable[str]) -> Iterator[str]:
    for line in lines:
        # A logging prefix ("2024-01-01 ... - INFO - ...") may stand before the payload.
        stripped = line.strip()
        if "=====" in stripped:
            stripped = stripped[stripped.index("=====") :]
        elif "{" in stripped:
            stripped = stripped[stripped.index("{") :]
        yield stripped


def literal_metrics(text: str) -> str:
    """A printed metrics dict as Python literals: numpy and torch wrappers dropped, nan and
    inf as None."""
    previous = None
    while previous != text:  # unwrap nested wrappers: tensor(np.float64(0.5))
        previous, text = text, NUMBER_WRAPPER.sub(r"\1", text)
    return NON_FINITE.sub("None", text)


def _literal_dict(text: str) -> dict[str, Any] | None:
    try:
        value = ast.literal_eval(literal_metrics(text))
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
