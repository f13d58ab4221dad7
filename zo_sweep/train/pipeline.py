"""One run end to end: data, model, optional adapters, the training loop, result.json."""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path

import torch

from zo_sweep import records
from zo_sweep.data import data_identity, load_splits
from zo_sweep.data.tasks import TaskSpec, task_spec_from_mapping
from zo_sweep.train.distributed import Ranks, rank_device, start_ranks, stop_ranks
from zo_sweep.train.environment import describe_environment, peak_memory_mb
from zo_sweep.train.loop import EncodedSplits, Run
from zo_sweep.train.model import load_run_model, pick_device, pick_dtype
from zo_sweep.train.scoring import encode
from zo_sweep.train.settings import (
    LOGGING,
    SETTINGS_FILE,
    TRAINING,
    TrainSettings,
    names_with_role,
)
from zo_sweep.train.sharded_model import load_sharded_run_model
from zo_sweep.train.tracker_stores import OUTPUT_DIR_TAG
from zo_sweep.train.trackers import Tracker, open_tracker
from zo_sweep.train.zo_weights import held_as


def hparams(config: TrainSettings) -> dict:
    """The training settings (the schema's role): what result.json records as hyperparameters;
    what the run trained on stands at the top of the record."""
    training = names_with_role(TRAINING)
    return {name: value for name, value in asdict(config).items() if name in training}


def open_run_tracker(config: TrainSettings, out_dir: Path) -> Tracker | None:
    """The run in the experiment tracker TRACKER names, with every setting as a parameter."""
    logging = names_with_role(LOGGING)
    settings = {
        k: v for k, v in asdict(config).items() if k not in logging and not isinstance(v, dict)
    }
    return open_tracker(
        config.tracker,
        config.tracker_dir,
        config.tracker_group or config.method,
        config.tracker_run_name or out_dir.name,
        params=settings,
        tags={OUTPUT_DIR_TAG: str(out_dir.resolve())},
    )


def composed_task(config: TrainSettings) -> TaskSpec | None:
    """The task as the sweep composed it (train.yaml's `task`), or None to read conf/task/."""
    if config.task is None:
        return None
    return task_spec_from_mapping(config.task, f"{SETTINGS_FILE} task")


def train(config: TrainSettings) -> dict | None:
    """Run one configuration end to end and return the result record it wrote (rank 0; the
    other ranks of a run started by torchrun write nothing and return None)."""
    out_dir = Path(config.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    device = pick_device(config.device)
    ranks = start_ranks(device)
    try:
        tracker = open_run_tracker(config, out_dir) if ranks.main else None
        status = records.FAILED
        try:
            result = _train(config, out_dir, tracker, rank_device(device, ranks), ranks)
            status = result["status"]
            if tracker is not None:
                tracker.log_summary(result)
            return result if ranks.main else None
        finally:
            if tracker is not None:
                tracker.close(status)
    finally:
        stop_ranks(ranks)


def _train(
    config: TrainSettings,
    out_dir: Path,
    tracker: Tracker | None,
    device: torch.device,
    ranks: Ranks,
) -> dict:
    started = time.perf_counter()
    torch.manual_seed(config.seed)
    splits = load_splits(
        config.task_dir,
        task_name=config.task_name or None,
        spec=composed_task(config),
        synthetic_dir=config.syn_task or None,
        eval_root=config.eval_root or None,
        eval_split=config.eval_split,
        num_train=config.num_train,
        num_dev=config.num_dev,
        num_eval=config.num_eval,
        seed=config.seed,
    )
    if ranks.grouped:  # N ranks: each holds its shards of the model
        model, tokenizer = load_sharded_run_model(config, device, ranks)
    else:
        model, tokenizer = load_run_model(config, device)
    data = EncodedSplits(
        *(
            encode(tokenizer, split, config.max_length)
            for split in (splits.train, splits.dev, splits.test)
        )
    )
    loaded = time.perf_counter()
    on_record = None if tracker is None else lambda line: tracker.log_metrics(line["step"], line)
    outcome = Run(model, tokenizer, splits.task, data, config, out_dir, on_record, ranks).run()
    run_seconds = time.perf_counter() - loaded
    result = {
        **outcome.as_dict(),
        "trainer": config.trainer,
        "mode": config.mode,
        "method": config.method,
        # How MeZO held the weights it trained (the setting resolved: fp32 forwards keep fp32).
        "zo_weights": held_as(model) if config.trainer == "zo" else None,
        "model": config.model_name or config.model,
        "model_path": config.model,
        "task": splits.task.name,
        "task_dir": config.task_dir,
        "test_dir": str(splits.sources.eval.parent),
        "test_file": str(splits.sources.eval),
        "eval_split": splits.eval_split,
        "data_id": data_identity(
            splits.sources.task_dir.parent,
            config.data_tag or None,
            Path(config.syn_task).parent if config.syn_task else None,
        ),
        "data_kind": config.data_kind,
        "data_tag": config.data_tag,
        "hparams": hparams(config),
        "sizes": {"train": len(data.train), "dev": len(data.dev), "test": len(data.test)},
        "wall_seconds": round(time.perf_counter() - started, 3),
        # Where the wall time went: data and model loading, then training and evaluation.
        "load_seconds": round(loaded - started, 3),
        "run_seconds": round(run_seconds, 3),
        "world_size": ranks.world,  # ranks the run was sharded over (torchrun's processes)
        "peak_memory_mb": round(ranks.max(peak_memory_mb(device)), 1),  # of the fullest rank
        "environment": describe_environment(device, pick_dtype(config.dtype, device)),
    }
    if ranks.main:
        records.write_json_atomic(out_dir / records.RESULT_FILE, result)
    return result
