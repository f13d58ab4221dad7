"""One job: turn a composed config into one command, run it, and record how it ended.

The command is `bash <method.script>` with an environment built from the config's `env:`
mapping (the old scripts' env-var interface). The job needs nothing from the script but that
interface and, if the script writes one, result.json; a script that writes none is read through
MeZO's closing log lines. Whatever happens, the job leaves a result.json with its status (where
the disk lets it), and it never raises but for Ctrl-C, so one failure never stops a sweep.
"""

from __future__ import annotations

import logging
import math
import os
import re
import shlex
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from zo_sweep import records
from zo_sweep.sweep.gpu_slots import gpu_slot
from zo_sweep.sweep.job_files import (
    RERUN_ENV,
    JobDirectoryTaken,
    claim_job_dir,
    write_command_file,
    write_snapshot,
)
from zo_sweep.sweep.liveness import process_alive, record_runner, sweep_process_to_watch
from zo_sweep.sweep.process import (
    ProcessOutcome,
    launcher_environment,
    run_process_group,
    sigterm_as_interrupt,
)
from zo_sweep.sweep.resume import config_hash, find_finished_job
from zo_sweep.sweep.validation import ConfigError, resolve_script, validate_job_config

log = logging.getLogger(__name__)

# What a job without a usable metric reports to the sweeper: it never wins a maximisation.
NO_OBJECTIVE = float("-inf")
ERROR_TAIL_LINES = 20
# Fields of a finished job's record that a skipped (resumed) job carries over.
METRIC_FIELDS = (
    "metric",
    "best_dev",
    "best_step",
    "final_dev",
    "test_at_best",
    "dev_metrics",
    "test_metrics",
)


@dataclass(frozen=True)
class JobCommand:
    """`bash <script> <args...>` run in `cwd` with `env` on top of the inherited environment."""

    script: Path
    env: dict[str, str]
    cwd: Path
    args: tuple[str, ...] = ()

    @property
    def argv(self) -> list[str]:
        return ["bash", str(self.script), *self.args]

    def with_env(self, extra: Mapping[str, str]) -> JobCommand:
        return replace(self, env={**self.env, **extra})

    def shell_line(self, raw_env: Mapping[str, str] | None = None) -> str:
        """A copy-pasteable reproduction: every word quoted for the shell.

        `raw_env` values are shell words left as they are (e.g. "$OUTPUT_DIR").
        """
        assignments = [
            shlex.quote(f"{key}={value}")
            for key, value in self.env.items()
            if key not in (raw_env or {})
        ]
        assignments += [f"{key}={value}" for key, value in (raw_env or {}).items()]
        words = ["env", *assignments, *map(shlex.quote, self.argv)]
        return f"cd {shlex.quote(str(self.cwd))} && {' '.join(words)}"


def env_value(value: Any) -> str:
    """How a config value reads as an environment variable (lists as comma-separated words)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list | tuple):
        return ",".join(env_value(item) for item in value)
    return str(value)


def job_environment(cfg: DictConfig, job_dir: Path) -> dict[str, str]:
    """The variables this job sets for its script: `env` + `extra_env` + OUTPUT_DIR; nulls left out."""
    variables: dict[str, Any] = {}
    for section in ("env", "extra_env"):
        node = cfg.get(section)
        if node:
            variables.update(OmegaConf.to_container(node, resolve=True))
    variables["OUTPUT_DIR"] = str(job_dir.resolve())
    return {str(key): env_value(value) for key, value in variables.items() if value is not None}


def build_command(cfg: DictConfig, job_dir: Path) -> JobCommand:
    """The script runs in `method.cwd` (the old scripts `cd` there and call `python run.py`),
    else where the sweep was started, with `method.args` after its name."""
    cwd = script_cwd(cfg)
    script = resolve_script(str(cfg.method.script), cwd)
    args = OmegaConf.select(cfg, "method.args", default=None) or []
    return JobCommand(
        script=script,
        env={**launcher_environment(), **job_environment(cfg, job_dir)},
        cwd=cwd or Path.cwd(),
        args=tuple(script_argument(arg) for arg in args),
    )


def script_argument(value: Any) -> str:
    """One word of `method.args`. The command line reads `False` as a boolean; a Python script
    (HfArgumentParser, argparse with a bool parser) expects it back as written."""
    return str(value) if isinstance(value, bool) else env_value(value)


def script_cwd(cfg: DictConfig) -> Path | None:
    """`method.cwd` as an absolute folder, or None when it is not set."""
    cwd = OmegaConf.select(cfg, "method.cwd", default=None)
    return Path(str(cwd)).expanduser().resolve() if cwd else None


def data_fields(cfg: DictConfig) -> dict[str, Any]:
    """What every job record says about its data: its identity and the split tested on."""
    try:
        fields = {
            "data_id": OmegaConf.select(cfg, "data.id", default=None),
            "eval_split": OmegaConf.select(cfg, "task.eval_split", default=None),
        }
    except OmegaConfBaseException:  # a broken config is reported by the validation
        return {}
    return {key: value for key, value in fields.items() if value is not None}


def run_job(cfg: DictConfig, job_dir: Path) -> float:
    """Run one job in job_dir and return its objective (the best dev metric) for the sweeper.

    Nothing but Ctrl-C leaves this function as an exception: whatever goes wrong fails this
    job (recorded where the disk lets it), and the sweep goes on with the others.
    """
    # A full disk must not print a traceback for every log line Hydra's file handler drops.
    logging.raiseExceptions = False
    started = time.monotonic()
    try:
        return _run_job(cfg, job_dir, started)
    except KeyboardInterrupt:
        raise
    except JobDirectoryTaken as err:
        log.error("%s", err)  # the other run's record stays as it is
        return NO_OBJECTIVE
    except Exception as err:  # noqa: BLE001 - any failure of one job must not stop the sweep
        return _record_failure(job_dir, err, started)


def _run_job(cfg: DictConfig, job_dir: Path, started: float) -> float:
    claim_job_dir(job_dir)
    write_snapshot(cfg, job_dir)
    record_runner(job_dir)
    try:
        validate_job_config(cfg)
    except ConfigError as err:
        # Values a search sweeper drew can be invalid; that fails this job, not the sweep.
        failed = {**data_fields(cfg), "status": records.FAILED, "error": str(err)}
        return _record(job_dir, failed, started)
    command = build_command(cfg, job_dir)
    write_command_file(job_dir, command.shell_line(raw_env=RERUN_ENV))
    fields = {
        **data_fields(cfg),
        "config_hash": config_hash(cfg),
        "command": command.shell_line(),
    }

    if cfg.get("dry_run"):
        print(command.shell_line(), flush=True)
        return _record(job_dir, {**fields, "status": records.DRY_RUN}, started)
    if cfg.get("resume"):
        skipped = _skipped_fields(cfg, job_dir, fields["config_hash"])
        if skipped is not None:
            return _record(job_dir, {**fields, **skipped}, started)

    try:
        with sigterm_as_interrupt():
            outcome, command = _run_on_a_slot(cfg, job_dir, command)
    except KeyboardInterrupt:
        _record(job_dir, {**fields, **_interrupted_fields()}, started)
        raise
    fields["command"] = command.shell_line()
    result = collect_result(cfg, job_dir, outcome)
    if _ended_with_the_sweep(outcome):
        result.update(_interrupted_fields("the sweep's own process died while this job ran"))
    # The script's own record says best what it read; the config fills what it does not say.
    return _record(job_dir, {**fields, **result, "command": fields["command"]}, started)


def cpu_thread_share(gpu_env: Mapping[str, str]) -> dict[str, str]:
    """OMP_NUM_THREADS for a CPU job that runs beside others: each gets its share of the cores.

    Two torch processes that each use every core run many times slower than twice as slow
    (their thread pools thrash), so parallel CPU jobs split the cores. A value the user set,
    and jobs on a GPU, are left alone.
    """
    gpu = gpu_env.get("CUDA_VISIBLE_DEVICES", os.environ.get("CUDA_VISIBLE_DEVICES", ""))
    if "OMP_NUM_THREADS" in os.environ or gpu not in ("", "-1"):
        return {}
    parallel = _parallel_jobs()
    if parallel <= 1:
        return {}
    return {"OMP_NUM_THREADS": str(max(1, (os.cpu_count() or 1) // parallel))}


def _parallel_jobs() -> int:
    """How many jobs the launcher runs at once (joblib's n_jobs; -1 means one per core)."""
    try:
        launcher = HydraConfig.get().launcher
    except ValueError:  # not inside a Hydra job
        return 1
    n_jobs = launcher.get("n_jobs") or 1
    return (os.cpu_count() or 1) if n_jobs < 0 else int(n_jobs)


def _run_on_a_slot(
    cfg: DictConfig, job_dir: Path, command: JobCommand
) -> tuple[ProcessOutcome, JobCommand]:
    with gpu_slot(
        cfg.get("gpus"), int(cfg.get("jobs_per_gpu") or 1), cfg.get("gpu_lock_dir")
    ) as gpu_env:
        command = command.with_env({**gpu_env, **cpu_thread_share(gpu_env)})
        write_command_file(job_dir, command.shell_line(raw_env=RERUN_ENV))
        timeout_min = cfg.get("job_timeout_min")
        log.info("%s: started (the full command is in %s)", job_dir, records.COMMAND_FILE)
        outcome = run_process_group(
            command.argv,
            env={**os.environ, **command.env},
            cwd=command.cwd,
            stdout_path=job_dir / records.STDOUT_FILE,
            stderr_path=job_dir / records.STDERR_FILE,
            timeout_seconds=None if timeout_min is None else float(timeout_min) * 60,
            watch_pid=sweep_process_to_watch(),
        )
    return outcome, command


def collect_result(cfg: DictConfig, job_dir: Path, outcome: ProcessOutcome) -> dict[str, Any]:
    """The record of a run that ended: the script's own result, or what its logs say.

    A script that reported its result and then exited non-zero (MeZO's run.py often fails
    writing its own result file) keeps its status and metrics, with the exit code and the
    error line beside them.
    """
    try:
        result = records.read_result(job_dir) or {}
    except ValueError as err:
        result = {"error": str(err)}
    fields: dict[str, Any] = {"exit_code": outcome.exit_code}
    if outcome.timed_out:
        minutes = cfg.get("job_timeout_min")
        return {
            **result,
            **fields,
            "status": records.TIMEOUT,
            **_error(job_dir, f"ended after job_timeout_min={minutes}"),
        }
    if "status" not in result:
        result = {**result, **(_result_from_mezo_log(job_dir, _primary_metric(cfg)) or {})}
    reported = result.get("status") in (records.OK, records.DIVERGED)
    if outcome.exit_code != 0:
        message = f"script exited with code {outcome.exit_code}"
        if reported:
            return {**result, **fields, **_error(job_dir, f"{message} after its result")}
        return {**result, **fields, "status": records.FAILED, **_error(job_dir, message)}
    if "status" in result:
        return {**result, **fields}
    message = "script exited 0 but wrote no result.json and no '===== Train set N =====' summary"
    return {**result, **fields, "status": records.FAILED, **_error(job_dir, message)}


def objective(result: Mapping[str, Any]) -> float:
    """The value a sweeper optimises: the best dev metric of a usable run, else NO_OBJECTIVE."""
    value = result.get("best_dev")
    usable = result.get("status") in (records.OK, records.SKIPPED)
    if usable and isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return NO_OBJECTIVE


def _record_failure(job_dir: Path, err: Exception, started: float) -> float:
    """Fail the job with the error as its one line; if even that cannot be written, log it."""
    message = " ".join(f"{type(err).__name__}: {err}".split())
    log.error("%s: failed (%s)", job_dir, message)
    try:
        return _record(job_dir, {"status": records.FAILED, "error": message}, started)
    except OSError as write_err:
        log.error("%s: cannot write %s (%s)", job_dir, records.RESULT_FILE, write_err)
        return NO_OBJECTIVE


def _skipped_fields(cfg: DictConfig, job_dir: Path, wanted_hash: str) -> dict[str, Any] | None:
    purpose_dir = Path(str(cfg.output_root)) / str(cfg.purpose)
    found = find_finished_job(purpose_dir, wanted_hash, exclude=job_dir)
    if found is None:
        return None
    finished_dir, finished = found
    log.info("resume: same config finished in %s; skipping", finished_dir)
    carried = {key: finished[key] for key in METRIC_FIELDS if key in finished}
    return {**carried, "status": records.SKIPPED, "skipped_from": str(finished_dir.resolve())}


def _interrupted_fields(
    reason: str = "stopped by Ctrl-C or SIGTERM before the end",
) -> dict[str, Any]:
    return {"status": records.INTERRUPTED, "error": reason}


def _ended_with_the_sweep(outcome: ProcessOutcome) -> bool:
    """The keeper ended the script because the sweep died (this job runs in a worker)."""
    sweep_pid = sweep_process_to_watch()
    signalled = outcome.exit_code is not None and outcome.exit_code < 0
    return signalled and sweep_pid is not None and not process_alive(sweep_pid)


def _primary_metric(cfg: DictConfig) -> str:
    metrics = OmegaConf.select(cfg, "task.metrics")
    if isinstance(metrics, ListConfig) and len(metrics) > 0:
        return str(metrics[0])
    return "accuracy"


def _result_from_mezo_log(job_dir: Path, primary: str) -> dict[str, Any] | None:
    """Fields from MeZO's closing lines: `===== Train set N =====` and a dict of metrics."""
    for name in (records.STDOUT_FILE, records.STDERR_FILE):
        path = job_dir / name
        if not path.exists():
            continue
        with open(path, errors="replace") as handle:
            found = records.parse_mezo_log(handle)
        if found is not None:
            train_set, metrics = found
            fields = records.mezo_metric_fields(metrics, primary)
            return {"status": records.OK, **fields, "train_set": train_set}
    return None


def _error(job_dir: Path, message: str) -> dict[str, Any]:
    tail = _tail(job_dir / records.STDERR_FILE, ERROR_TAIL_LINES)
    line = records.error_line(tail)
    return {"error": f"{message}: {line}" if line else message, "error_tail": tail}


def _tail(path: Path, lines: int, max_bytes: int = 64_000) -> list[str]:
    """The last lines of a log; a progress bar's redraws (joined by \r) count as lines."""
    text = records.read_tail(path, max_bytes) or ""
    return [line for line in re.split(r"\r\n|\r|\n", text) if line.strip()][-lines:]


def _record(job_dir: Path, fields: dict[str, Any], started: float) -> float:
    """Write result.json (atomically, last) and return the objective for the sweeper."""
    fields["job_seconds"] = round(time.monotonic() - started, 3)
    records.write_json_atomic(job_dir / records.RESULT_FILE, fields)
    log.info("%s: %s%s", job_dir, fields["status"], _outcome_note(fields))
    return objective(fields)


def _outcome_note(fields: Mapping[str, Any]) -> str:
    if fields.get("error"):
        return f" ({fields['error']})"
    if fields.get("best_dev") is not None:
        return f" (best dev {fields.get('metric', 'metric')} {fields['best_dev']})"
    return ""
