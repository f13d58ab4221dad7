"""One run end to end: data, model, optional adapters, the training loop, result.json."""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path

import torch

from zo_sweep import records
from zo_sweep.data import load_splits
from zo_sweep.train.config import TrainConfig
from zo_sweep.train.environment import describe_environment, peak_memory_mb
from zo_sweep.train.loop import EncodedSplits, Run
from zo_sweep.train.model import add_lora, load_model, pick_device, pick_dtype
from zo_sweep.train.scoring import encode

# Settings that say what ran are top-level fields of result.json; every other one is a
# hyperparameter, so a new option lands in `hparams` without being listed anywhere.
DESCRIPTIVE = (
    "model",
    "model_name",
    "task",
    "task_name",
    "syn_task",
    "eval_task",
    "data_kind",
    "trainer",
    "mode",
    "output_dir",
    "device",
)


def hparams(config: TrainConfig) -> dict:
    return {name: value for name, value in asdict(config).items() if name not in DESCRIPTIVE}


def train(config: TrainConfig) -> dict:
    """Run one configuration end to end and return the result record it wrote."""
    started = time.perf_counter()
    out_dir = Path(config.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    # metrics.jsonl is appended to as the run goes: one left by an earlier run here is stale.
    (out_dir / records.METRICS_FILE).unlink(missing_ok=True)
    torch.manual_seed(config.seed)
    splits = load_splits(
        config.task,
        task_name=config.task_name or None,
        synthetic_dir=config.syn_task or None,
        eval_dir=config.eval_task or None,
        num_train=config.train,
        num_dev=config.dev,
        num_eval=config.eval,
        seed=config.seed,
    )
    device = pick_device(config.device)
    model, tokenizer = load_model(config.model, config.dtype, device, lora=config.lora)
    if config.lora:
        model = add_lora(
            model,
            rank=config.rank,
            alpha=config.alpha,
            dropout=config.lora_dropout,
            targets=config.targets,
        )
    data = EncodedSplits(
        *(
            encode(tokenizer, split, config.max_length)
            for split in (splits.train, splits.dev, splits.test)
        )
    )
    loaded = time.perf_counter()
    outcome = Run(model, tokenizer, splits.task, data, config, out_dir).run()
    run_seconds = time.perf_counter() - loaded
    result = {
        **outcome.as_dict(),
        "trainer": config.trainer,
        "mode": config.mode,
        "method": config.method,
        "model": config.model_name or config.model,
        "model_path": config.model,
        "task": splits.task.name,
        "task_dir": config.task,
        "test_dir": config.eval_task or config.task,
        "data_kind": config.data_kind,
        "hparams": hparams(config),
        "sizes": {"train": len(data.train), "dev": len(data.dev), "test": len(data.test)},
        "wall_seconds": round(time.perf_counter() - started, 3),
        # Where the wall time went: data and model loading, then training and evaluation.
        "load_seconds": round(loaded - started, 3),
        "run_seconds": round(run_seconds, 3),
        "peak_memory_mb": round(peak_memory_mb(device), 1),
        "environment": describe_environment(device, pick_dtype(config.dtype, device)),
    }
    records.write_json_atomic(out_dir / records.RESULT_FILE, result)
    return result
