"""Does MeZO keep its updates and leave no drift in half precision? Measured on the trainer's
default for a bf16 forward (`zo_weights=inference`: bf16 weights, perturbed in the forward,
updates rounded stochastically) with its own optimizer.

- update kept: over `kept_steps` real steps on an SST-2 batch, each step's
  <actual change, intended change> / |intended change|^2, where the intended change is the
  step's update in exact arithmetic; its mean, with the spread of the steps. For the record,
  the same share for the same updates rounded to the nearest bf16 value, as a bf16 model
  updated in place keeps them.
- restore drift: the weights after `restore_steps` steps at lr 0, against before. The steps run
  real forwards (on a one-example batch: the forwards' perturbation is what could drift, and
  it does not depend on the batch's size).
"""

from __future__ import annotations

import statistics
import sys

import torch
from tqdm import tqdm

from zo_sweep.bench.timing import Spread
from zo_sweep.bench.workload import BenchConfig, load, loss_closure, task_batch
from zo_sweep.train.noise import noise_of
from zo_sweep.train.spsa import SPSA, Update
from zo_sweep.train.zo_weights import make_zo_optimizer


def measure_precision(path: str, config: BenchConfig) -> dict:
    settings = {"dtype": "bfloat16", "zo_weights": "inference"}
    model, tokenizer = load(path, config, **settings)
    pad_id = tokenizer.pad_token_id
    optimizer = make_zo_optimizer(model, config.train_config(**settings))
    loss = loss_closure(
        model, task_batch(tokenizer, "sst2", config.batch_size, config.seed), pad_id
    )
    kept, nearest, grads = [], [], []
    for step in tqdm(range(config.kept_steps), desc="update kept", file=sys.stderr, leave=False):
        before = [param.detach().clone() for param, _ in optimizer.keys]
        outcome = optimizer.step(loss, seed=config.seed * 1_000_003 + step)
        shares = kept_shares(optimizer, before, outcome.updates)
        kept.append(shares[0])
        nearest.append(shares[1])
        grads.append(abs(outcome.projected_grad))
        del before
    one_example = loss_closure(model, task_batch(tokenizer, "sst2", 1, config.seed), pad_id)
    optimizer.lr = 0.0
    start = [param.detach().clone() for param, _ in optimizer.keys]
    for seed in tqdm(range(config.restore_steps), desc="lr=0", file=sys.stderr, leave=False):
        optimizer.step(one_example, seed=seed)
    drift = distance(optimizer, start)
    return {
        "mezo_update_kept": statistics.mean(kept),
        "mezo_update_kept_steps": Spread.of(kept),
        "mezo_update_kept_std": statistics.stdev(kept) if len(kept) > 1 else 0.0,
        "bf16_weights_update_kept": statistics.mean(nearest),
        "restore_drift": drift,
        "restore_bits_changed": changed_values(optimizer, start),
        "kept_steps": config.kept_steps,
        "restore_steps": config.restore_steps,
        "abs_projected_grad": Spread.of(grads),
    }


def kept_shares(
    optimizer: SPSA, before: list[torch.Tensor], updates: tuple[Update, ...]
) -> tuple[float, float]:
    """The step's <actual, intended> / |intended|^2, and the same for the intended change
    rounded to the nearest bf16 value; parameter by parameter, in float64."""
    dot = nearest_dot = norm = 0.0
    shrink = sum(update.shrink for update in updates)
    for (param, key), old in zip(optimizer.keys, before, strict=True):
        start = old.double()
        intended = -shrink * start
        for update in updates:
            noise = noise_of(param, key, update.seed, optimizer.block_size)
            intended += update.coefficient * noise.double()
        actual = param.detach().double() - start
        to_nearest = (start + intended).to(param.dtype).double() - start
        dot += float((actual * intended).sum())
        nearest_dot += float((to_nearest * intended).sum())
        norm += float(intended.square().sum())
    return dot / norm, nearest_dot / norm


def distance(optimizer: SPSA, start: list[torch.Tensor]) -> float:
    """|weights - start| / |start| over every trainable weight."""
    change = total = 0.0
    for (param, _), old in zip(optimizer.keys, start, strict=True):
        change += float((param.detach().double() - old.double()).square().sum())
        total += float(old.double().square().sum())
    return (change / total) ** 0.5


def changed_values(optimizer: SPSA, start: list[torch.Tensor]) -> int:
    return sum(
        int((param.detach() != old).sum())
        for (param, _), old in zip(optimizer.keys, start, strict=True)
    )
