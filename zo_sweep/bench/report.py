"""The figures the project holds itself to, their goals, and the printed report."""

from __future__ import annotations

from dataclasses import asdict

from tabulate import tabulate

from zo_sweep.bench.timing import Spread

# key: (what it is, comparison, goal); a goal of None is for the record.
FIGURES: dict[str, tuple[str, str, float | None]] = {
    "mezo_update_kept": ("mean share of a step's update kept (bf16 weights, default)", ">=", 0.99),
    "bf16_weights_update_kept": ("the same updates rounded to the nearest bf16", "", None),
    "restore_drift": ("relative weight drift after the lr=0 steps (bf16 weights)", "<=", 0.0),
    "zo_over_two_forwards": ("MeZO step / 2 forwards (worst task)", "<=", 1.3),
    "zo_over_floor": ("MeZO step / (2 forwards + its draws + 3 param passes)", "<=", 1.10),
    "zo_over_fp32_masters": ("MeZO step / fp32-master step (worst task)", "", None),
    "reference_over_zo": ("reference MeZO step / MeZO step (worst task)", ">=", 1.5),
    "eval_speedup_single": ("batched eval / one forward per candidate, SST-2", ">=", 5.0),
    "eval_speedup_multi": ("the same, multi-token candidates (worst of Copa, ARC)", ">=", 5.0),
    "zo_mem_over_inference": ("MeZO peak memory / inference peak memory", "<=", 1.05),
    "zo_weight_bytes_per_param": ("bytes MeZO holds per trainable parameter", "<=", 2.0),
    "fp32_masters_mem_over_inference": ("fp32-master MeZO peak / inference peak", "", None),
    "reference_mem_over_zo": ("reference MeZO peak memory / MeZO peak memory", "", None),
    "fo_full_mem_over_zo": ("first-order full peak memory / MeZO peak memory", "", None),
    "fo_lora_mem_over_zo": ("first-order LoRA peak memory / MeZO peak memory", "", None),
    "zo_plan_over_peak": ("MeZO's memory plan / its measured peak", "~", 0.2),
    "fo_full_plan_over_peak": ("first-order full's memory plan / its measured peak", "~", 0.2),
    "fo_lora_plan_over_peak": ("first-order LoRA's memory plan / its measured peak", "~", 0.2),
}
# Goals of a half-precision forward only: an fp32 forward holds fp32 weights whatever it does.
HALF_ONLY = ("zo_weight_bytes_per_param",)
WORST_OF_TASKS = (
    "zo_over_two_forwards",
    "zo_over_floor",
    "reference_over_zo",
    "zo_over_fp32_masters",
)


def headline(ratios: dict[str, dict[str, Spread]]) -> dict[str, float]:
    """The worst task's median for each step ratio the run has."""
    out = {}
    for key in WORST_OF_TASKS:
        medians = [per_task[key].median for per_task in ratios.values() if key in per_task]
        if medians:
            out[key] = min(medians) if FIGURES[key][1] == ">=" else max(medians)
    return out


def verdict(key: str, value: float, half: bool = True) -> tuple[str, str]:
    _, comparison, goal = FIGURES[key]
    if goal is None or (key in HALF_ONLY and not half):
        return "for the record", ""
    if comparison == "~":  # a ratio within `goal` of 1
        return f"1 ± {goal:g}", "met" if abs(value - 1) <= goal else "NOT MET"
    met = value >= goal if comparison == ">=" else value <= goal
    return f"{comparison} {goal:g}", "met" if met else "NOT MET"


def _spread(spread: Spread, scale: float = 1.0, digits: str = ".3g") -> str:
    return (
        f"{spread.median * scale:{digits}} ({spread.low * scale:{digits}}"
        f"-{spread.high * scale:{digits}})"
    )


def render(result: dict) -> str:
    env = result["environment"]
    lines = [
        f"{result['model']}: {result['trainable_params'] / 1e6:.1f}M trainable parameters, "
        f"batch {result['batch_size']} (evaluation {result.get('eval_batch_size', '-')}), "
        f"{result['rounds']} rounds; {env['device']}, "
        f"{env['threads']} threads, torch {env['torch']}, forward in {env['dtype']}",
        "",
    ]
    times = result.get("times", {})
    if times:
        rows = [[name, _spread(Spread(**value), 1e3)] for name, value in times.items()]
        lines += [tabulate(rows, headers=["time per call", "ms: median (low-high)"]), ""]
    per_task = result.get("step_ratios", {})
    if per_task:
        rows = [
            [task, key, _spread(Spread(**value), digits=".3f")]
            for task, values in per_task.items()
            for key, value in values.items()
        ]
        lines += [tabulate(rows, headers=["task", "step ratio", "median (low-high)"]), ""]
    if result.get("eval_speedups"):
        rows = [[t, _spread(Spread(**v), digits=".2f")] for t, v in result["eval_speedups"].items()]
        lines += [tabulate(rows, headers=["evaluation speed-up", "median (low-high)"]), ""]
    if "mezo_update_kept_steps" in result:
        kept, grads = Spread(**result["mezo_update_kept_steps"]), result["abs_projected_grad"]
        rows = [
            [f"update kept, per step ({result['kept_steps']} steps)",
             _spread(kept, digits=".4f") + f", std {result['mezo_update_kept_std']:.4f}"],
            ["|projected gradient|, per step", _spread(Spread(**grads), digits=".3g")],
            [f"weights changed by {result['restore_steps']} lr=0 steps",
             f"{result['restore_bits_changed']} values"],
        ]  # fmt: skip
        lines += [tabulate(rows, headers=["bf16 weights (default)", "median (low-high)"]), ""]
    if result.get("peak_memory_mib"):
        kind = "max_memory_allocated" if env["device_type"] == "cuda" else "owned: peak RSS - files"
        planned = result.get("planned_memory_mib", {})
        rows = [
            [name, f"{mib:.0f}", f"{planned[name]:.0f}" if name in planned else ""]
            for name, mib in result["peak_memory_mib"].items()
        ]
        headers = ["peak memory, fresh process", f"MiB ({kind})", "planned MiB"]
        lines += [tabulate(rows, headers=headers), ""]
    if result.get("startup_seconds"):
        rows = [[phase, f"{s:.2f}"] for phase, s in result["startup_seconds"].items()]
        lines += [tabulate(rows, headers=["one-step job", "seconds"]), ""]
    rows = []
    half = env["dtype"] != "float32"
    for key in FIGURES:
        if key in result:
            goal, met = verdict(key, result[key], half)
            rows.append([key, FIGURES[key][0], f"{result[key]:.4g}", goal, met])
    lines.append(tabulate(rows, headers=["figure", "what", "value", "goal", ""]))
    return "\n".join(lines)


def as_json(value):
    """Spreads and nested dicts of them, as plain JSON."""
    if isinstance(value, Spread):
        return asdict(value)
    if isinstance(value, dict):
        return {key: as_json(item) for key, item in value.items()}
    return value
