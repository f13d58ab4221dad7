"""One job: build and check the trainer's settings once, run one command, record how it ended.

The settings go to train.yaml in the job's directory, and the command is the project's trainer
on that file (`python -m zo_sweep.train --config train.yaml`), or a script of one's own with
the old scripts' environment variables (zo_sweep.sweep.command). A script that writes no
result.json is read through MeZO's closing log lines. Whatever happens, the job leaves a
result.json with its status (where the disk lets it), and it never raises but for Ctrl-C, so
one failure never stops a sweep.

A job of several devices runs its trainer as that many ranks; under SLURM, one that spans
nodes runs this function once per node (zo_sweep.sweep.other_nodes): the first node's run is
the job, the others only start their ranks.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from zo_sweep import records
from zo_sweep.errors import ConfigError, DataError
from zo_sweep.jobdir.liveness import process_alive, record_runner, sweep_process_to_watch
from zo_sweep.sweep import continuation, other_nodes
from zo_sweep.sweep.command import JobCommand, build_command
from zo_sweep.sweep.gpu_slots import gpu_slot
from zo_sweep.sweep.handoff import write_settings
from zo_sweep.sweep.job_files import (
    RERUN_ENV,
    JobDirectoryTaken,
    claim_job_dir,
    job_folder_vanished,
    write_command_file,
    write_snapshot,
)
from zo_sweep.sweep.job_memory import jobs_per_gpu
from zo_sweep.sweep.job_result import NO_OBJECTIVE, JobObjective, collect_result, objective
from zo_sweep.sweep.process import (
    ProcessOutcome,
    run_process_group,
    sigterm_as_interrupt,
)
from zo_sweep.sweep.resume import config_hash, find_finished_job
from zo_sweep.sweep.validation import validate_job_config
from zo_sweep.sweep.worker_watch import ends_with_the_sweep
from zo_sweep.train.settings import TrainSettings

log = logging.getLogger(__name__)

VANISHED = "the job's folder was removed while its script ran; its logs went with it"

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


def data_fields(cfg: DictConfig, settings: TrainSettings | None = None) -> dict[str, Any]:
    """What every job record says about its data: its identity and the split tested on
    (from the job's settings, resolved already, where it has them)."""
    try:
        if settings is not None:
            data, task = settings.data or {}, settings.task or {}
            fields = {"data_id": data.get("id"), "eval_split": task.get("eval_split")}
        else:
            fields = {
                "data_id": OmegaConf.select(cfg, "data.id", default=None),
                "eval_split": OmegaConf.select(cfg, "task.eval_split", default=None),
            }
    except OmegaConfBaseException:  # a broken config is reported by the validation
        return {}
    return {key: value for key, value in fields.items() if value is not None}


def run_job(cfg: DictConfig, job_dir: Path) -> JobObjective:
    """Run one job in job_dir and return its objective (the best dev metric) for the sweeper.

    Nothing but Ctrl-C leaves this function as an exception: whatever goes wrong fails this
    job (recorded where the disk lets it), and the sweep goes on with the others.
    """
    # A full disk must not print a traceback for every log line Hydra's file handler drops.
    logging.raiseExceptions = False
    started = time.monotonic()
    if continuation.on_another_node():
        return other_nodes.run_ranks(cfg, job_dir)
    try:
        with ends_with_the_sweep():  # a launcher's worker does not outlive the sweep
            return _run_job(cfg, job_dir, started)
    except KeyboardInterrupt:
        raise
    except JobDirectoryTaken as err:
        log.error("%s", err)  # the other run's record stays as it is
        return JobObjective(NO_OBJECTIVE, records.FAILED, f"{job_dir} (another run's)")
    except Exception as err:  # noqa: BLE001 - any failure of one job must not stop the sweep
        return _record_failure(job_dir, err, started)


def _run_job(cfg: DictConfig, job_dir: Path, started: float) -> JobObjective:
    claim_job_dir(job_dir)
    write_snapshot(cfg, job_dir)
    record_runner(job_dir)
    try:
        settings = validate_job_config(cfg, job_dir)
        command = build_command(cfg, job_dir, settings)
    except (ConfigError, DataError) as err:
        # Values a search sweeper drew can be invalid; that fails this job, not the sweep.
        failed = {**data_fields(cfg), "status": records.FAILED, "error": str(err)}
        return _record(job_dir, failed, started)
    write_settings(job_dir, settings)
    write_command_file(job_dir, command.shell_line(raw_env=RERUN_ENV))
    fields = {
        **data_fields(cfg, settings),
        "config_hash": config_hash(cfg),
        "command": command.shell_line(),
    }

    if cfg.get("dry_run"):  # the sweep lists its jobs at the end; the command is in command.sh
        return _record(job_dir, {**fields, "status": records.DRY_RUN}, started)
    if cfg.get("resume"):
        skipped = _skipped_fields(cfg, job_dir, fields["config_hash"])
        if skipped is not None:
            return _record(job_dir, {**fields, **skipped}, started)
        purpose_dir = Path(str(cfg.output_root)) / str(cfg.purpose)
        continuation.adopt_checkpoint(purpose_dir, fields["config_hash"], job_dir)

    try:
        with sigterm_as_interrupt():
            outcome, command = _run_on_a_slot(cfg, job_dir, command, settings)
    except KeyboardInterrupt:
        _record(job_dir, {**fields, **_interrupted_fields()}, started)
        raise
    fields["command"] = command.shell_line()
    if job_folder_vanished(job_dir):
        # Removed while the script ran (by the script itself?): its logs went with it. Put the
        # job back on record, failed, so that the tally and the summary still count it.
        _restore_record(cfg, job_dir, settings, command)
        result = {"status": records.FAILED, "exit_code": outcome.exit_code, "error": VANISHED}
    else:
        result = collect_result(cfg, job_dir, outcome)
    if _ended_with_the_sweep(outcome):
        result.update(_interrupted_fields("the sweep's own process died while this job ran"))
    # The script's own record says best what it read; the config fills what it does not say.
    return _record(job_dir, {**fields, **result, "command": fields["command"]}, started)


def _restore_record(
    cfg: DictConfig, job_dir: Path, settings: TrainSettings, command: JobCommand
) -> None:
    """What the job wrote before its script ran, written again into a new folder of its name."""
    job_dir.mkdir(parents=True, exist_ok=True)
    write_snapshot(cfg, job_dir)
    write_settings(job_dir, settings)
    write_command_file(job_dir, command.shell_line(raw_env=RERUN_ENV))


def cpu_thread_share(gpu_env: Mapping[str, str], ranks: int = 1) -> dict[str, str]:
    """OMP_NUM_THREADS for a CPU job that runs beside others, or as several ranks: each process
    gets its share of the cores.

    Two torch processes that each use every core run many times slower than twice as slow
    (their thread pools thrash), so parallel CPU jobs, and a job's ranks, split the cores. A
    value the user set, and jobs on a GPU, are left alone.
    """
    gpu = gpu_env.get("CUDA_VISIBLE_DEVICES", os.environ.get("CUDA_VISIBLE_DEVICES", ""))
    if "OMP_NUM_THREADS" in os.environ or gpu not in ("", "-1"):
        return {}
    processes = _parallel_jobs() * ranks
    if processes <= 1:
        return {}
    return {"OMP_NUM_THREADS": str(max(1, usable_cores() // processes))}


def usable_cores() -> int:
    """The cores this process may run on (a scheduler's share of the machine where it sets one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _parallel_jobs() -> int:
    """How many jobs the launcher runs at once (joblib's n_jobs; -1 means one per core)."""
    try:
        launcher = HydraConfig.get().launcher
    except ValueError:  # not inside a Hydra job
        return 1
    n_jobs = launcher.get("n_jobs") or 1
    return (os.cpu_count() or 1) if n_jobs < 0 else int(n_jobs)


def _run_on_a_slot(
    cfg: DictConfig, job_dir: Path, command: JobCommand, settings: TrainSettings
) -> tuple[ProcessOutcome, JobCommand]:
    # A job on the CPU holds no GPU.
    gpus = [] if settings.device == "cpu" else cfg.get("gpus")
    with gpu_slot(
        gpus,
        jobs_per_gpu(cfg, settings),
        cfg.get("gpu_lock_dir"),
        devices_per_job=int(cfg.get("devices_per_job") or 1),
    ) as gpu_env:
        command = command.with_env({**gpu_env, **cpu_thread_share(gpu_env, command.ranks)})
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
            grace_seconds=command.grace_seconds,
        )
    return outcome, command


def _record_failure(job_dir: Path, err: Exception, started: float) -> JobObjective:
    """Fail the job with the error as its one line; if even that cannot be written, log it."""
    message = " ".join(f"{type(err).__name__}: {err}".split())
    log.error("%s: failed (%s)", job_dir, message)
    try:
        return _record(job_dir, {"status": records.FAILED, "error": message}, started)
    except OSError as write_err:
        log.error("%s: cannot write %s (%s)", job_dir, records.RESULT_FILE, write_err)
        return JobObjective(NO_OBJECTIVE, records.FAILED, str(job_dir))


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


def _record(job_dir: Path, fields: dict[str, Any], started: float) -> JobObjective:
    """Write result.json (atomically, last) and return the objective for the sweeper."""
    fields["job_seconds"] = round(time.monotonic() - started, 3)
    records.write_json_atomic(job_dir / records.RESULT_FILE, fields)
    log.info("%s: %s%s", job_dir, fields["status"], _outcome_note(fields))
    return objective(fields, job_dir)


def _outcome_note(fields: Mapping[str, Any]) -> str:
    if fields.get("error"):
        return f" ({fields['error']})"
    if fields.get("best_dev") is not None:
        return f" (best dev {fields.get('metric', 'metric')} {fields['best_dev']})"
    return ""
