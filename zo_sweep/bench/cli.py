"""The command line: run the parts, print the report, write the JSON."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import torch

from zo_sweep.bench.evaluation import measure_eval
from zo_sweep.bench.memory import PROBES, ProbeFailed, measure_peaks, memory_ratios, run_probe
from zo_sweep.bench.planned import plan_ratios, planned_peaks
from zo_sweep.bench.precision import measure_precision
from zo_sweep.bench.report import as_json, headline, render
from zo_sweep.bench.startup import measure_startup
from zo_sweep.bench.steps import measure_steps
from zo_sweep.bench.workload import (
    EVAL_TASKS,
    STEP_TASKS,
    BenchConfig,
    load,
    model_path,
    task_batch,
)
from zo_sweep.closed_pipe import quiet_on_closed_pipe
from zo_sweep.errors import ConfigError
from zo_sweep.train.environment import device_name
from zo_sweep.train.errors import ModelNotFound
from zo_sweep.train.model import pick_device, pick_dtype, trainable_parameters

PARTS = ("precision", "steps", "eval", "memory", "startup")
TINY_SKIPS = ("memory", "startup")
TINY_ROUNDS, TINY_EVAL = (
    3,
    16,
)  # a smoke run: its timings say little at this size  # fresh processes: their imports alone take many seconds


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m zo_sweep.bench",
        description="The trainer's MeZO step, evaluation, memory and startup, against goals.",
    )
    parser.add_argument("--model", default=BenchConfig.model, help="smollm2_135m or a folder")
    parser.add_argument("--tiny", action="store_true", help="a tiny random Llama: seconds")
    parser.add_argument("--batch-size", type=int, default=BenchConfig.batch_size)
    parser.add_argument("--rounds", type=int, help=f"timed rounds (default {BenchConfig.rounds})")
    parser.add_argument("--device", default=BenchConfig.device, help="auto, cpu, cuda")
    parser.add_argument(
        "--dtype", choices=["auto", "float32", "bfloat16", "float16"], default="auto"
    )
    parser.add_argument("--lr", type=float, default=BenchConfig.lr)
    parser.add_argument("--eps", type=float, default=BenchConfig.eps)
    parser.add_argument(
        "--eval-examples", type=int, help=f"per task (default {BenchConfig.eval_examples})"
    )
    parser.add_argument(
        "--eval-batch-size", type=int, help="examples per evaluation batch (default: EVAL_BS's)"
    )
    parser.add_argument("--restore-steps", type=int, default=BenchConfig.restore_steps)
    parser.add_argument(
        "--skip",
        nargs="*",
        choices=PARTS,
        help="parts left out (default: none; with --tiny: memory and startup, which start "
        "fresh processes; a bare --skip runs every part)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--probe", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for name in ("batch_size", "rounds", "eval_examples", "eval_batch_size", "restore_steps"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.device not in ("auto", "cpu") and not args.device.startswith("cuda"):
        parser.error(f"--device {args.device}: use auto, cpu or cuda")
    return args


def config_from(args: argparse.Namespace) -> BenchConfig:
    return BenchConfig(
        model=args.model,
        tiny=args.tiny,
        batch_size=args.batch_size,
        rounds=args.rounds or (TINY_ROUNDS if args.tiny else BenchConfig.rounds),
        device=args.device,
        dtype=args.dtype,
        lr=args.lr,
        eps=args.eps,
        eval_examples=args.eval_examples or (TINY_EVAL if args.tiny else BenchConfig.eval_examples),
        eval_batch_size=args.eval_batch_size,
        restore_steps=args.restore_steps,
        skip=tuple(args.skip if args.skip is not None else TINY_SKIPS if args.tiny else ()),
    )


def run(config: BenchConfig, scratch: Path) -> dict:
    if config.tiny:
        # A model this small gains nothing from threads, and on a loaded machine waiting
        # threads cost more than its whole forward.
        torch.set_num_threads(1)
    path = model_path(config, scratch)
    device = pick_device(config.device)
    result: dict = {"model": "tiny random Llama" if config.tiny else config.model}
    result.update(
        batch_size=config.batch_size, eval_batch_size=config.eval_bs, rounds=config.rounds
    )
    if "precision" not in config.skip:
        log(f"bf16 precision: one lr={config.lr:g} step, {config.restore_steps} lr=0 steps")
        precision = measure_precision(path, config)
        result.update(precision)
    log(f"loading {path} on {device}")
    model, tokenizer = load(path, config)
    result["trainable_params"] = sum(p.numel() for p in trainable_parameters(model))
    result["environment"] = {
        "device": device_name(device),
        "device_type": device.type,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "dtype": str(pick_dtype(config.dtype, device)).removeprefix("torch."),
    }
    if "steps" not in config.skip:
        log(f"MeZO steps on {', '.join(STEP_TASKS)} batches, {config.rounds} rounds")
        batches = [
            task_batch(tokenizer, task, config.batch_size, config.seed) for task in STEP_TASKS
        ]
        times, ratios = measure_steps(model, tokenizer.pad_token_id, batches, config, device)
        result.update(times=times, step_ratios=ratios, **headline(ratios))
    if "eval" not in config.skip:
        log(
            f"evaluation on {', '.join(EVAL_TASKS)}, {config.eval_examples} examples each, "
            f"{config.eval_bs} a batch"
        )
        times, speedups = measure_eval(model, tokenizer, config, device)
        result.setdefault("times", {}).update(times)
        result["eval_speedups"] = speedups
        result["eval_speedup_single"] = speedups["sst2"].median
        result["eval_speedup_multi"] = min(speedups[t].median for t in ("copa", "arcc_cloze"))
    del model
    if "memory" not in config.skip:
        peaks = measure_peaks(path, config, log)
        result.update(peak_memory_mib=peaks, **memory_ratios(peaks))
        planned = planned_peaks(path, config, tokenizer)
        result.update(planned_memory_mib=planned, **plan_ratios(peaks, planned))
    if "startup" not in config.skip:
        log("where a one-step job's time goes (the trainer alone, then a one-job sweep)")
        result["startup_seconds"] = measure_startup(path, scratch, sweep=not config.tiny)
    return as_json(result)


@quiet_on_closed_pipe
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if args.probe:
            probe, path, settings = args.probe
            if probe not in PROBES:
                raise ConfigError(f"unknown probe {probe}")
            config = BenchConfig(**{**json.loads(settings), "skip": ()})
            if config.tiny:
                torch.set_num_threads(1)
            print(json.dumps({"peak_mib": run_probe(probe, path, config)}))
            return 0
        config = config_from(args)
        with tempfile.TemporaryDirectory(prefix="zo_bench_") as scratch:
            result = run(config, Path(scratch))
    except (ConfigError, ModelNotFound) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except (ProbeFailed, RuntimeError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(render(result))
    if args.json:
        result["config"] = dataclasses.asdict(config)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0
