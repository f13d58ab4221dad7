"""MeZO steps on a model, on one rank or as each rank of a torchrun launch, for the tests of
sharded MeZO (tests/test_train_mezo_ranks.py): `python -m zo_sweep.train.launch
--nproc-per-node 2 --module helpers.sharded_mezo MODEL_DIR OUT.pt`.

For each case of CASES it loads the model as the trainer does (sharded over the ranks by
FSDP2 when launched by torchrun), takes STEPS steps of the trainer's MeZO stepper on the
trainer's batches, then replays the steps' trajectory onto a second copy of the model. Rank 0
saves, per case, the losses, the steps' trajectory, and the full trainable weights after the
steps and after the replay (gathered from the ranks' shards).
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch.distributed.tensor import DTensor

from zo_sweep.data import load_splits
from zo_sweep.train.distributed import Ranks, start_ranks, stop_ranks
from zo_sweep.train.loop import batches
from zo_sweep.train.model import load_run_model
from zo_sweep.train.scoring import encode
from zo_sweep.train.sharded_model import load_sharded_run_model
from zo_sweep.train.sources import load_settings
from zo_sweep.train.steppers import ZerothOrderStepper
from zo_sweep.train.trajectory import Trajectory, identity, replay
from zo_sweep.train.zo_weights import make_zo_optimizer

STEPS = 3
# The weights options, LoRA, and n-SPSA with weight decay; eps and lr large enough that the
# tiny model's weights move by many grid steps (and bf16 ones by many of their units).
CASES = {
    "inference_bf16": ["--dtype", "bfloat16", "--zo-weights", "inference"],
    "fp32_masters": ["--dtype", "float32"],
    "fp32_masters_bf16": ["--dtype", "bfloat16", "--zo-weights", "fp32_masters"],
    # LoRA of rank 3: its A matrices split unevenly (2 rows and 1).
    "lora": ["--dtype", "float32", "--mode", "lora", "--lr", "1e-2", "--rank", "3"],
    "n_spsa_wd": ["--dtype", "float32", "--n-perturb", "2", "--wd", "0.1"],
}


def settings_of(model_dir: str, out_dir: Path, case: list[str]):
    common = ["--model", model_dir, "--task", "sst2", "--trainer", "zo", "--mode", "ft",
              "--lr", "1e-3", "--eps", "1e-2", "--bs", "5", "--train", "20", "--dev", "4",
              "--eval", "4", "--device", "cpu", "--output-dir", str(out_dir)]  # fmt: skip
    return load_settings([*common, *case], environ={})


def load(settings, ranks: Ranks):
    device = torch.device("cpu")
    torch.manual_seed(settings.seed)  # LoRA's initial adapters, as the trainer seeds them
    if ranks.grouped:
        return load_sharded_run_model(settings, device, ranks)
    return load_run_model(settings, device)


def full_weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Every trainable weight whole (a sharded one gathered from the ranks), on the CPU."""
    return {
        name: (param.full_tensor() if isinstance(param, DTensor) else param).detach().clone()
        for name, param in model.named_parameters()
        if param.requires_grad
    }


def run_case(model_dir: str, out_dir: Path, case: list[str], ranks: Ranks) -> dict:
    settings = settings_of(model_dir, out_dir, case)
    splits = load_splits(settings.task_dir, task_name="sst2", num_train=settings.num_train,
                         num_dev=settings.num_dev, num_eval=settings.num_eval,
                         seed=settings.seed)  # fmt: skip
    model, tokenizer = load(settings, ranks)
    train = encode(tokenizer, splits.train, settings.max_length)
    objective = settings.train_objective or splits.task.train_objective
    stepper = ZerothOrderStepper(model, settings, objective, tokenizer.pad_token_id, ranks)
    stepper.trajectory = Trajectory(config=identity(settings))
    stream = batches(train, settings.bs, settings.seed)
    losses = [stepper.step(next(stream), step) for step in range(1, STEPS + 1)]
    trained = full_weights(model)
    again, _ = load(settings, ranks)
    replay(make_zo_optimizer(again, settings, ranks.sum), stepper.trajectory, 0, STEPS)
    steps = stepper.trajectory
    return {
        "losses": losses,
        "weights": trained,
        "replayed": full_weights(again),
        "trajectory": {"seeds": steps.seeds, "grads": steps.grads, "lrs": steps.lrs},
    }


def run_cases(model_dir: str, out_dir: Path, ranks: Ranks) -> dict[str, dict]:
    return {name: run_case(model_dir, out_dir, case, ranks) for name, case in CASES.items()}


def main(model_dir: str, out_file: str) -> None:
    ranks = start_ranks(torch.device("cpu"))
    try:
        results = run_cases(model_dir, Path(out_file).parent, ranks)
        if ranks.main:
            torch.save(results, out_file)
    finally:
        stop_ranks(ranks)


if __name__ == "__main__":
    main(*sys.argv[1:])
