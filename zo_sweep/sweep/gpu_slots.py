"""The pool of GPU slots shared by every job running at the same time on one machine.

A slot is one place on one GPU; a GPU offers `jobs_per_gpu` of them to jobs of one device. A
job holds a slot by holding an exclusive file lock in a lock folder shared by all sweeps on the
machine, so two joblib workers, or two sweeps started in two terminals, never put jobs on the
same slot by accident. A job of several devices (`devices_per_job`) takes whole GPUs: each GPU
also has a read-write lock, which a one-device job holds shared and a several-device job holds
exclusively, so such a job never shares a GPU, with a small job or with another like it. (It
waits for GPUs with no job at all; a stream of small jobs may keep it waiting.) The operating
system drops a lock when its process dies, so a crashed job frees its GPUs by itself. Where a
scheduler (SLURM) has already given the job its GPUs through CUDA_VISIBLE_DEVICES, the pool
stands aside.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from filelock import FileLock, ReadWriteLock, Timeout

log = logging.getLogger(__name__)

AUTO = "auto"
DEFAULT_LOCK_DIR_NAME = "zo_sweep_gpu_locks"
Held = TypeVar("Held")
# Variables a scheduler sets when it has placed the job itself.
SCHEDULER_MARKERS = ("SLURM_JOB_ID", "SLURM_JOBID")


class NotEnoughGPUs(RuntimeError):
    """A job needs more GPUs than the pool has: it would wait for ever."""


@dataclass(frozen=True)
class Slot:
    gpu: str
    index: int

    @property
    def lock_name(self) -> str:
        return f"gpu{self.gpu}_slot{self.index}.lock"


def whole_gpu_lock(folder: Path, gpu: str) -> ReadWriteLock:
    """GPU `gpu`'s read-write lock: shared by its one-device jobs, exclusive to a larger job."""
    return ReadWriteLock(folder / f"gpu{gpu}_whole.lock", is_singleton=False)


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
    devices_per_job: int = 1,
) -> Iterator[dict[str, str]]:
    """Hold a free slot (or `devices_per_job` whole GPUs) for the duration of the block; yields
    the env the job must get.

    The env is {} where the pool stands aside (a scheduler placed the job, or `gpus: auto`
    found no GPU), {"CUDA_VISIBLE_DEVICES": ""} for an explicit CPU run (`gpus: []`), and
    {"CUDA_VISIBLE_DEVICES": "<id>[,<id>...]"} for the GPUs held.
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
    if devices_per_job > len(ids):
        raise NotEnoughGPUs(
            f"devices_per_job={devices_per_job} but the pool has {len(ids)} GPU"
            f"{'s' * (len(ids) > 1)} ({','.join(ids)})"
        )
    folder = Path(lock_dir) if lock_dir else default_lock_dir()
    folder.mkdir(parents=True, exist_ok=True)
    if devices_per_job == 1:
        slots = [Slot(gpu, index) for index in range(max(1, jobs_per_gpu)) for gpu in ids]
        held, taken = _wait_for(lambda: _take_free_slot(slots, folder), poll_seconds)
        log.info("holding GPU %s (slot %d)", taken[0].gpu, taken[0].index)
        devices = [taken[0].gpu]
    else:
        held, devices = _wait_for(
            lambda: _take_whole_gpus(ids, devices_per_job, folder), poll_seconds
        )
        log.info("holding GPUs %s", ",".join(devices))
    try:
        yield {"CUDA_VISIBLE_DEVICES": ",".join(devices)}
    finally:
        for lock in reversed(held):
            lock.release()


def _wait_for(take: Callable[[], Held | None], poll_seconds: float) -> Held:
    """Try `take()` until it holds something; say once that the job waits."""
    announced = False
    while True:
        taken = take()
        if taken is not None:
            return taken
        if not announced:
            log.info("the GPUs this job needs are busy; waiting for them to free up")
            announced = True
        time.sleep(poll_seconds)


def _take_free_slot(slots: list[Slot], folder: Path) -> tuple[list[Any], list[Slot]] | None:
    """A free slot on a GPU that no larger job holds: (its locks, [the slot]), or None."""
    for slot in slots:
        whole = whole_gpu_lock(folder, slot.gpu)
        try:
            whole.acquire_read(timeout=0, blocking=False)
        except Timeout:
            continue
        lock = FileLock(folder / slot.lock_name)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            whole.release()
            continue
        return [whole, lock], [slot]
    return None


def _take_whole_gpus(
    ids: list[str], count: int, folder: Path
) -> tuple[list[Any], list[str]] | None:
    """`count` GPUs with no job on them, held exclusively: (their locks, their ids), or None
    (holding nothing, so that two large jobs never wait on each other's half)."""
    held: list[ReadWriteLock] = []
    devices: list[str] = []
    for gpu in ids:
        lock = whole_gpu_lock(folder, gpu)
        try:
            lock.acquire_write(timeout=0, blocking=False)
        except Timeout:
            continue
        held.append(lock)
        devices.append(gpu)
        if len(devices) == count:
            return held, devices
    for lock in held:
        lock.release()
    return None
