"""How long the summary takes on an archive of N job directories.

    python -m zo_sweep.bench.summary_speed 5000

Builds N synthetic job directories (Hydra's config snapshot, result.json, metrics.jsonl,
logs) in a temporary directory, then times load() and each view. The files are in the page
cache by then, so this measures the summary's own cost, not a cold disk.
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
import time
from pathlib import Path

import yaml

from zo_sweep import records
from zo_sweep.closed_pipe import quiet_on_closed_pipe
from zo_sweep.summary import load, views

MODELS = ["llama1b", "llama3b", "mistral7b", "mistral_nemo", "smollm2_135m"]
TASKS = ["copa", "cb", "rte", "boolq", "sst2", "arcc_mc", "arcc_cloze"]
METHODS = ["zo", "fo_full", "fo_lora", "zo_lora"]
DATA = ["original", "synthetic", "orig_n_syn"]
LRS = [1e-4, 1e-5, 1e-6, 1e-7]
SEEDS = [0, 1, 2]
STEPS = 1000
EVAL_EVERY = 100


def build_archive(root: Path, count: int) -> None:
    grid = itertools.product(MODELS, TASKS, METHODS, DATA, LRS, SEEDS)
    for index, (model, task, method, data, lr, seed) in enumerate(itertools.islice(grid, count)):
        sweep = f"2024-05-{1 + index // 1000:02d}_10-00-00"
        job = Path(root, "paper", sweep, model, f"{task}_{method}_{data}", f"lr={lr},seed={seed}")
        write_job(job, model, task, method, data, lr, seed, failed=index % 50 == 0)


def write_job(
    job: Path, model: str, task: str, method: str, data: str, lr: float, seed: int, failed: bool
) -> None:
    hydra = job / records.HYDRA_DIR
    hydra.mkdir(parents=True)
    config = {
        "purpose": "paper",
        "output_root": "outputs",
        "lr": lr,
        "bs": 16,
        "steps": STEPS,
        "seed": seed,
        "eps": 1e-3,
        "rank": 8,
        "alpha": 16,
        "num_train": 1000,
        "num_dev": "${task.num_dev}",
        "num_eval": 1000,
        "eval_steps": "${method.eval_steps}",
        "dry_run": False,
        "resume": False,
        "env": {
            key: f"${{{key.lower()}}}"
            for key in ("LR", "BS", "STEPS", "SEED", "EPS", "RANK", "ALPHA")
        },
        "extra_env": {},
        "model": {"name": model, "id": f"org/{model}", "dtype": "bfloat16", "family": "llama"},
        "task": {"name": task, "folder": task.upper(), "num_dev": 500, "metrics": ["accuracy"]},
        "method": {
            "name": method,
            "mode": "ft",
            "script": f"legacy_scripts/{method}.sh",
            "eval_steps": EVAL_EVERY,
        },
        "data": {"name": data, "root": "${example_data:original}", "synthetic_task": None},
    }
    (hydra / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    (hydra / "overrides.yaml").write_text(yaml.safe_dump([f"lr={lr}", f"seed={seed}"]))
    (job / records.COMMAND_FILE).write_text("#!/bin/bash\n")
    (job / records.STDOUT_FILE).write_text("training\n")
    (job / records.STDERR_FILE).write_text("CUDA out of memory\n" if failed else "")
    dev = 0.5 + 0.3 * (hash((model, task, method, data, lr)) % 100) / 100 + 0.01 * seed
    lines = [
        {"step": step, "loss": 1.0 / (1 + step), "lr": lr, "seconds": step * 0.1}
        for step in range(1, STEPS + 1, 10)
    ]
    lines += [
        {"step": step, "dev_accuracy": dev, "seconds": step * 0.1}
        for step in range(0, STEPS + 1, EVAL_EVERY)
    ]
    (job / records.METRICS_FILE).write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = (
        {"status": records.FAILED, "error": "exit code 1"}
        if failed
        else {
            "status": records.OK,
            "metric": "accuracy",
            "zero_shot_dev": 0.5,
            "final_dev": dev,
            "best_dev": dev,
            "best_step": STEPS,
            "test_at_best": dev - 0.02,
            "steps_done": STEPS,
            "wall_seconds": 3600.0,
            "peak_memory_mb": 20000.0,
            "environment": {"torch": "2.3.0", "transformers": "4.46.0", "device": "NVIDIA H100"},
        }
    )
    (job / records.RESULT_FILE).write_text(json.dumps(result, indent=2))


def timed(label: str, function, *args):
    start = time.perf_counter()
    value = function(*args)
    print(f"{label:<14} {time.perf_counter() - start:7.3f} s")
    return value


@quiet_on_closed_pipe
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int, nargs="?", default=5000, help="job directories to build")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        build_archive(Path(tmp), args.count)
        print(f"built {args.count} job directories in {time.perf_counter() - start:.1f} s")
        frame = timed("load()", load, tmp)
        assert len(frame) == args.count, f"expected {args.count} rows, got {len(frame)}"
        for name, view in views.VIEWS.items():
            timed(f"view {name}", view, frame)


if __name__ == "__main__":
    main()
