"""How far a job has come, read from its directory alone: state, step/steps, loss, dev, ETA.

Everything comes from files any launcher leaves (SLURM nodes included) and any script that
follows the contract writes: `.hydra/config.yaml` (steps), `metrics.jsonl` (the last loss and
dev metric), `process.json` (live or lost) and `result.json` (done). Both the sweep's live
console and `python -m zo_sweep.summary --view progress` draw their picture from here.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from zo_sweep import records
from zo_sweep.jobdir.liveness import job_liveness

RUNNING = "running"
LOST = "lost"
# metrics.jsonl can grow to megabytes; the last lines are all a progress report needs.
TAIL_BYTES = 256_000
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class JobProgress:
    """One job's progress. `state` is `running`, `lost`, or the status in its result.json."""

    name: str
    state: str
    step: int | None = None
    steps: int | None = None
    loss: float | None = None
    dev_name: str | None = None
    dev: float | None = None
    eta_seconds: float | None = None
    error: str | None = None  # why a job that ended did not end well (its result's one line)

    @property
    def finished(self) -> bool:
        return self.state not in (RUNNING, LOST)


def read_job_progress(job_dir: Path, name: str, *, now: float | None = None) -> JobProgress:
    """The progress of the job in job_dir (`name` is how reports call it)."""
    now = time.time() if now is None else now
    steps = _configured_steps(job_dir)
    result = _result(job_dir)
    lines = _tail_records(job_dir)
    step = max((int(line["step"]) for line in lines if _is_number(line.get("step"))), default=None)
    loss, (dev_name, dev) = _last_loss(lines), _last_dev(lines)
    if result is not None:
        done = result.get("steps_done")
        step = int(done) if _is_number(done) else step
        error = str(result["error"]) if result.get("error") else None
        state = str(result.get("status"))
        return JobProgress(name, state, step, steps, loss, dev_name, dev, error=error)
    state = job_liveness(job_dir) or RUNNING
    eta = _eta(job_dir, lines, step, steps, now) if state == RUNNING else None
    return JobProgress(name, state, step, steps, loss, dev_name, dev, eta)


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def describe(progress: JobProgress) -> str:
    """One line: `lr=1e-3: running 12/20, loss 0.6931, dev_accuracy 0.5500, eta 0:00:12`."""
    parts = [progress.state]
    if progress.step is not None:
        parts[0] += f" {progress.step}/{progress.steps if progress.steps is not None else '?'}"
    if progress.loss is not None:
        parts.append(f"loss {progress.loss:.4f}")
    if progress.dev is not None:
        parts.append(f"{progress.dev_name} {progress.dev:.4f}")
    if progress.eta_seconds is not None:
        parts.append(f"eta {format_eta(progress.eta_seconds)}")
    error = f" ({progress.error})" if progress.error else ""
    return f"{progress.name}: {', '.join(parts)}{error}"


def states_headline(states: list[str], total: int | None = None) -> str:
    """`2/4 jobs done, 1 running, 1 lost`: done out of total (default: the states given)."""
    done = sum(state not in (RUNNING, LOST) for state in states)
    parts = [f"{done}/{total if total is not None else len(states)} jobs done"]
    for state in (RUNNING, LOST):
        count = states.count(state)
        if count:
            parts.append(f"{count} {state}")
    return ", ".join(parts)


def _result(job_dir: Path) -> dict[str, Any] | None:
    try:
        return records.read_result(job_dir)
    except ValueError:
        return {"status": "corrupt"}


def _configured_steps(job_dir: Path) -> int | None:
    try:
        with open(job_dir / records.HYDRA_DIR / "config.yaml", "rb") as handle:
            config = yaml.load(handle, Loader=_YAML_LOADER)
        return int(config["steps"])
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError):
        return None


def _tail_records(job_dir: Path) -> list[dict[str, Any]]:
    """The readable lines at the end of metrics.jsonl (a cut first or last line is skipped)."""
    return records.json_lines(records.read_tail(job_dir / records.METRICS_FILE, TAIL_BYTES) or "")


def _last_loss(lines: list[dict[str, Any]]) -> float | None:
    return next((line["loss"] for line in reversed(lines) if _is_number(line.get("loss"))), None)


def _last_dev(lines: list[dict[str, Any]]) -> tuple[str | None, float | None]:
    """The first dev_* value of the last evaluation line (the primary metric comes first)."""
    for line in reversed(lines):
        for key, value in line.items():
            if key.startswith("dev_") and _is_number(value):
                return key, float(value)
    return None, None


def _eta(
    job_dir: Path, lines: list[dict[str, Any]], step: int | None, steps: int | None, now: float
) -> float | None:
    """Seconds left at the pace so far: time per step since the first step, minus time since."""
    if not step or steps is None or not lines:
        return None
    try:
        written = os.stat(job_dir / records.METRICS_FILE).st_mtime
    except OSError:
        return None
    last = lines[-1]
    if _is_number(last.get("seconds")):
        elapsed = float(last["seconds"])  # the trainer's own clock, from its start
    else:
        elapsed = written - _started(job_dir, written)
    per_step = max(elapsed, 0.0) / step
    return max(0.0, per_step * (steps - step) - (now - written))


def _started(job_dir: Path, default: float) -> float:
    try:
        return float(json.loads((job_dir / records.PROCESS_FILE).read_text())["started"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    try:
        return os.stat(job_dir / records.COMMAND_FILE).st_mtime
    except OSError:
        return default


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
