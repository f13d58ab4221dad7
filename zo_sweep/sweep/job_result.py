"""What a job's script left: its result record, read from result.json or from MeZO's closing
log lines, the error lines of a run that failed, and the objective a sweeper optimises.

A script that reported its result and then exited non-zero (MeZO's run.py often fails writing
its own result file) keeps its status and metrics, with the exit code and the error line beside
them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from zo_sweep import mezo_log, records
from zo_sweep.data.tasks import primary_metric
from zo_sweep.sweep.process import ProcessOutcome

# What a job without a usable metric reports to the sweeper: it never wins a maximisation.
NO_OBJECTIVE = float("-inf")
ERROR_TAIL_LINES = 20


class JobObjective(float):
    """What a job returns to its sweeper: the objective (a float, as every sweeper wants; Optuna
    maximises it), carrying how the job ended and in which folder, for the sweep's own account
    of its jobs (zo_sweep.sweep.status), whatever its folder still says."""

    status: str
    job_dir: str

    def __new__(cls, value: float, status: str, job_dir: str) -> JobObjective:
        returned = super().__new__(cls, value)
        returned.status, returned.job_dir = status, job_dir
        return returned

    def __reduce__(self) -> tuple[Any, ...]:
        # Launchers send it back from their workers by pickle.
        return (JobObjective, (float(self), self.status, self.job_dir))


def collect_result(cfg: DictConfig, job_dir: Path, outcome: ProcessOutcome) -> dict[str, Any]:
    """The record of a run that ended: the script's own result, or what its logs say."""
    result, malformed = _script_result(job_dir)
    fields: dict[str, Any] = {"exit_code": outcome.exit_code}
    if outcome.timed_out:
        minutes = cfg.get("job_timeout_min")
        return {
            **result,
            **fields,
            "status": records.TIMEOUT,
            **error_fields(job_dir, f"ended after job_timeout_min={minutes}"),
        }
    if malformed:
        if outcome.exit_code != 0:
            malformed = f"script exited with code {outcome.exit_code}; {malformed}"
        return {**fields, "status": records.FAILED, **error_fields(job_dir, malformed)}
    if "status" not in result:
        result = {**result, **(_result_from_mezo_log(job_dir, _primary_metric(cfg)) or {})}
    reported = result.get("status") in (records.OK, records.DIVERGED)
    if outcome.exit_code != 0:
        message = f"script exited with code {outcome.exit_code}"
        if reported:
            return {**result, **fields, **error_fields(job_dir, f"{message} after its result")}
        if result.get("status") == records.INTERRUPTED:
            # The sweep, interrupted, recorded the job so while its script was being ended.
            return {**result, **fields}
        return {**result, **fields, "status": records.FAILED, **error_fields(job_dir, message)}
    if "status" in result:
        return {**result, **fields}
    message = "script exited 0 but wrote no result.json and no '===== Train set N =====' summary"
    return {**result, **fields, "status": records.FAILED, **error_fields(job_dir, message)}


def _script_result(job_dir: Path) -> tuple[dict[str, Any], str | None]:
    """The script's own result.json (empty if it wrote none), or, for a file the record cannot
    stand on, nothing and why: the file is kept beside the record as result.script.json."""
    try:
        result = records.read_result(job_dir) or {}
    except ValueError as err:
        return {}, _set_aside(job_dir, _unreadable(err))
    if result and "status" not in result:
        return {}, _set_aside(job_dir, "no status")
    if result and result["status"] not in records.STATUSES:
        known = ", ".join(records.STATUSES)
        return {}, _set_aside(job_dir, f"status {result['status']!r}, none of {known}")
    return result, None


def _unreadable(err: ValueError) -> str:
    """Why records.read_result could not read a result file, without its path."""
    cause = err.__cause__
    if isinstance(cause, OSError):
        return cause.strerror or str(cause)
    if cause is not None:
        return str(cause)
    return str(err).rpartition(": ")[2]  # `<path>: corrupt result file (not a JSON object)`


def _set_aside(job_dir: Path, why: str) -> str:
    """Move the script's result.json aside (the job's record takes its place); say so."""
    try:
        (job_dir / records.RESULT_FILE).replace(job_dir / records.SCRIPT_RESULT_FILE)
    except OSError as err:
        return f"the script's {records.RESULT_FILE} is malformed ({why}) and stays unread ({err})"
    kept = records.SCRIPT_RESULT_FILE
    return f"the script's {records.RESULT_FILE} is malformed ({why}); kept as {kept}"


def objective(result: Mapping[str, Any], job_dir: Path) -> JobObjective:
    """The value a sweeper optimises: the best dev metric of a usable run, else NO_OBJECTIVE."""
    value = result.get("best_dev")
    status = str(result.get("status", records.FAILED))
    usable = status in (records.OK, records.SKIPPED)
    if usable and isinstance(value, int | float) and math.isfinite(value):
        return JobObjective(float(value), status, str(job_dir))
    return JobObjective(NO_OBJECTIVE, status, str(job_dir))


def _primary_metric(cfg: DictConfig) -> str:
    return primary_metric(OmegaConf.to_container(cfg.task, resolve=True))


def _result_from_mezo_log(job_dir: Path, primary: str) -> dict[str, Any] | None:
    """Fields from MeZO's closing lines: `===== Train set N =====` and a dict of metrics."""
    for name in (records.STDOUT_FILE, records.STDERR_FILE):
        path = job_dir / name
        if not path.exists():
            continue
        with open(path, errors="replace") as handle:
            found = mezo_log.parse_closing_lines(handle)
        if found is not None:
            train_set, metrics = found
            fields = mezo_log.metric_fields(metrics, primary)
            return {"status": records.OK, **fields, "train_set": train_set}
    return None


def error_fields(job_dir: Path, message: str) -> dict[str, Any]:
    tail = _tail(job_dir / records.STDERR_FILE, ERROR_TAIL_LINES)
    line = records.error_line(tail)
    return {"error": f"{message}: {line}" if line else message, "error_tail": tail}


def _tail(path: Path, lines: int, max_bytes: int = 64_000) -> list[str]:
    """The last lines of a log; a progress bar's redraws (joined by \r) count as lines."""
    text = records.read_tail(path, max_bytes) or ""
    return [line for line in re.split(r"\r\n|\r|\n", text) if line.strip()][-lines:]
