"""Does MeZO keep its updates and restore its weights in half precision? Measured with the
trainer's bf16 set-up (fp32 master weights, bf16 forward) and its optimizer."""

from __future__ import annotations

import torch

from zo_sweep.bench.workload import BenchConfig, load, loss_closure, task_batch
from zo_sweep.train.mezo import ZerothOrderSGD
from zo_sweep.train.model import trainable_parameters


def flat(params: list[torch.Tensor]) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in params])


def projection(actual: torch.Tensor, intended: torch.Tensor) -> float:
    """<actual, intended> / |intended|^2: the share of the intended change that happened."""
    return float(torch.dot(actual.double(), intended.double()) / intended.double().square().sum())


def measure_precision(path: str, config: BenchConfig) -> dict[str, float]:
    model, tokenizer = load(path, config, dtype="bfloat16")
    params = trainable_parameters(model)
    loss = loss_closure(
        model, task_batch(tokenizer, "sst2", config.batch_size, config.seed), tokenizer.pad_token_id
    )
    optimizer = ZerothOrderSGD(params, lr=config.lr, eps=config.eps)
    before = flat(params).clone()
    step = optimizer.step(loss, seed=config.seed)
    intended = torch.zeros_like(before)
    for update in step.updates:
        noise = torch.cat([z.reshape(-1) for z in optimizer.noise_like_parameters(update.seed)])
        intended.add_(noise, alpha=update.coefficient)
        del noise
    kept = projection(flat(params) - before, intended)
    # For the record: the same update written into bf16 weights, as a bf16 model stores it.
    stored = before.bfloat16()
    in_bf16 = (stored + intended.bfloat16()).float() - stored.float()
    kept_in_bf16 = projection(in_bf16, intended)
    del stored, in_bf16, intended
    # The restore is what lr = 0 leaves: perturbation passes only, so any loss will do.
    optimizer.lr = 0.0
    start = flat(params).clone()
    for seed in range(config.restore_steps):
        optimizer.step(lambda: 0.0, seed=seed)
    drift = float((flat(params) - start).norm() / start.norm())
    return {
        "mezo_update_kept": kept,
        "restore_drift": drift,
        "bf16_weights_update_kept": kept_in_bf16,
        "restore_steps": config.restore_steps,
        "projected_grad": step.projected_grad,
    }
