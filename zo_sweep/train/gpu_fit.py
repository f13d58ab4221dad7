"""Whether a job's memory plan fits the GPUs it would get, and what would fit when it does not.

The other way round, the same plan says how many small jobs share one GPU (`jobs_per_gpu=auto`:
the group's scripts start four learning rates at once with `&`). Sizes are in GB of 2^30 bytes,
as GPUs are sold (a 40 GB A100 has 40960 MiB) and as torch reports them.

How a sweep uses it, per job, before any job starts (`settings`: the job's TrainSettings):

    architecture = model_architecture(settings.model, params=model_node.get("params"))
    shape = job_shape(settings, devices=cfg.devices_per_job)
    plan = plan_memory(architecture, shape)           # None architecture: nothing to plan
    gpu, source = planning_gpu_bytes(cfg.gpu_memory_gb)
    problem = fit_problem(name, architecture, shape, gpu)    # one line, or None
    print(plan_line(name, plan, gpu))                 # the dry run's table
    slots = jobs_per_gpu_that_fit(plan, gpu)          # jobs_per_gpu=auto
"""

from __future__ import annotations

import dataclasses
import math
import shutil
import subprocess

from zo_sweep.train.architecture import Architecture
from zo_sweep.train.memory_plan import (
    FP32_MASTERS,
    GIB,
    INFERENCE,
    JobShape,
    MemoryPlan,
    plan_memory,
)
from zo_sweep.train.settings import TrainSettings

# A job may use this share of a GPU: the rest is the allocator's fragmentation and what the
# plan does not see (cuBLAS workspaces, NCCL buffers).
USABLE_SHARE = 0.9
# Jobs beyond this many on one GPU compete for its compute and gain nothing.
MOST_JOBS_PER_GPU = 8
# Devices per job a refusal proposes: the shapes of nodes, and a batch split evenly.
DEVICE_COUNTS = (1, 2, 4, 8, 16, 32, 64)


def job_shape(
    settings: TrainSettings,
    *,
    devices: int = 1,
    precision: str | None = None,
    candidates: int = 1,
    candidate_tokens: int = 1,
) -> JobShape:
    """A job's shape from its trainer settings. `dtype: auto` is planned as the trainer runs it:
    bf16 on a GPU, fp32 on the CPU (`device=cpu`). MeZO's precision is the job's `zo_weights`
    unless `precision` names another."""
    device_type = "cpu" if settings.device == "cpu" else "cuda"
    dtype = settings.dtype
    if dtype == "auto":
        dtype = "float32" if device_type == "cpu" else "bfloat16"
    return JobShape(
        method=settings.method,
        dtype=dtype,
        precision=precision or settings.zo_weights,
        batch=settings.bs,
        candidates=candidates,
        candidate_tokens=candidate_tokens,
        seq_len=settings.max_length,
        eval_batch=settings.eval_bs,
        devices=devices,
        device_type=device_type,
        lora_rank=settings.rank,
        lora_targets=_targets(settings.targets),
        optimizer=settings.optim,
        grad_accum=settings.grad_accum,
        grad_ckpt=settings.grad_ckpt,
    )


def _targets(targets: list[str] | str) -> tuple[str, ...] | str:
    return targets if isinstance(targets, str) else tuple(targets)


def fits(plan: MemoryPlan, gpu_bytes: float) -> bool:
    return plan.per_device <= USABLE_SHARE * gpu_bytes


def devices_needed(architecture: Architecture, shape: JobShape, gpu_bytes: float) -> int | None:
    """The fewest devices per job (of DEVICE_COUNTS) on which the job fits; None if none."""
    for devices in DEVICE_COUNTS:
        plan = plan_memory(architecture, dataclasses.replace(shape, devices=devices))
        if fits(plan, gpu_bytes):
            return devices
    return None


def fit_problem(
    name: str, architecture: Architecture, shape: JobShape, gpu_bytes: float
) -> str | None:
    """None if the job fits its GPUs; else one line that says what would, e.g.
    `llama70b zo (fp32 masters): 282 GB over 1 GPU of 80 GB; use devices_per_job=4, or
    the inference-memory option zo_weights=inference (141 GB)`."""
    if shape.device_type != "cuda":
        return None
    plan = plan_memory(architecture, shape)
    if fits(plan, gpu_bytes):
        return None
    devices = shape.devices
    head = (
        f"{name} {shape.label}: {gb(plan.total)} GB over {devices} GPU{'s' * (devices > 1)} "
        f"of {gb(gpu_bytes)} GB"
    )
    if devices > 1:
        head += f" ({gb(plan.per_device)} GB each)"
    needed = devices_needed(architecture, shape, gpu_bytes)
    ways = [
        f"use devices_per_job={needed}" if needed else f"even {DEVICE_COUNTS[-1]} GPUs are too few"
    ]
    if shape.label != shape.method and shape.precision == FP32_MASTERS:
        ways.append(_inference_option(architecture, shape, gpu_bytes))
    if shape.method.startswith("fo") and not shape.grad_ckpt and architecture.shape_known:
        ways += _checkpointing_option(architecture, shape, gpu_bytes, needed)
    return f"{head}; {', or '.join(ways)}"


def _inference_option(architecture: Architecture, shape: JobShape, gpu_bytes: float) -> str:
    """MeZO with weights in the forward's dtype: its size, and its devices if it needs more."""
    lighter = dataclasses.replace(shape, precision=INFERENCE)
    plan = plan_memory(architecture, lighter)
    option = f"the inference-memory option zo_weights=inference ({gb(plan.total)} GB"
    if not fits(plan, gpu_bytes):
        needed = devices_needed(architecture, lighter, gpu_bytes)
        option += f", devices_per_job={needed}" if needed else ""
    return option + ")"


def _checkpointing_option(
    architecture: Architecture, shape: JobShape, gpu_bytes: float, needed: int | None
) -> list[str]:
    """First-order with gradient checkpointing (each layer's activations recomputed), where it
    needs fewer devices than without."""
    lighter = dataclasses.replace(shape, grad_ckpt=True)
    plan = plan_memory(architecture, lighter)
    if fits(plan, gpu_bytes):
        return [f"grad_ckpt=true ({gb(plan.total)} GB)"]
    fewer = devices_needed(architecture, lighter, gpu_bytes)
    if fewer is None or (needed is not None and fewer >= needed):
        return []
    return [f"grad_ckpt=true with devices_per_job={fewer}"]


def jobs_per_gpu_that_fit(plan: MemoryPlan, gpu_bytes: float) -> int:
    """How many jobs of this plan share one GPU (each with its own runtime), at most
    MOST_JOBS_PER_GPU; 0 if not even one fits. A job on several GPUs has them to itself."""
    if plan.shape.devices > 1:
        return 1 if fits(plan, gpu_bytes) else 0
    return min(MOST_JOBS_PER_GPU, math.floor(USABLE_SHARE * gpu_bytes / plan.per_device))


def plan_line(name: str, plan: MemoryPlan, gpu_bytes: float | None = None) -> str:
    """A job's plan in one line, for a dry run's table, e.g. `llama70b zo (inference memory):
    27.9 GB per GPU x 8 (weights 17.6, gathered 7.5, ...); fits 40 GB GPUs`."""
    devices = plan.shape.devices
    where = "GPU" if plan.shape.device_type == "cuda" else "process"
    size = f"{gb(plan.per_device)} GB per {where}" + (f" x {devices}" if devices > 1 else "")
    parts = {
        "weights": plan.weights,
        "gradients": plan.gradients,
        "optimizer": plan.optimizer,
        "activations": plan.activations,
        **plan.temporaries,
        "runtime": plan.runtime,
    }
    shown = ", ".join(
        f"{label} {'unknown (no config.json)' if value is None else gb(value)}"
        for label, value in parts.items()
        if value is None or value > 0
    )
    line = f"{name} {plan.shape.label}: {size} ({shown})"
    if gpu_bytes is None or plan.shape.device_type != "cuda":
        return line
    if devices > 1:
        verdict = "fits" if fits(plan, gpu_bytes) else "does not fit"
        return f"{line}; {verdict} {gb(gpu_bytes)} GB GPUs"
    count = jobs_per_gpu_that_fit(plan, gpu_bytes)
    if not count:
        return f"{line}; does not fit a {gb(gpu_bytes)} GB GPU"
    return f"{line}; {count} job{'s' * (count > 1)} per {gb(gpu_bytes)} GB GPU"


def planning_gpu_bytes(gpu_memory_gb: float) -> tuple[float, str]:
    """The size of a GPU to plan for, and where it comes from: the smallest GPU of this
    machine, else `gpu_memory_gb` (a login node, a laptop). Asks nvidia-smi, not torch, so that
    the sweep's own process never starts CUDA before its workers fork."""
    sizes = _local_gpu_mib()
    if sizes:
        return min(sizes) * 2**20, "this machine's GPUs"
    return gpu_memory_gb * GIB, f"gpu_memory_gb={gpu_memory_gb:g}"


def _local_gpu_mib() -> list[float]:
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        listing = subprocess.run(
            ["nvidia-smi", "--query-gpu=memory.total", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [float(line) for line in listing.split() if line.strip().replace(".", "").isdigit()]


def gb(size: float) -> str:
    """Bytes as GB (2^30) to a precision that reads well: 282, 40.5, 40, 0.51."""
    value = size / GIB
    if value >= 100:
        return f"{value:.0f}"
    text = f"{value:.1f}" if value >= 1 else f"{value:.2f}"
    return text.removesuffix(".0")
