"""What a result was produced with: package versions, git commit, device, peak memory."""

from __future__ import annotations

import contextlib
import platform
import resource
import socket
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import torch

from zo_sweep import PROJECT_ROOT

PACKAGES = ("zo_sweep", "torch", "transformers", "peft", "hydra-core")


def describe_environment(device: torch.device, dtype: torch.dtype | None = None) -> dict:
    return {
        "python": sys.version.split()[0],
        "packages": {name: _version(name) for name in PACKAGES},
        "git_commit": git_commit(),
        "device": device_name(device),
        "device_type": device.type,
        "dtype": str(dtype).removeprefix("torch.") if dtype is not None else None,
        "threads": torch.get_num_threads(),
        "hostname": socket.gethostname(),
    }


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def git_commit() -> str | None:
    try:
        completed = subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return completed.stdout.strip() or None if completed.returncode == 0 else None


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return cpu_name()


def cpu_name() -> str:
    """The processor's model name (Linux), else what the platform module says."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "cpu"


def peak_memory_mb(device: torch.device) -> float:
    """GPU: the most memory torch allocated; CPU: the process's peak resident set size, since
    the last `reset_peak_memory` where the system allows a reset (Linux)."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak_kb / 1024 if sys.platform != "darwin" else peak_kb / 2**20


def reset_peak_memory(device: torch.device) -> None:
    """Start the peak over from the current use, so that loading's peak does not hide a step's."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        return
    # Linux resets the peak-RSS mark (VmHWM) to the current RSS when "5" is written here.
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")
