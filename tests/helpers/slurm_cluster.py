"""A one-node SLURM cluster for the tests, started once per session by scripts/slurm_cluster.sh.

The tests that need it skip with the reason when SLURM's daemons are not installed (CI installs
them with `scripts/slurm_cluster.sh install`) or when this is not root (slurmd runs jobs as the
submitting user only when it runs as root).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "slurm_cluster.sh"
DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scancel")
SBIN = ("/usr/sbin", "/sbin")  # where Debian puts the daemons, off some users' PATH


def why_no_cluster() -> str | None:
    search = os.pathsep.join([os.environ.get("PATH", ""), *SBIN])
    missing = [name for name in DAEMONS if shutil.which(name, path=search) is None]
    if missing:
        return f"SLURM is not installed ({', '.join(missing)} missing; see {SCRIPT.name} install)"
    if os.geteuid() != 0:
        return "a throwaway SLURM cluster needs root (slurmd runs the jobs)"
    return None


@contextmanager
def running_cluster(folder: Path) -> Iterator[Path]:
    """Start the cluster with its state in `folder`; yields its slurm.conf; stops it after."""
    started = subprocess.run(
        ["bash", str(SCRIPT), "start", str(folder)], capture_output=True, text=True, timeout=120
    )
    try:
        if started.returncode != 0:
            logs = "\n".join(p.read_text()[-2000:] for p in sorted(folder.glob("log/*.log")))
            raise RuntimeError(f"the SLURM cluster did not start:\n{started.stderr}\n{logs}")
        yield folder / "slurm.conf"
    finally:
        subprocess.run(["bash", str(SCRIPT), "stop", str(folder)], capture_output=True, timeout=60)
