"""Does MeZO learn as well with bf16 weights as with fp32 masters? Dev loss curves, seeds apart.

    python -m zo_sweep.bench.learning --out learning/ --jobs 2   # 2 x 3 runs of 300 steps
    python -m zo_sweep.bench.learning --out learning/ --plot-only

Each run is the trainer's own MeZO (its model loading with `zo_weights`, its stepper, its
batches) on the embedded model and the example SST-2 data, with a bf16 forward: one run per
option and seed, each in its own process (`--jobs` at a time, the cores shared between them).
A seed fixes the data sample, the batch order and the noise, so the two options of one seed
see the same batches and perturb along the same directions: they differ only in how the
weights are held. Every `--eval-every` steps the run writes the mean dev loss (cross-entropy
over the candidates, as training) and dev accuracy; a run whose curve file exists is not run
again. The figure has one panel: dev loss against step, each option's mean over seeds with the
band of its lowest and highest seed. The verdict compares, at every evaluation, the gap
between the options' means with the seeds' spread.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from zo_sweep.closed_pipe import quiet_on_closed_pipe

OPTIONS = ("inference", "fp32_masters")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m zo_sweep.bench.learning", description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="folder of curves and figure")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--lr", type=float, default=1e-5)
    parser.add_argument("--eps", type=float, default=1e-3)
    parser.add_argument("--bs", type=int, default=16)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--options", nargs="+", choices=OPTIONS, default=list(OPTIONS))
    parser.add_argument("--num-dev", type=int, default=32, help="dev examples per run")
    parser.add_argument("--eval-every", type=int, default=25)
    parser.add_argument("--jobs", type=int, default=1, help="runs at once")
    parser.add_argument("--plot-only", action="store_true")
    parser.add_argument("--run", nargs=2, metavar=("OPTION", "SEED"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def curve_path(out: Path, option: str, seed: int) -> Path:
    return out / f"curve_{option}_seed{seed}.json"


def run_one(args: argparse.Namespace, option: str, seed: int) -> dict:
    """One MeZO run in this process, through the trainer's own pieces."""
    import torch
    import torch.nn.functional as F

    from zo_sweep.data import load_splits
    from zo_sweep.train.loop import batches
    from zo_sweep.train.model import load_run_model, pick_device
    from zo_sweep.train.scoring import candidate_scores, collate, encode
    from zo_sweep.train.settings import TrainSettings
    from zo_sweep.train.steppers import make_stepper

    settings = TrainSettings(
        lr=args.lr, eps=args.eps, bs=args.bs, seed=seed, steps=args.steps, dtype="bfloat16",
        device="cpu", zo_weights=option,
    )  # fmt: skip
    torch.manual_seed(seed)
    # The example file holds 240 training examples: the dev sample comes out of them.
    splits = load_splits(
        "sst2", num_train=240 - args.num_dev, num_dev=args.num_dev, num_eval=1, seed=seed
    )
    device = pick_device("cpu")
    model, tokenizer = load_run_model(settings, device)
    train, dev = encode(tokenizer, splits.train), encode(tokenizer, splits.dev)
    objective = splits.task.train_objective
    stepper = make_stepper(model, settings, objective, tokenizer.pad_token_id)

    @torch.inference_mode()
    def dev_figures() -> tuple[float, float]:
        loss, correct = 0.0, 0
        for start in range(0, len(dev), args.bs):
            chunk = dev[start : start + args.bs]
            batch = collate(chunk, tokenizer.pad_token_id, device)
            scores = candidate_scores(model, batch).float()
            loss += float(F.cross_entropy(scores, batch.labels)) * len(chunk)
            correct += int((scores.argmax(dim=1) == batch.labels).sum())
        return loss / len(dev), correct / len(dev)

    record = {"option": stepper.optimizer.weights, "seed": seed, "lr": args.lr, "eps": args.eps,
              "bs": args.bs, "steps": [], "dev_loss": [], "dev_accuracy": [], "train_loss": []}  # fmt: skip
    stream = batches(train, args.bs, seed)
    started = time.perf_counter()
    for step in range(args.steps + 1):
        if step:
            record["train_loss"].append(stepper.step(next(stream), step))
        if step % args.eval_every == 0 or step == args.steps:
            loss, accuracy = dev_figures()
            record["steps"].append(step)
            record["dev_loss"].append(loss)
            record["dev_accuracy"].append(accuracy)
            print(f"{option} seed {seed}: step {step}, dev loss {loss:.4f}", file=sys.stderr)
    record["seconds"] = time.perf_counter() - started
    return record


def run_all(args: argparse.Namespace) -> None:
    """Each missing run in a process of its own, `--jobs` at a time."""
    args.out.mkdir(parents=True, exist_ok=True)
    todo = [
        (option, seed)
        for seed in args.seeds
        for option in args.options
        if not curve_path(args.out, option, seed).exists()
    ]
    threads = max(1, (os.cpu_count() or 1) // args.jobs)
    shared = ["--lr", str(args.lr), "--eps", str(args.eps), "--bs", str(args.bs),
              "--steps", str(args.steps), "--num-dev", str(args.num_dev),
              "--eval-every", str(args.eval_every), "--out", str(args.out)]  # fmt: skip

    def launch(job: tuple[str, int]) -> None:
        option, seed = job
        command = [sys.executable, "-m", "zo_sweep.bench.learning", *shared,
                   "--run", option, str(seed)]  # fmt: skip
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
        subprocess.run(command, env=env, check=True)

    with ThreadPoolExecutor(args.jobs) as pool:
        list(pool.map(launch, todo))


def load_curves(out: Path) -> dict[str, list[dict]]:
    curves: dict[str, list[dict]] = {}
    for path in sorted(out.glob("curve_*.json")):
        record = json.loads(path.read_text())
        curves.setdefault(record["option"], []).append(record)
    return curves


def verdict(curves: dict[str, list[dict]]) -> list[str]:
    """Per evaluation step: the options' mean dev losses, their gap, and the seeds' spread."""
    import numpy as np

    if set(curves) != set(OPTIONS):
        return ["both options are needed for a verdict"]
    losses = {option: np.array([r["dev_loss"] for r in runs]) for option, runs in curves.items()}
    steps = curves[OPTIONS[0]][0]["steps"]
    lines, within = [], 0
    for index, step in enumerate(steps):
        means = {o: float(losses[o][:, index].mean()) for o in OPTIONS}
        spread = max(float(np.ptp(losses[o][:, index])) for o in OPTIONS)
        gap = means["inference"] - means["fp32_masters"]
        within += abs(gap) <= spread
        lines.append(f"step {step:4d}: inference {means['inference']:.4f}, fp32_masters "
                     f"{means['fp32_masters']:.4f}, gap {gap:+.4f}, seeds' spread {spread:.4f}")  # fmt: skip
    lines.append(f"gap within the seeds' spread at {within} of {len(steps)} evaluations")
    return lines


def plot(curves: dict[str, list[dict]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    figure, axis = plt.subplots(figsize=(6.4, 4.0))
    colours = {"inference": "tab:blue", "fp32_masters": "tab:orange"}
    labels = {"inference": "bf16 weights, stochastic rounding (inference)",
              "fp32_masters": "fp32 master weights (fp32_masters)"}  # fmt: skip
    for option, runs in sorted(curves.items()):
        steps = np.array(runs[0]["steps"])
        losses = np.array([run["dev_loss"] for run in runs])
        axis.fill_between(steps, losses.min(0), losses.max(0), color=colours[option], alpha=0.2)
        label = f"{labels[option]}, mean of {len(runs)} seeds"
        axis.plot(steps, losses.mean(0), color=colours[option], label=label)
    first = next(iter(curves.values()))[0]
    axis.set(xlabel="MeZO step", ylabel="dev loss (cross-entropy over candidates)",
             title=f"SmolLM2-135M, SST-2, bf16 forward, lr {first['lr']:g}, "
                   f"eps {first['eps']:g}, batch {first['bs']}")  # fmt: skip
    axis.title.set_fontsize(9)
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


@quiet_on_closed_pipe
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.run:
        option, seed = args.run[0], int(args.run[1])
        record = run_one(args, option, seed)
        curve_path(args.out, option, seed).write_text(json.dumps(record) + "\n")
        return 0
    if not args.plot_only:
        run_all(args)
    curves = load_curves(args.out)
    if not curves:
        print(f"error: no curves in {args.out}", file=sys.stderr)
        return 2
    plot(curves, args.out / "learning_bf16_vs_fp32_masters.png")
    print("\n".join(verdict(curves)))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    sys.exit(main())
