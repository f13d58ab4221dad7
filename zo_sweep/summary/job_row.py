"""One job directory -> one summary row (see schema.COLUMNS).

Reads `.hydra/config.yaml` through zo_sweep.jobdir.config (fast, for archives of thousands of
jobs) and `result.json` through `zo_sweep.records`.
"""

from __future__ import annotations

import math
import os
import re
import time
from pathlib import Path
from typing import Any

from zo_sweep import records
from zo_sweep.jobdir.config import CONFIG_FILE, RowProblem, config_fields, read_config
from zo_sweep.jobdir.liveness import runner_state
from zo_sweep.summary import identity, schema

# A sweep started in the same second as another of the same purpose gets a `_<n>` suffix.
TIMESTAMP_PART = re.compile(r"^(\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2})(?:_\d+)?$")
# A job without result.json counts as running if one of these changed within the window
# (the config is written when the job starts, the others while it trains).
ACTIVITY_FILES = (str(CONFIG_FILE), records.STDOUT_FILE, records.STDERR_FILE, records.METRICS_FILE)
RUNNING_WINDOW_S = 15 * 60


RESULT_FIELDS = (*schema.RESULT_COLUMNS, "skipped_from", "config_hash")
# Fields of result.json that must be finite numbers where present (null means "none").
NUMBER_FIELDS = [column for column in schema.RESULT_COLUMNS if column in schema.NUMBER_COLUMNS]
# Fields the record says best and the config says otherwise (a job without a record yet).
RECORD_OVER_CONFIG = ("data_id",)


def read_job_row(job_dir: Path, *, now: float | None = None) -> tuple[dict[str, Any], list[str]]:
    """The row of one job and the problems met reading it (bad files never raise)."""
    problems: list[str] = []
    row: dict[str, Any] = {"path": str(job_dir), "timestamp": path_timestamp(job_dir)}
    try:
        config = read_config(job_dir)
        row.update(config_fields(config))
        row[schema.SETTINGS] = identity.training_settings(config)
    except RowProblem as problem:
        problems.append(str(problem))
        # Without its config a job still belongs to the study its folder sits in.
        row["purpose"] = path_purpose(job_dir)
    try:
        result = read_result(job_dir)
    except RowProblem as problem:
        problems.append(str(problem))
        result = None
    if result is not None:
        row.update(result_fields(result))
        problems += [f"{job_dir / records.RESULT_FILE}: {problem}" for problem in bad_fields(row)]
    if problems:
        row["status"] = schema.CORRUPT
        row["error"] = problems[-1]
    elif result is None:
        row["status"] = activity_status(job_dir, now=now)
    if row["status"] not in schema.NOT_FAILURES and not row.get("error"):
        row["error"] = last_stderr_line(job_dir)
    return row, problems


def read_result(job_dir: Path) -> dict[str, Any] | None:
    """result.json of a job; a skipped (resumed) job's metrics come from the job it points at."""
    try:
        result = records.read_result(job_dir)
    except ValueError as err:
        raise RowProblem(str(err)) from err
    if result is None:
        return None
    if not result.get("status"):
        raise RowProblem(f"{job_dir / records.RESULT_FILE}: corrupt result file (no status)")
    if result["status"] not in records.STATUSES:
        raise RowProblem(
            f"{job_dir / records.RESULT_FILE}: corrupt result file "
            f"(unknown status {result['status']!r}; known: {', '.join(records.STATUSES)})"
        )
    if result["status"] == records.SKIPPED and result.get("best_dev") is None:
        result = {**_source_result(result.get("skipped_from")), **_present(result)}
    return result


def result_fields(result: dict[str, Any]) -> dict[str, Any]:
    fields = {key: result.get(key) for key in RESULT_FIELDS}
    fields.update({key: result[key] for key in RECORD_OVER_CONFIG if result.get(key)})
    fields["status"] = result["status"]
    fields["error"] = _last_line(result.get("error")) or _last_line(result.get("error_tail"))
    return fields


def bad_fields(row: dict[str, Any]) -> list[str]:
    """Blank the numbers of a result that are no finite numbers (inf, text), naming each."""
    problems = []
    for key in NUMBER_FIELDS:
        value = row.get(key)
        if value is None or _is_finite_number(value):
            continue
        problems.append(f"{key} is {value!r}, not a finite number")
        row[key] = None
    return problems


def _is_finite_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _source_result(source: Any) -> dict[str, Any]:
    if not source:
        return {}
    try:
        return records.read_result(Path(str(source))) or {}
    except ValueError:
        return {}  # the source's own row reports the corrupt file


def _present(mapping: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in mapping.items() if value is not None}


def path_timestamp(job_dir: Path) -> str | None:
    """The sweep's (or single run's) timestamp: the last path part in Hydra's time format."""
    for part in reversed(job_dir.parts):
        match = TIMESTAMP_PART.match(part)
        if match:
            return match.group(1)
    return None


def path_purpose(job_dir: Path) -> str | None:
    """The purpose folder of the output layout: the one above the sweep's timestamp folder
    (`<purpose>/<timestamp>/<model>/<cell>/<job>`), or three above a single run's own
    timestamped folder (`<purpose>/<model>/<cell>/<timestamp>`)."""
    parts = job_dir.parts
    for index in range(len(parts) - 1, 0, -1):
        if TIMESTAMP_PART.match(parts[index]):
            above = index - 3 if index == len(parts) - 1 else index - 1
            return parts[above] if above >= 0 else None
    return None


def activity_status(job_dir: Path, *, now: float | None = None) -> str:
    """A job without a result: `running` or `lost` by its process when it ran on this host,
    else `running` if it wrote output within RUNNING_WINDOW_S, else `missing`."""
    state = runner_state(job_dir)
    if state != "unknown":
        return schema.RUNNING if state == "alive" else schema.LOST
    now = time.time() if now is None else now
    latest = 0.0
    for name in ACTIVITY_FILES:
        try:
            latest = max(latest, os.stat(job_dir / name).st_mtime)
        except OSError:
            continue
    return schema.RUNNING if now - latest < RUNNING_WINDOW_S else schema.MISSING


def last_stderr_line(job_dir: Path, max_bytes: int = 8192) -> str | None:
    """The last non-empty line of train.err (read from its end: it can be large)."""
    return _last_line(records.read_tail(job_dir / records.STDERR_FILE, max_bytes))


def _last_line(text: Any) -> str | None:
    if not text:
        return None
    if isinstance(text, list):
        text = "\n".join(str(line) for line in text)
    # Progress bars redraw with carriage returns; the last redraw is the line that counts.
    lines = [line.strip() for line in re.split(r"[\r\n]+", str(text)) if line.strip()]
    return lines[-1] if lines else None
