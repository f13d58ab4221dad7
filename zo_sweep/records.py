"""The job directory contract: file names, result.json, metrics.jsonl and predictions.jsonl.

Every part of zo_sweep (trainer, job runner, summary, legacy import) reads and writes job
directories through this module, so the format lives in one place.
"""

from __future__ import annotations

import json
import math
import os
import re
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any

RESULT_FILE = "result.json"
METRICS_FILE = "metrics.jsonl"
PREDICTIONS_FILE = "predictions.jsonl"
COMMAND_FILE = "command.sh"
STDOUT_FILE = "train.out"
STDERR_FILE = "train.err"
HYDRA_DIR = ".hydra"
TRAJECTORY_FILE = "trajectory.npz"  # a MeZO run's checkpoint (zo_sweep.train.trajectory)
CHECKPOINT_DIR = "checkpoint"  # a first-order run's checkpoint (zo_sweep.train.checkpoint)
# Who runs the job while it runs (pid, host, start times), so a dead job reads as lost.
PROCESS_FILE = "process.json"
# In a sweep's own folder: how many jobs it plans (zo_sweep.jobdir.sweep_plan), and its log.
SWEEP_PLAN_FILE = "sweep.json"
SWEEP_LOG_FILE = "sweep.log"

# Job statuses. "ok" is the only one that counts as a finished, usable run.
OK = "ok"
FAILED = "failed"
DIVERGED = "diverged"
INTERRUPTED = "interrupted"
TIMEOUT = "timeout"
SKIPPED = "skipped"
DRY_RUN = "dry_run"
STATUSES = (OK, FAILED, DIVERGED, INTERRUPTED, TIMEOUT, SKIPPED, DRY_RUN)

# A line that names an exception ("ValueError: ...", "torch.OutOfMemoryError: ...").
EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Interrupt|Exit|Warning)\b")
# A progress bar's redraw ("  40%|####      | 4/10 [00:01<00:02, 3.1it/s]").
PROGRESS_LINE = re.compile(r"\d+%\|.*\||\d+(?:\.\d+)?\s*(?:it/s|s/it)\b")


def write_json_atomic(path: str | Path, payload: dict[str, Any]) -> None:
    """Write JSON so that a reader sees either the old file or the complete new one.

    The file gets the mode the umask gives any new file (teammates may read results).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _temp_file_beside(path)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(_json_safe(payload), handle, indent=2, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _temp_file_beside(path: Path) -> tuple[int, Path]:
    """A new file next to `path` to rename over it, with the mode the umask gives new files."""
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp


def read_result(job_dir: str | Path) -> dict[str, Any] | None:
    """result.json of a job, or None if it has none. Raises ValueError if it is corrupt."""
    path = Path(job_dir) / RESULT_FILE
    try:
        payload = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: corrupt result file ({err})") from err
    except OSError as err:  # a directory in its place, no permission: as corrupt as bad JSON
        raise ValueError(f"{path}: unreadable result file ({err.strerror or err})") from err
    if not isinstance(payload, dict):
        raise ValueError(f"{path}: corrupt result file (not a JSON object)")
    return payload


def append_metrics(job_dir: str | Path, record: dict[str, Any]) -> None:
    """Append one JSON line to metrics.jsonl (one line per logged step)."""
    with open(Path(job_dir) / METRICS_FILE, "a") as handle:
        handle.write(json.dumps(_json_safe(record)) + "\n")


def read_metrics(job_dir: str | Path) -> list[dict[str, Any]]:
    """All readable lines of metrics.jsonl; a truncated last line (a killed job) is skipped."""
    try:
        text = (Path(job_dir) / METRICS_FILE).read_text(errors="replace")
    except OSError:  # none yet, or something else in its place
        return []
    return json_lines(text)


def json_lines(text: str) -> list[dict[str, Any]]:
    """The JSON objects of a jsonl text; a cut or unreadable line (a killed writer) is skipped."""
    found = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict):
            found.append(record)
    return found


def write_predictions(job_dir: str | Path, lines: Iterable[dict[str, Any]]) -> None:
    """Write predictions.jsonl (one line per test example: id, prediction, gold) atomically."""
    path = Path(job_dir) / PREDICTIONS_FILE
    fd, tmp = _temp_file_beside(path)
    try:
        with os.fdopen(fd, "w") as handle:
            for line in lines:
                handle.write(json.dumps(_json_safe(line)) + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_predictions(job_dir: str | Path) -> dict[str, tuple[Any, Any]] | None:
    """(prediction, gold) of each test example by id; None without a readable file."""
    path = Path(job_dir) / PREDICTIONS_FILE
    try:
        text = path.read_text()
    except OSError:
        return None
    correct = {}
    for line in text.splitlines():
        try:
            record = json.loads(line)
            correct[str(record["id"])] = (record["prediction"], record["gold"])
        except (json.JSONDecodeError, KeyError, TypeError):
            return None  # a file that is not whole cannot be paired example by example
    return correct or None


def keep_metrics_up_to(job_dir: str | Path, step: int) -> None:
    """Drop the lines logged after `step` (a run going on from its checkpoint logs them again)."""
    kept = [line for line in read_metrics(job_dir) if line.get("step", 0) <= step]
    path = Path(job_dir) / METRICS_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(line) + "\n" for line in kept))
    tmp.replace(path)


def read_tail(path: str | Path, max_bytes: int) -> str | None:
    """The last `max_bytes` of a log file as text (logs can be large), or None if unreadable."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - max_bytes))
            return handle.read().decode(errors="replace")
    except OSError:
        return None


def error_line(lines: Iterable[str]) -> str:
    """The line that says why a script failed: the last exception line of its output, else
    its last line that is not a progress bar's redraw ("" when there is none)."""
    meaningful = [line.strip() for line in lines if line.strip()]
    meaningful = [line for line in meaningful if not PROGRESS_LINE.search(line)]
    exceptions = [line for line in meaningful if EXCEPTION_LINE.match(line)]
    if exceptions:
        return exceptions[-1]
    return meaningful[-1] if meaningful else ""


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        value = value.item()
    return value


def _json_safe(value: Any) -> Any:
    """JSON has no NaN or infinity; write them as null so every reader can parse the file."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    value = _plain(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value
