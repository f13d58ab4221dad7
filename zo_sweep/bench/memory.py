"""Peak memory of a step, each kind in a fresh process so that no peak leaks into another.

On a GPU: the most memory torch allocated. On the CPU: the memory the process owns, its peak
resident set less the pages mapped from files (shared libraries, the safetensors file a model
was read from), which the process does not own and which the system can drop at any time. So
that the weights count whatever way they were loaded, each probe copies them into memory of
its own first: an fp32 model that is only mapped would otherwise read smaller than a bf16 one
converted on load.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import torch

from zo_sweep.bench.reference import ReferenceMeZO
from zo_sweep.bench.workload import BenchConfig, load, load_inference, loss_closure, task_batch
from zo_sweep.train.environment import peak_memory_mb, reset_peak_memory
from zo_sweep.train.model import pick_device, trainable_parameters
from zo_sweep.train.steppers import make_stepper

PROBES = ("inference", "zo", "zo_fp32_masters", "reference", "fo_full", "fo_lora")
# Each probe's model, as the trainer loads it for that kind of run (`load`'s settings).
RUNS = {
    "zo": {},
    "zo_fp32_masters": {"zo_weights": "fp32_masters"},
    "fo_full": {"trainer": "regular"},
    "fo_lora": {"trainer": "regular", "mode": "lora"},
}


class ProbeFailed(RuntimeError):
    pass


def probes(config: BenchConfig) -> tuple[str, ...]:
    """With an fp32 forward both weight options hold fp32 weights: one MeZO probe."""
    return PROBES if config.half else tuple(p for p in PROBES if p != "zo_fp32_masters")


def own_weights(model: torch.nn.Module) -> None:
    """Copy every parameter and buffer into memory of the process's own (see the module)."""
    with torch.no_grad():
        for tensor in [*model.parameters(), *model.buffers()]:
            tensor.data = tensor.data.clone()


def probe_step(probe: str, path: str, config: BenchConfig):
    """The step a probe measures, on the trainer's model and an SST-2 batch; and its model."""
    if probe in ("inference", "reference"):
        model, tokenizer = load_inference(path, config)
    else:
        model, tokenizer = load(path, config, **RUNS[probe])
    own_weights(model)
    pad_id = tokenizer.pad_token_id
    batch = task_batch(tokenizer, "sst2", config.batch_size, config.seed)
    if probe == "inference":
        return loss_closure(model, batch, pad_id), model
    if probe == "reference":
        reference = ReferenceMeZO(trainable_parameters(model), lr=config.lr, eps=config.eps)
        return lambda: reference.step(loss_closure(model, batch, pad_id), config.seed), model
    settings = config.train_config(**RUNS[probe])
    stepper = make_stepper(model, settings, batch.objective, pad_id)
    return lambda: stepper.step(batch.items, 1), model


def owned_peak_mib(device: torch.device) -> float:
    """Since the last reset: the most memory torch allocated (GPU), or the peak resident set
    less what is mapped from files now (CPU; see the module)."""
    peak = peak_memory_mb(device)
    status = Path("/proc/self/status")
    if device.type == "cuda" or not status.exists():
        return peak
    fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
    mapped = sum(int(fields[name].split()[0]) for name in ("RssFile", "RssShmem") if name in fields)
    return peak - mapped / 1024


def run_probe(probe: str, path: str, config: BenchConfig) -> dict[str, float]:
    """In this (fresh) process: one warm-up step, then the peak of two more, in MiB; and the
    bytes the model holds per trainable parameter."""
    step, model = probe_step(probe, path, config)
    step()
    device = pick_device(config.device)
    reset_peak_memory(device)
    for _ in range(2):
        step()
    trainable = trainable_parameters(model)
    held = sum(p.numel() * p.element_size() for p in trainable) / sum(p.numel() for p in trainable)
    return {"peak_mib": owned_peak_mib(device), "weight_bytes_per_param": held}


def measure_peaks(
    path: str, config: BenchConfig, log, only: tuple[str, ...] | None = None
) -> dict[str, dict[str, float]]:
    """Each probe's figures, measured in a fresh process: all of them, or `only` these."""
    peaks = {}
    for probe in only or probes(config):
        log(f"peak memory of {probe} (fresh process)")
        settings = json.dumps(dataclasses.asdict(config))
        command = [sys.executable, "-m", "zo_sweep.bench", "--probe", probe, path, settings]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise ProbeFailed(f"memory probe {probe} failed: {last}")
        peaks[probe] = json.loads(done.stdout.strip().splitlines()[-1])
    return peaks


def memory_ratios(peaks: dict[str, dict[str, float]]) -> dict[str, float]:
    mib = {probe: figures["peak_mib"] for probe, figures in peaks.items()}
    ratios = {
        "zo_mem_over_inference": mib["zo"] / mib["inference"],
        "zo_weight_bytes_per_param": peaks["zo"]["weight_bytes_per_param"],
        "reference_mem_over_zo": mib["reference"] / mib["zo"],
        "fo_full_mem_over_zo": mib["fo_full"] / mib["zo"],
        "fo_lora_mem_over_zo": mib["fo_lora"] / mib["zo"],
    }
    if "zo_fp32_masters" in mib:
        ratios["fp32_masters_mem_over_inference"] = mib["zo_fp32_masters"] / mib["inference"]
    return ratios
