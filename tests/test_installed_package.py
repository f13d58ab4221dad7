"""zo_sweep installed as users install it, a wheel or `pip install -e`, run from a folder of
their own: conf/, the base scripts and the launcher plugins travel with the package, and every
launcher preset runs a sweep. Nothing is read from the checkout (no PYTHONPATH, another cwd)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import REPO_ROOT
from helpers.installed import KINDS, Installed, installed_package, shared_folder
from helpers.sweep import job_results, write_probe

from zo_sweep import CONF_DIR

LOCAL_LAUNCHERS = ("joblib", "submitit_local")
# The presets conf/ ships: hydra/launcher=slurm and slurm_cpu.
SHIPPED_LAUNCHERS = tuple(
    sorted(path.stem for path in (CONF_DIR / "hydra" / "launcher").glob("*.yaml"))
)
SLURM_SMALL_JOBS = ("hydra.launcher.cpus_per_task=1", "hydra.launcher.mem_gb=1")


@pytest.fixture(scope="module", params=KINDS)
def installed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Installed:
    return installed_package(request.param, shared_folder(tmp_path_factory.getbasetemp()))


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    return installed_package("wheel", shared_folder(tmp_path_factory.getbasetemp()))


def _users_folder(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    return work


def test_a_fresh_venv_runs_a_dry_run_sweep_from_its_own_files(
    installed: Installed, tmp_path: Path
) -> None:
    """conf/ and the trainer come from the installed package, whatever the folder."""
    work = _users_folder(tmp_path)
    where = installed.run("-c", "import zo_sweep; print(zo_sweep.CONF_DIR)", cwd=work)
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(installed.root)
    done = installed.run(
        "-m", "zo_sweep", "-m", "task=copa,cb", "dry_run=true", "output_root=out", cwd=work
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "2 jobs: 2 dry_run" in done.stdout
    for command in work.rglob("command.sh"):
        text = command.read_text()
        assert "-m zo_sweep.train --config" in text
        assert str(REPO_ROOT) + "/" not in text.replace(str(work), "")
    (status,) = {json.loads(p.read_text())["status"] for p in work.rglob("result.json")}
    assert status == "dry_run"


@pytest.mark.parametrize("launcher", LOCAL_LAUNCHERS)
def test_each_local_launcher_runs_a_sweep(
    installed_wheel: Installed, tmp_path: Path, launcher: str
) -> None:
    """Plugins of their own: one install shows they find the installed package's jobs."""
    probe = write_probe(tmp_path / "probe")
    work = _users_folder(tmp_path)
    done = installed_wheel.run(
        "-m", "zo_sweep", "-m", f"hydra/launcher={launcher}", "lr=1e-4",
        f"method.script={probe}", "output_root=out", cwd=work,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "1 job: 1 ok" in done.stdout
    assert {name: r["status"] for name, r in job_results(work / "out").items()} == {
        "lr=0.0001": "ok"
    }


@pytest.mark.slurm
@pytest.mark.xdist_group("slurm")
@pytest.mark.usefixtures("slurm_cluster")
@pytest.mark.parametrize("launcher", SHIPPED_LAUNCHERS)
def test_each_shipped_launcher_preset_runs_a_sweep_on_slurm(
    installed: Installed, tmp_path: Path, launcher: str
) -> None:
    """The SweepSlurmLauncher class comes from the package's hydra_plugins, not the checkout."""
    work = _users_folder(tmp_path)
    done = installed.run(
        "-m", "zo_sweep", "-m", f"hydra/launcher={launcher}", *SLURM_SMALL_JOBS,
        "hydra.launcher.gpus_per_node=null", "lr=0.01", "dry_run=true", "output_root=out",
        cwd=work,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "1 job: 1 dry_run" in done.stdout
    (job,) = job_results(work / "out").values()
    assert job["status"] == "dry_run"
    assert list(work.rglob("slurm_job_id")), "the job ran under SLURM"
