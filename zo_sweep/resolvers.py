"""The config language's functions: the OmegaConf resolvers that conf/ uses.

    ${example_data:original}                  the shipped example data of a kind
    ${example_eval_root:${data.root}}         its original data, for the example synthetic data
    ${sibling:${data.root},original}          the folder of that name beside data.root
    ${data_id:${data.root},${data.tag}}       which dataset a job uses (zo_sweep.data_identity)
    ${job_name:...}                           a sweep job's varied keys, led by its dataset
    ${varied_keys:${data.id}}                 the same, for the running job

This module is on the package's ground floor: every layer that composes or resolves a config
(the sweep, the data kinds for old scripts, the summary, the converter) imports it, and it
imports none of them. The sweep's own output layout adds one resolver that claims folders
(zo_sweep.sweep.folders).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from zo_sweep import EXAMPLE_DATA_DIR
from zo_sweep.data_identity import DATA_KINDS, data_identity
from zo_sweep.errors import DataError

# Overrides that choose the dataset a job reads; a job's name says its data identity instead.
DATA_LOCATION_KEYS = ("data.root", "data.synthetic_root", "data.tag")


def example_data(kind: str) -> str:
    """`${example_data:original}`: the folder of the shipped example task folders of one kind."""
    if kind not in DATA_KINDS:
        raise DataError(f"unknown example data kind '{kind}' (known: {', '.join(DATA_KINDS)})")
    return str(EXAMPLE_DATA_DIR / kind)


def example_eval_root(root: str) -> str | None:
    """`${example_eval_root:${data.root}}`: the example original data when root is the example
    synthetic data, else null (a user's synthetic data is never tested on the example data)."""
    if Path(str(root)).expanduser().resolve() == (EXAMPLE_DATA_DIR / "synthetic").resolve():
        return str(EXAMPLE_DATA_DIR / "original")
    return None


def sibling(root: str, name: str, required: bool = False) -> str | None:
    """`${sibling:${data.root},original}`: the folder called `name` beside `root`, where there
    is one (null otherwise: a dataset laid out otherwise keeps to its own folder).
    `${sibling:${data.root},synthetic,true}`: a data kind that cannot do without it."""
    folder = Path(root).expanduser().parent / name
    if folder.is_dir():
        return str(folder)
    if required:
        raise DataError(
            f"data folder not found: {folder} (the '{name}' folder beside data.root={root})"
        )
    return None


def data_id(root: str, tag: str | None = None, synthetic_root: str | None = None) -> str:
    """`${data_id:${data.root},${data.tag}}`: which dataset a job uses."""
    return data_identity(root, tag, synthetic_root)


def job_name(overrides: Sequence[str], dirname: Mapping[str, Any], identity: str | None) -> str:
    """`${job_name:${hydra.overrides.task},${hydra.job.config.override_dirname},${data.id}}`:
    a sweep job's overrides but the excluded keys, as Hydra's `override_dirname` joins them,
    led by `data=<data identity>` where they name its data location.

    Data locations are long paths: the job's data identity names the dataset instead
    (`data=synthetic/mezo,lr=1e-06`, written `%2F` in the folder).
    """
    excluded = set(dirname.get("exclude_keys") or ())
    items, names_data = [], False
    for item in map(str, overrides):
        key = item.split("=", 1)[0].lstrip("+~")
        if key in excluded:
            continue
        if key in DATA_LOCATION_KEYS:
            names_data = True
            continue
        items.append(item)
    lead = [f"data={identity}"] if names_data and identity else []
    joined = str(dirname.get("item_sep", ",")).join([*lead, *sorted(items)])
    return joined.replace("=", str(dirname.get("kv_sep", "=")))


def varied_keys(identity: str | None = None) -> str | None:
    """`${varied_keys:${data.id}}`: the running job's name (`job<n>` when nothing names it);
    None outside a job."""
    from hydra.core.hydra_config import HydraConfig

    try:
        hydra = HydraConfig.get()
    except ValueError:
        return None
    name = job_name(hydra.overrides.task, hydra.job.config.override_dirname, identity)
    return name.replace("/", "%2F") or f"job{hydra.job.num}"


RESOLVERS = {
    "example_data": example_data,
    "example_eval_root": example_eval_root,
    "sibling": sibling,
    "data_id": data_id,
    "job_name": job_name,
    "varied_keys": varied_keys,
}


def register_resolvers() -> None:
    """Make the resolvers above known to OmegaConf (idempotent)."""
    for name, function in RESOLVERS.items():
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, function)
