"""Shared fixtures: a tiny random Llama model folder and a SLURM cluster, once per session."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.sweep import REPO_ROOT
from helpers.tiny_llama import build_tiny_llama

MAX_WORKERS = 4


def _cores() -> int:
    """The cores this process may use (its affinity where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: one worker per core, at most MAX_WORKERS; each test's sweeps start processes
    of their own, and the timing of a few tests (time limits, progress lines) needs spare CPU."""
    return max(1, min(MAX_WORKERS, _cores()))


def pytest_configure(config: pytest.Config) -> None:
    """Workers share the cores: each worker's torch, and the sweeps and trainers it starts,
    get their share of threads (torch processes that each use every core thrash)."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1 and "OMP_NUM_THREADS" not in os.environ:
        share = max(1, _cores() // workers)
        os.environ["OMP_NUM_THREADS"] = str(share)
        if "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(share)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding a tiny random Llama and its tokenizer (MODEL=<this folder>)."""
    return build_tiny_llama(tmp_path_factory.mktemp("tiny_llama"))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def compose_config():
    """Compose the real conf/ as a job would get it: `compose_config("task=copa", "lr=1e-4")`."""
    from hydra import compose, initialize_config_dir

    from zo_sweep import CONF_DIR
    from zo_sweep.jobdir.schema import register_schema
    from zo_sweep.resolvers import register_resolvers

    register_resolvers()
    register_schema()

    def composed(*overrides: str):
        with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
            return compose("config", overrides=list(overrides))

    return composed


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A real one-node SLURM cluster for the session; SLURM_CONF points every client at it."""
    from helpers.slurm_cluster import running_cluster, why_no_cluster

    reason = why_no_cluster()
    if reason:
        pytest.skip(reason)
    with running_cluster(tmp_path_factory.mktemp("slurm")) as conf:
        previous = os.environ.get("SLURM_CONF")
        os.environ["SLURM_CONF"] = str(conf)
        try:
            yield conf
        finally:
            if previous is None:
                os.environ.pop("SLURM_CONF", None)
            else:
                os.environ["SLURM_CONF"] = previous
