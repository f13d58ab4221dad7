"""Peak memory of a step, each kind in a fresh process so that no peak leaks into another."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

from zo_sweep.bench.reference import ReferenceMeZO
from zo_sweep.bench.workload import BenchConfig, load, loss_closure, task_batch
from zo_sweep.train.environment import peak_memory_mb, reset_peak_memory
from zo_sweep.train.model import pick_device, trainable_parameters
from zo_sweep.train.steppers import make_stepper

PROBES = ("inference", "zo", "reference", "fo_full", "fo_lora")


class ProbeFailed(RuntimeError):
    pass


def probe_step(probe: str, path: str, config: BenchConfig):
    """The step a probe measures, on the trainer's model and an SST-2 batch."""
    model, tokenizer = load(path, config, lora=probe == "fo_lora")
    pad_id = tokenizer.pad_token_id
    batch = task_batch(tokenizer, "sst2", config.batch_size, config.seed)
    if probe == "inference":
        return loss_closure(model, batch, pad_id)
    if probe == "reference":
        reference = ReferenceMeZO(trainable_parameters(model), lr=config.lr, eps=config.eps)
        return lambda: reference.step(loss_closure(model, batch, pad_id), config.seed)
    trainer = "zo" if probe == "zo" else "regular"
    settings = config.train_config(trainer=trainer, mode="lora" if probe == "fo_lora" else "ft")
    stepper = make_stepper(model, settings, batch.objective, pad_id)
    return lambda: stepper.step(batch.items, 1)


def run_probe(probe: str, path: str, config: BenchConfig) -> float:
    """In this (fresh) process: one warm-up step, then the peak of two more, in MiB."""
    step = probe_step(probe, path, config)
    step()
    device = pick_device(config.device)
    reset_peak_memory(device)
    for _ in range(2):
        step()
    return peak_memory_mb(device)


def measure_peaks(
    path: str, config: BenchConfig, log, probes: tuple[str, ...] = PROBES
) -> dict[str, float]:
    peaks = {}
    for probe in probes:
        log(f"peak memory of {probe} (fresh process)")
        settings = json.dumps(dataclasses.asdict(config))
        command = [sys.executable, "-m", "zo_sweep.bench", "--probe", probe, path, settings]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise ProbeFailed(f"memory probe {probe} failed: {last}")
        peaks[probe] = json.loads(done.stdout.strip().splitlines()[-1])["peak_mib"]
    return peaks


def memory_ratios(peaks: dict[str, float]) -> dict[str, float]:
    return {
        "zo_mem_over_inference": peaks["zo"] / peaks["inference"],
        "reference_mem_over_zo": peaks["reference"] / peaks["zo"],
        "fo_full_mem_over_zo": peaks["fo_full"] / peaks["zo"],
        "fo_lora_mem_over_zo": peaks["fo_lora"] / peaks["zo"],
    }
