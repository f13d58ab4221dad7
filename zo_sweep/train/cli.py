"""`python -m zo_sweep.train`: one run, configured by flags or the old env vars.

Writes metrics.jsonl and result.json into OUTPUT_DIR and ends with MeZO's two closing log
lines. A bad setting, model or data file ends the run with one line on stderr and exit code 2.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import torch

from zo_sweep import records
from zo_sweep.data import DataError, load_splits
from zo_sweep.embedded import EmbeddedModelError
from zo_sweep.train.config import ConfigError, TrainConfig, parse_args
from zo_sweep.train.environment import describe_environment, peak_memory_mb
from zo_sweep.train.loop import EncodedSplits, Run
from zo_sweep.train.model import ModelNotFound, add_lora, load_model, pick_device
from zo_sweep.train.scoring import encode

USAGE_ERROR = 2
HPARAMS = (
    "lr",
    "bs",
    "steps",
    "seed",
    "eps",
    "rank",
    "alpha",
    "train",
    "dev",
    "eval",
    "eval_steps",
    "wd",
    "optim",
    "lr_scheduler",
    "n_perturb",
    "grad_accum",
    "score",
)


def train(config: TrainConfig) -> dict:
    """Run one configuration end to end and return the result record it wrote."""
    started = time.perf_counter()
    out_dir = Path(config.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(config.seed)
    splits = load_splits(
        config.task,
        task_name=config.task_name or None,
        synthetic_dir=config.syn_task or None,
        num_train=config.train,
        num_dev=config.dev,
        num_eval=config.eval,
        seed=config.seed,
    )
    device = pick_device(config.device)
    model, tokenizer = load_model(config.model, config.dtype, device)
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
    outcome = Run(model, tokenizer, splits.task, data, config, out_dir).run()
    result = {
        **outcome.as_dict(),
        "trainer": config.trainer,
        "mode": config.mode,
        "method": config.method,
        "model": config.model_name or config.model,
        "task": splits.task.name,
        "data_kind": config.data_kind,
        "hparams": {name: getattr(config, name) for name in HPARAMS},
        "sizes": {"train": len(data.train), "dev": len(data.dev), "test": len(data.test)},
        "wall_seconds": round(time.perf_counter() - started, 3),
        "peak_memory_mb": round(peak_memory_mb(device), 1),
        "environment": describe_environment(device),
    }
    records.write_json_atomic(out_dir / records.RESULT_FILE, result)
    return result


def closing_metrics(result: dict) -> dict:
    """The dict MeZO's run.py logs last: test metrics at the best dev step, dev as dev_*."""
    metrics = dict(result.get("test_metrics") or {})
    metrics.update({f"dev_{k}": v for k, v in (result.get("dev_metrics") or {}).items()})
    return metrics


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        config = parse_args(argv)
        result = train(config)
    except (ConfigError, DataError, ModelNotFound, EmbeddedModelError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    records.print_mezo_summary(config.seed, closing_metrics(result))
    return 0
