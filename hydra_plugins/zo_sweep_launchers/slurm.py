"""The SLURM launcher of `hydra/launcher=slurm`: submitit's, made to survive what clusters do.

hydra-submitit-launcher submits one array job and then waits on each job's result through
`sacct`. That breaks a sweep in three ways this launcher avoids, keeping everything else
(the executor, the sbatch options, the pickled jobs) as submitit builds it:

- without an accounting database `sacct` fails on every poll (a warning each time) and a job
  that SLURM ended (scancel, time limit, lost node) is never seen as finished: the sweep hangs.
  Here a job is finished when its result file exists or when it has left `squeue`;
- one job that ended without a result (or raised: submitit's time-limit signal does) raised
  out of the launcher and ended the whole sweep.
  Here its job directory records how it ended (`timeout`, `interrupted`, `failed`) and the
  sweeper gets the objective of a job without a metric;
- Ctrl-C left the array running on the cluster. Here it cancels the sweep's jobs first.

Each job asks for the devices its `devices_per_job` says (GPUs, on several nodes where a node
has fewer, `node_gpus`; and `cpus_per_task` cores for each): jobs of one size share an array
job, so a sweep over models of different sizes submits one array per size.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, JobStatus, filter_overrides
from hydra_plugins.hydra_submitit_launcher.config import BaseQueueConf
from hydra_plugins.hydra_submitit_launcher.submitit_launcher import SlurmLauncher
from omegaconf import DictConfig, OmegaConf, open_dict

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
# Launcher settings that are not sbatch options: the executor's own, and the size of a node.
EXECUTOR_KEYS = {"submitit_folder", "max_num_timeout", "node_gpus"}


class SweepSlurmLauncher(SlurmLauncher):
    """One SLURM array job per sweep; waits by result files and squeue, never by sacct."""

    def launch(
        self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
    ) -> Sequence[JobReturn]:
        from zo_sweep.sweep import slurm_jobs

        assert self.config is not None and self.hydra_context is not None
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        log.info("SLURM sweep output dir: %s", sweep_dir)
        arguments = []
        by_request: dict[tuple, list[int]] = {}
        for offset, overrides in enumerate(job_overrides):
            index = initial_job_idx + offset
            log.info("\t#%d : %s", index, " ".join(filter_overrides(overrides)))
            arguments.append(
                (list(overrides), "hydra.sweep.dir", index, f"job_id_for_{index}",
                 Singleton.get_state())
            )  # fmt: skip
            request = self._request(list(overrides), index)
            by_request.setdefault(tuple(request.items()), []).append(offset)
        jobs: list[Any] = [None] * len(arguments)
        for request, offsets in by_request.items():
            params = {**self.params, **dict(request)}
            try:
                submitted = slurm_jobs.submit_or_exit(
                    self._executor(params), self, [arguments[i] for i in offsets], params
                )
            except SystemExit:  # refused: the arrays already queued go too
                slurm_jobs.cancel([job for job in jobs if job is not None])
                raise
            for offset, job in zip(offsets, submitted, strict=True):
                jobs[offset] = job
        try:
            slurm_jobs.wait_until_finished(jobs, POLL_SECONDS)
        except KeyboardInterrupt:
            slurm_jobs.cancel(jobs)
            raise
        # Each job notes its SLURM id in the folder it claimed (resolving the folders here
        # would claim others).
        started = slurm_jobs.job_dirs_by_slurm_id(sweep_dir)
        return [
            self._job_return(job, overrides, index, started.get(job.job_id))
            for job, (overrides, _, index, *_) in zip(jobs, arguments, strict=True)
        ]

    def _request(self, overrides: list[str], index: int) -> dict[str, int | None]:
        """The GPUs and nodes job `index` asks for, from its own devices_per_job."""
        from zo_sweep.sweep import slurm_jobs

        devices = OmegaConf.select(self._job_config(overrides, index), "devices_per_job")
        try:
            return slurm_jobs.node_request(int(devices or 1), self.params)
        except ValueError as error:
            slurm_jobs.refuse(str(error))

    def _executor(self, params: dict[str, Any]) -> Any:
        """submitit's SLURM executor with these settings, as the parent builds it."""
        import submitit

        executor = submitit.AutoExecutor(
            cluster=self._EXECUTOR,
            folder=params["submitit_folder"],
            slurm_max_num_timeout=params.get("max_num_timeout", 0),
        )
        shared = set(OmegaConf.structured(BaseQueueConf).keys())
        executor.update_parameters(
            **{
                key if key in shared else f"{self._EXECUTOR}_{key}": value
                for key, value in params.items()
                if key not in EXECUTOR_KEYS
            }
        )
        return executor

    def _job_config(self, overrides: list[str], index: int) -> DictConfig:
        """Job `index`'s config, as Hydra composes it on the node."""
        assert self.config is not None and self.hydra_context is not None
        config = self.hydra_context.config_loader.load_sweep_config(self.config, overrides)
        with open_dict(config.hydra.job):
            config.hydra.job.num = index
        return config

    def _job_return(
        self, job: Any, overrides: list[str], index: int, job_dir: Path | None
    ) -> JobReturn:
        """The job's own return; for a job without a metric, also the record of how it ended."""
        from zo_sweep.sweep import slurm_jobs
        from zo_sweep.sweep.job_result import NO_OBJECTIVE

        returned: JobReturn | None = None
        error: BaseException | None = None
        if job.paths.result_pickle.exists():
            try:
                returned = job.results()[0]
            except Exception as raised:  # submitit's wrapper itself failed
                error = raised
        if returned is not None and returned.status != JobStatus.COMPLETED:
            error, returned = returned._return_value, None  # what the task raised
        if returned is not None and returned.return_value != NO_OBJECTIVE:
            return returned
        # No metric: the job failed, or SLURM (or submitit on its signal) ended it.
        if job_dir is None:  # ended before it started: a folder of its own for the tally
            config = self._job_config(overrides, index)
            job_dir = Path(str(config.hydra.sweep.dir)) / str(config.hydra.sweep.subdir)
            _write_snapshot(config, overrides, job_dir)
        slurm_jobs.record_unfinished(job, job_dir, error, self.params.get("timeout_min"))
        return returned or JobReturn(
            overrides=overrides,
            working_dir=str(job_dir),
            status=JobStatus.COMPLETED,
            _return_value=NO_OBJECTIVE,
        )


def _write_snapshot(config: DictConfig, overrides: list[str], job_dir: Path) -> None:
    """The `.hydra/` snapshot a job writes when it starts, for a job that never did."""
    from zo_sweep import records

    snapshot = job_dir / records.HYDRA_DIR
    snapshot.mkdir(parents=True, exist_ok=True)
    task_keys = [key for key in config if key != "hydra"]
    OmegaConf.save(OmegaConf.masked_copy(config, task_keys), snapshot / "config.yaml")
    OmegaConf.save(OmegaConf.masked_copy(config, ["hydra"]), snapshot / "hydra.yaml")
    OmegaConf.save(OmegaConf.create(list(overrides)), snapshot / "overrides.yaml")
