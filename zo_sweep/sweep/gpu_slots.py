"""The pool of GPU slots shared by every job running at the same time on one machine.

A slot is one place on one GPU; a GPU offers `jobs_per_gpu` of them. A job holds a slot by
holding an exclusive file lock in a lock folder shared by all sweeps on the machine, so two
joblib workers, or two sweeps started in two terminals, never put jobs on the same slot by
accident. The operating system drops a lock when its process dies, so a crashed job frees its
slot by itself. Where a scheduler (SLURM) has already given the job its GPUs through
CUDA_VISIBLE_DEVICES, the pool stands aside.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

log = logging.getLogger(__name__)

AUTO = "auto"
DEFAULT_LOCK_DIR_NAME = "zo_sweep_gpu_locks"
# Variables a scheduler sets when it has placed the job itself.
SCHEDULER_MARKERS = ("SLURM_JOB_ID", "SLURM_JOBID")


@dataclass(frozen=True)
class Slot:
    gpu: str
    index: int

    @property
    def lock_name(self) -> str:
        return f"gpu{self.gpu}_slot{self.index}.lock"


def detect_gpus(environ: Mapping[str, str] | None = None) -> list[str]:
    """The GPU ids this process may use: CUDA_VISIBLE_DEVICES if set, else what nvidia-smi lists."""
    environ = os.environ if environ is None else environ
    visible = environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        ids = [part.strip() for part in visible.split(",") if part.strip()]
        # CUDA reads "-1" (or any invalid id before the first valid one) as "no GPU".
        return [] if not ids or ids[0] == "-1" else ids
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        listing = subprocess.run(
            ["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in listing.splitlines() if line.strip()]


def scheduler_placed(environ: Mapping[str, str] | None = None) -> bool:
    """True when a scheduler already chose this job's GPUs (the pool must not second-guess it)."""
    environ = os.environ if environ is None else environ
    return "CUDA_VISIBLE_DEVICES" in environ and any(key in environ for key in SCHEDULER_MARKERS)


def resolve_gpus(setting: str | Sequence[int | str] | None) -> list[str]:
    """`gpus` from the config as a list of ids: auto detects, a list is taken as given."""
    if setting is None or setting == AUTO:
        return detect_gpus()
    if isinstance(setting, str | int):
        return [part.strip() for part in str(setting).split(",") if part.strip()]
    return [str(gpu) for gpu in setting]


def default_lock_dir() -> Path:
    """One folder per machine, so that every sweep on it sees every other sweep's slots."""
    return Path(tempfile.gettempdir()) / DEFAULT_LOCK_DIR_NAME


@contextmanager
def gpu_slot(
    gpus: str | Sequence[int | str] | None,
    jobs_per_gpu: int,
    lock_dir: str | Path | None,
    poll_seconds: float = 1.0,
) -> Iterator[dict[str, str]]:
    """Hold one free slot for the duration of the block; yields the env the job must get.

    The env is {} where the pool stands aside (a scheduler placed the job, or `gpus: auto`
    found no GPU), {"CUDA_VISIBLE_DEVICES": ""} for an explicit CPU run (`gpus: []`), and
    {"CUDA_VISIBLE_DEVICES": "<id>"} for a slot.
    """
    if scheduler_placed():
        log.info(
            "GPUs placed by the scheduler (CUDA_VISIBLE_DEVICES=%s)",
            os.environ["CUDA_VISIBLE_DEVICES"],
        )
        yield {}
        return
    ids = resolve_gpus(gpus)
    if not ids:
        # An explicit empty list hides every GPU; auto with none found leaves the env alone.
        yield {} if gpus in (None, AUTO) else {"CUDA_VISIBLE_DEVICES": ""}
        return
    slots = [Slot(gpu, index) for index in range(max(1, jobs_per_gpu)) for gpu in ids]
    folder = Path(lock_dir) if lock_dir else default_lock_dir()
    folder.mkdir(parents=True, exist_ok=True)
    lock, slot = _take_free_slot(slots, folder, poll_seconds)
    try:
        log.info("holding GPU %s (slot %d)", slot.gpu, slot.index)
        yield {"CUDA_VISIBLE_DEVICES": slot.gpu}
    finally:
        lock.release()


def _take_free_slot(slots: list[Slot], folder: Path, poll_seconds: float) -> tuple[FileLock, Slot]:
    announced = False
    while True:
        for slot in slots:
            lock = FileLock(folder / slot.lock_name)
            try:
                lock.acquire(timeout=0)
            except Timeout:
                continue
            return lock, slot
        if not announced:
            log.info("all %d GPU slots busy; waiting for one to free up", len(slots))
            announced = True
        time.sleep(poll_seconds)
