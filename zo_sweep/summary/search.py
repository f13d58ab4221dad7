"""What a search sweeper (Optuna) chose: its best trial's parameters, and the ranges it searched.

Hydra's Optuna sweeper writes `optimization_results.yaml` (`best_params`, `best_value`) into
the sweep's folder when it ends; each job's `.hydra/hydra.yaml` holds the sweeper's
`params`, where a searched range reads `tag(log, interval(1e-07, 0.001))`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from zo_sweep import records

RESULTS_FILE = "optimization_results.yaml"
INTERVAL = re.compile(r"interval\(\s*([^,\s]+)\s*,\s*([^)\s]+)\s*\)")


@dataclass(frozen=True)
class SearchOutcome:
    """Optuna's best trial, as the names of overrides (`lr`, `rank`) and their values."""

    best_params: dict[str, Any]
    best_value: float | None = None
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)


def read_search(sweep_dir: Path, job_dir: Path | None = None) -> SearchOutcome | None:
    """The outcome of the search that ran in `sweep_dir`, or None for a grid sweep.

    `job_dir`, one of its jobs, tells the searched ranges (none where unreadable).
    """
    try:
        raw = yaml.safe_load((sweep_dir / RESULTS_FILE).read_text())
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("best_params"), dict):
        return None
    params = {str(name).lstrip("+"): value for name, value in raw["best_params"].items()}
    value = raw.get("best_value")
    return SearchOutcome(
        best_params=params,
        best_value=float(value) if isinstance(value, int | float) else None,
        ranges=searched_ranges(job_dir) if job_dir is not None else {},
    )


def searched_ranges(job_dir: Path) -> dict[str, tuple[float, float]]:
    """The `interval(low, high)` of each searched parameter, from the job's hydra.yaml."""
    try:
        hydra = yaml.safe_load((job_dir / records.HYDRA_DIR / "hydra.yaml").read_text())
        params = hydra["hydra"]["sweeper"]["params"] or {}
    except (OSError, yaml.YAMLError, UnicodeDecodeError, KeyError, TypeError):
        return {}
    ranges = {}
    for name, spec in params.items() if isinstance(params, dict) else ():
        match = INTERVAL.search(str(spec))
        try:
            bounds = (float(match.group(1)), float(match.group(2))) if match else None
        except ValueError:
            bounds = None
        if bounds:
            ranges[str(name).lstrip("+")] = bounds
    return ranges
