"""A MeZO step timed through the trainer's own stepper and loss, against its floors, against the
other weight option and against MeZO's reference step, on real task batches.

With a bf16 or fp16 forward the two options of `zo_weights` hold different models: the default
(`zo`, weights in the forward's dtype, as inference holds them) and `zo_fp32_masters` (fp32
weights under autocast); each is timed on its own model and its floor counts its own draws. The
reference step runs on the default's model, as MeZO's code would on a model loaded in that
dtype. With an fp32 forward there is one option, `zo`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import torch

from zo_sweep.bench.reference import ReferenceMeZO
from zo_sweep.bench.timing import Spread, time_rounds
from zo_sweep.bench.workload import BenchConfig, TaskBatch, load, loss_closure
from zo_sweep.train.model import trainable_parameters
from zo_sweep.train.steppers import ZerothOrderStepper

MASTERS = "zo_fp32_masters"


def parameter_pass(params: list[torch.Tensor]) -> Callable[[], None]:
    """One read and one write of every trainable parameter (x 1.0 leaves every bit in place)."""

    @torch.no_grad()
    def run() -> None:
        torch._foreach_mul_(params, 1.0)

    return run


@dataclass
class Design:
    """One option of MeZO's weights: the model it holds and the name its calls go by."""

    name: str
    model: torch.nn.Module


def designs(path: str, model, config: BenchConfig) -> list[Design]:
    """The default on the benchmark's model; with a half-precision forward, fp32 masters too."""
    found = [Design("zo", model)]
    if config.half:
        masters, _ = load(path, config, zo_weights="fp32_masters")
        found.append(Design(MASTERS, masters))
    return found


def step_calls(designs: list[Design], pad_id: int, batches: list[TaskBatch], config: BenchConfig):
    """Name -> call: per design its parameter pass and the draws of a step; per task and design
    its forward and its step; per task the reference step."""
    seeds = itertools.count(config.seed)
    calls: dict[str, Callable[[], object]] = {}
    reference = ReferenceMeZO(trainable_parameters(designs[0].model), lr=config.lr, eps=config.eps)
    for batch in batches:
        for design in designs:
            # The stepper's optimizer follows the weights it is given (make_zo_optimizer).
            stepper = ZerothOrderStepper(
                design.model, config.train_config(), batch.objective, pad_id
            )
            optimizer = stepper.optimizer
            calls[f"{design.name}/param_pass"] = parameter_pass(trainable_parameters(design.model))
            calls[f"{design.name}/step_draws"] = lambda o=optimizer: o.draw_step_noise(next(seeds))
            calls[f"{batch.task}/{design.name}/forward"] = loss_closure(design.model, batch, pad_id)
            calls[f"{batch.task}/{design.name}/step"] = lambda s=stepper, b=batch: s.step(
                b.items, next(seeds)
            )
        loss = loss_closure(designs[0].model, batch, pad_id)
        calls[f"{batch.task}/reference_step"] = lambda lo=loss: reference.step(lo, next(seeds))
    return calls


def step_ratios(seconds: dict[str, list[float]], task: str, names: list[str]) -> dict[str, Spread]:
    """Per round, then median and spread over the rounds (the rounds share their load)."""

    def per_round(function, *keys: str) -> Spread:
        return Spread.of(
            [function(*values) for values in zip(*(seconds[k] for k in keys), strict=True)]
        )

    zo = f"{task}/zo/step"
    ratios = {
        "zo_over_two_forwards": per_round(lambda z, f: z / (2 * f), zo, f"{task}/zo/forward"),
        "zo_over_floor": per_round(
            lambda z, f, d, p: z / (2 * f + d + 3 * p),
            zo, f"{task}/zo/forward", "zo/step_draws", "zo/param_pass",
        ),
        "reference_over_zo": per_round(lambda r, z: r / z, f"{task}/reference_step", zo),
    }  # fmt: skip
    if MASTERS in names:
        ratios["zo_over_fp32_masters"] = per_round(lambda z, m: z / m, zo, f"{task}/{MASTERS}/step")
        ratios["fp32_masters_over_floor"] = per_round(
            lambda m, f, d, p: m / (2 * f + d + 3 * p),
            f"{task}/{MASTERS}/step", f"{task}/{MASTERS}/forward",
            f"{MASTERS}/step_draws", f"{MASTERS}/param_pass",
        )  # fmt: skip
    return ratios


def measure_steps(designs: list[Design], pad_id: int, batches: list[TaskBatch], config, device):
    seconds = time_rounds(step_calls(designs, pad_id, batches, config), config.rounds, device)
    times = {name: Spread.of(values) for name, values in seconds.items()}
    names = [design.name for design in designs]
    ratios = {batch.task: step_ratios(seconds, batch.task, names) for batch in batches}
    return times, ratios
