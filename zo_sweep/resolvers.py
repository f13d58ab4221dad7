"""The OmegaConf resolvers the configs in conf/ use; registered when zo_sweep.sweep.app is imported.

Every process that runs jobs (joblib and submitit workers import zo_sweep.sweep.app to unpickle the
task function) registers them the same way, so a config resolves alike everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from omegaconf import OmegaConf

# Overrides that choose the dataset a job reads; they name the job through its data identity.
DATA_LOCATION_KEYS = {"data.root", "data.synthetic_root", "data.tag"}


def example_data(kind: str) -> str:
    """`${example_data:original}`: the folder of the shipped example task folders of one kind."""
    from zo_sweep.data.layout import example_data_root

    return str(example_data_root(kind))


def example_eval_root(root: str) -> str | None:
    """`${example_eval_root:${data.root}}`: the example original data when root is the example
    synthetic data, else null (a user's synthetic data is never tested on the example data)."""
    from zo_sweep.data.layout import example_data_root

    if Path(str(root)).expanduser().resolve() == example_data_root("synthetic").resolve():
        return str(example_data_root("original"))
    return None


def data_id(root: str, tag: str | None = None, synthetic_root: str | None = None) -> str:
    """`${data_id:${data.root},${data.tag}}`: which dataset a job uses (see zo_sweep.data_identity)."""
    from zo_sweep.data_identity import data_identity

    return data_identity(root, tag, synthetic_root)


def data_led_dirname(
    override_dirname: str, data_identity: str | None = None, overrides: Sequence[str] = ()
) -> str:
    """`${data_led_dirname:${hydra.job.override_dirname},${data.id},${hydra.overrides.task}}`:
    the varied keys, led by `data=<data identity>` when the command line chooses the data.

    Data roots are left out of the varied keys (they are long paths); the job's data identity
    names the dataset instead (`data=synthetic/mezo,lr=1e-06`, written `%2F` in the folder).
    """
    keys = {str(item).split("=", 1)[0].lstrip("+~") for item in overrides}
    if not (data_identity and keys & DATA_LOCATION_KEYS):
        return str(override_dirname)
    return ",".join(filter(None, [f"data={data_identity}", str(override_dirname)]))


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
    from zo_sweep.data.kinds import sibling_folder

    OmegaConf.register_new_resolver("example_data", example_data, replace=True)
    OmegaConf.register_new_resolver("sibling", sibling_folder, replace=True)
    OmegaConf.register_new_resolver("job_subdir", job_subdir, replace=True)
    OmegaConf.register_new_resolver("data_led_dirname", data_led_dirname, replace=True)
    OmegaConf.register_new_resolver("data_id", data_id, replace=True)
    OmegaConf.register_new_resolver("example_eval_root", example_eval_root, replace=True)
    OmegaConf.register_new_resolver("varied_keys", varied_keys, replace=True)
