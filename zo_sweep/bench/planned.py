"""The memory plan of each memory probe's step, to set beside the peak the probe measured.

The plan (zo_sweep.train.memory_plan) is what a sweep refuses jobs by before they start; here
it is checked against the real thing. The probes measure a GPU's tensors (max_memory_allocated,
no CUDA context) or the CPU's peak resident set (the whole process), so the plan is compared
with its runtime part on the CPU only.
"""

from __future__ import annotations

import dataclasses

from zo_sweep.bench.workload import BenchConfig, task_batch
from zo_sweep.train.architecture import model_architecture
from zo_sweep.train.gpu_fit import job_shape
from zo_sweep.train.memory_plan import plan_memory
from zo_sweep.train.model import pick_device

# The probes that run a trainer's step, with the settings that make each method.
PLANNED_PROBES = {
    "zo": {"trainer": "zo", "mode": "ft"},
    "fo_full": {"trainer": "regular", "mode": "ft"},
    "fo_lora": {"trainer": "regular", "mode": "lora"},
}


def planned_peaks(path: str, config: BenchConfig, tokenizer) -> dict[str, float]:
    """MiB the plan gives each probe's step on the probes' own SST-2 batch."""
    architecture = model_architecture(path)
    if architecture is None:
        return {}
    device = pick_device(config.device)
    items = task_batch(tokenizer, "sst2", config.batch_size, config.seed).items
    single = all(len(candidate) == 1 for item in items for candidate in item.candidates)
    longest = max(len(i.prompt) + (0 if single else max(map(len, i.candidates))) for i in items)
    planned = {}
    for probe, method in PLANNED_PROBES.items():
        settings = config.train_config(
            **method, dtype=config.dtype, device=device.type, max_length=longest
        )
        shape = job_shape(
            settings,
            candidates=1 if single else max(len(item.candidates) for item in items),
            candidate_tokens=1 if single else max(len(c) for i in items for c in i.candidates),
        )
        # The probes evaluate nothing: the training step is the whole plan.
        plan = plan_memory(architecture, dataclasses.replace(shape, eval_batch=1))
        counted = plan.per_device - (plan.runtime if device.type == "cuda" else 0.0)
        planned[probe] = counted / 2**20
    return planned


def plan_ratios(peaks: dict[str, float], planned: dict[str, float]) -> dict[str, float]:
    return {f"{probe}_plan_over_peak": planned[probe] / peaks[probe] for probe in planned}
