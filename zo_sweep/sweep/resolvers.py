"""The OmegaConf resolvers the configs in conf/ use; registered when zo_sweep.sweep.app is imported.

Every process that runs jobs (joblib and submitit workers import zo_sweep.sweep.app to unpickle the
task function) registers them the same way, so a config resolves alike everywhere.
"""

from __future__ import annotations

from omegaconf import OmegaConf


def example_data(kind: str) -> str:
    """`${example_data:original}`: the folder of the shipped example task folders of one kind."""
    from zo_sweep.data.layout import example_data_root

    return str(example_data_root(kind))


def job_subdir(sweep_dir: str, cell: str, override_dirname: str, job_num: int | str) -> str:
    """`${job_subdir:<sweep dir>,<model>/<task>_<method>_<data>,<varied keys>,<job num>}`.

    A sweep job's folder under the sweep's: the cell, then the varied keys with path
    separators made harmless, claimed so that no two jobs ever share one (see folders).
    """
    from zo_sweep.sweep.folders import claim_job_subdir

    return claim_job_subdir(str(sweep_dir), str(cell), str(override_dirname), str(job_num))


def varied_keys() -> str | None:
    """`${varied_keys:}`: the running job's varied keys (`job<n>` when none vary); None outside a job."""
    from hydra.core.hydra_config import HydraConfig

    try:
        job = HydraConfig.get().job
    except ValueError:
        return None
    return str(job.override_dirname).replace("/", "%2F") or f"job{job.num}"


def register_resolvers() -> None:
    OmegaConf.register_new_resolver("example_data", example_data, replace=True)
    OmegaConf.register_new_resolver("job_subdir", job_subdir, replace=True)
    OmegaConf.register_new_resolver("varied_keys", varied_keys, replace=True)
