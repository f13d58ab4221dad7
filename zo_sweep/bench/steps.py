"""A MeZO step timed through the trainer's own stepper and loss, against its floors and
against MeZO's reference step, on real task batches."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import torch

from zo_sweep.bench.reference import ReferenceMeZO
from zo_sweep.bench.timing import Spread, time_rounds
from zo_sweep.bench.workload import BenchConfig, TaskBatch, loss_closure
from zo_sweep.train.model import trainable_parameters
from zo_sweep.train.steppers import ZerothOrderStepper


def parameter_pass(params: list[torch.Tensor]) -> Callable[[], None]:
    """One read and one write of every trainable parameter (x 1.0 leaves every bit in place)."""

    @torch.no_grad()
    def run() -> None:
        torch._foreach_mul_(params, 1.0)

    return run


def step_calls(model, pad_id: int, batches: list[TaskBatch], config: BenchConfig):
    """Name -> call: per task its forward, the trainer's step and the reference step; the
    parameter pass and the noise draw once (they do not depend on the batch)."""
    params = trainable_parameters(model)
    seeds = itertools.count(config.seed)
    calls: dict[str, Callable[[], object]] = {"param_pass": parameter_pass(params)}
    reference = ReferenceMeZO(params, lr=config.lr, eps=config.eps)
    for batch in batches:
        stepper = ZerothOrderStepper(model, config.train_config(), batch.objective, pad_id)
        loss = loss_closure(model, batch, pad_id)
        calls["noise_draw"] = lambda optimizer=stepper.optimizer: optimizer.draw_noise(next(seeds))
        calls[f"{batch.task}/forward"] = loss
        calls[f"{batch.task}/zo_step"] = lambda s=stepper, b=batch: s.step(b.items, next(seeds))
        calls[f"{batch.task}/reference_step"] = lambda lo=loss: reference.step(lo, next(seeds))
    return calls


def step_ratios(seconds: dict[str, list[float]], task: str) -> dict[str, Spread]:
    """Per round, then median and spread over the rounds (the rounds share their load)."""
    forward, zo = seconds[f"{task}/forward"], seconds[f"{task}/zo_step"]
    reference = seconds[f"{task}/reference_step"]
    floor = [
        2 * f + 3 * (p + n)
        for f, p, n in zip(forward, seconds["param_pass"], seconds["noise_draw"], strict=True)
    ]
    return {
        "zo_over_two_forwards": Spread.of([z / (2 * f) for z, f in zip(zo, forward, strict=True)]),
        "zo_over_floor": Spread.of([z / fl for z, fl in zip(zo, floor, strict=True)]),
        "reference_over_zo": Spread.of([r / z for r, z in zip(reference, zo, strict=True)]),
    }


def measure_steps(model, pad_id: int, batches: list[TaskBatch], config: BenchConfig, device):
    seconds = time_rounds(step_calls(model, pad_id, batches, config), config.rounds, device)
    times = {name: Spread.of(values) for name, values in seconds.items()}
    ratios = {batch.task: step_ratios(seconds, batch.task) for batch in batches}
    return times, ratios
