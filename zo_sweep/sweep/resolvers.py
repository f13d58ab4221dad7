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


def job_leaf(override_dirname: str, job_num: int | str) -> str:
    """`${job_leaf:${hydra.job.override_dirname},${hydra.job.num}}`: the last folder of a job.

    The varied keys, with path separators (from values such as a folder) made harmless so
    the job stays one folder deep; `job<num>` when no key varies, so jobs never share a folder.
    """
    leaf = str(override_dirname).replace("/", "%2F")
    return leaf or f"job{job_num}"


def varied_keys() -> str | None:
    """`${varied_keys:}`: the running job's leaf folder name (see job_leaf); None outside a job."""
    from hydra.core.hydra_config import HydraConfig

    try:
        job = HydraConfig.get().job
    except ValueError:
        return None
    return job_leaf(job.override_dirname, job.num)


def register_resolvers() -> None:
    OmegaConf.register_new_resolver("example_data", example_data, replace=True)
    OmegaConf.register_new_resolver("job_leaf", job_leaf, replace=True)
    OmegaConf.register_new_resolver("varied_keys", varied_keys, replace=True)
