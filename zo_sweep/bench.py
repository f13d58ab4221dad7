"""Speed and memory of the training steps: ``python -m zo_sweep.bench``.

One run measures, on the same token batch, the forward pass, one pass over every trainable
parameter (the memory-bandwidth floor of a perturbation), the time to draw MeZO's noise for
every parameter (the RNG floor, what bounds a MeZO step on a CPU), the trainer's MeZO step, a
reference MeZO step written as the paper's code, a first-order AdamW step, a LoRA step, the
peak memory of inference / MeZO / first-order / LoRA (each in a fresh process so peaks cannot
leak into each other), and the evaluation throughput of the trainer's batched scoring against
one candidate sequence per forward. It prints the times and the ratios the project holds
itself to (docs/performance.md).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from zo_sweep.random_llama import build_random_llama
from zo_sweep.train.environment import cpu_name
from zo_sweep.train.model import trainable_parameters

EMBEDDED_MODEL = "smollm2_135m"
TRAINER_OPTIMIZER = "zo_sweep.train.mezo:ZerothOrderSGD"
PROBES = ("inference", "zo", "fo_full", "fo_lora")
NOISE_CHUNK = 1 << 20  # values per independently seeded noise chunk: 4 MiB in fp32, cache-sized

# Goals of the performance issue: (ratio key, comparison, bound).
GOALS: dict[str, tuple[str, float]] = {
    "zo_vs_limit": ("<=", 1.25),
    "reference_vs_zo": (">=", 1.5),
    "zo_mem_vs_inference": ("<=", 1.10),
    "eval_batched_vs_single": (">=", 5.0),
}


class BenchError(RuntimeError):
    """A user-facing problem (bad model, missing part), reported as one line."""


# --- configuration and results -------------------------------------------------------------


@dataclass
class BenchConfig:
    model: str = EMBEDDED_MODEL
    tiny: bool = False
    batch_size: int = 16
    seq_len: int = 64
    repeats: int = 5
    device: str = "auto"
    dtype: str = "auto"
    lr: float = 1e-6
    eps: float = 1e-3
    optimizer: str = TRAINER_OPTIMIZER
    lora_rank: int = 8
    lora_alpha: int = 16
    lora_targets: tuple[str, ...] = ("q_proj", "v_proj")
    eval_examples: int = 64
    eval_candidates: int = 2
    skip_memory: bool = False
    skip_eval: bool = False
    seed: int = 0


@dataclass
class Timing:
    """Seconds per call: median and best of the timed repeats (after one warm-up call)."""

    median: float
    best: float
    runs: list[float] = field(default_factory=list)


@dataclass
class BenchResult:
    config: dict[str, Any]
    environment: dict[str, Any]
    trainable_params: int
    times: dict[str, Timing]
    peak_memory_bytes: dict[str, int]
    eval_throughput: dict[str, float]
    ratios: dict[str, float]


# --- small utilities -----------------------------------------------------------------------


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise BenchError("--device cuda asked for, but torch sees no CUDA device")
    return torch.device(device)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_call(fn: Callable[[], object], repeats: int, device: torch.device) -> Timing:
    """Time `fn` `repeats` times after one untimed warm-up (allocator, lazy init, caches)."""
    fn()
    synchronize(device)
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        synchronize(device)
        runs.append(time.perf_counter() - start)
    return Timing(median=statistics.median(runs), best=min(runs), runs=runs)


def time_interleaved(
    steps: dict[str, Callable[[], object]], repeats: int, device: torch.device
) -> dict[str, Timing]:
    """Time several calls round-robin, so that load from other processes on a shared machine
    falls on all of them alike rather than on whichever ran at the wrong moment."""
    runs: dict[str, list[float]] = {name: [] for name in steps}
    for _ in tqdm(range(repeats + 1), desc="timing rounds", file=sys.stderr, leave=False):
        for name, fn in steps.items():
            start = time.perf_counter()
            fn()
            synchronize(device)
            runs[name].append(time.perf_counter() - start)
    # The first round is the warm-up (allocator, lazy initialisation, caches).
    return {
        name: Timing(median=statistics.median(r[1:]), best=min(r[1:]), runs=r[1:])
        for name, r in runs.items()
    }


def environment(device: torch.device) -> dict[str, Any]:
    import transformers

    env = {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "cpu": cpu_name(),
        "cpu_threads": torch.get_num_threads(),
        "device": device.type,
    }
    if device.type == "cuda":
        env["gpu"] = torch.cuda.get_device_name(device)
    return env


# --- the model and the batch ---------------------------------------------------------------


TINY_SHAPE = {"hidden": 64, "layers": 2, "heads": 4, "kv_heads": 2, "intermediate": 128}


def resolve_model_path(config: BenchConfig, scratch_dir: Path) -> str:
    if config.tiny:
        return str(build_random_llama(scratch_dir / "tiny_llama", **TINY_SHAPE))
    if config.model == EMBEDDED_MODEL:
        from zo_sweep.embedded import ensure_embedded_model

        return str(ensure_embedded_model())
    return config.model


def load(model_path: str, config: BenchConfig, device: torch.device):
    from zo_sweep.train.model import load_model

    model, tokenizer = load_model(model_path, dtype=config.dtype, device=device)
    model.eval()
    return model, tokenizer


def token_batch(vocab_size: int, config: BenchConfig, device: torch.device) -> torch.Tensor:
    generator = torch.Generator().manual_seed(config.seed)
    ids = torch.randint(0, vocab_size, (config.batch_size, config.seq_len), generator=generator)
    return ids.to(device)


def lm_loss(model: torch.nn.Module, input_ids: torch.Tensor) -> torch.Tensor:
    """The causal-LM loss of the batch: the same forward for every method measured."""
    return model(input_ids=input_ids, labels=input_ids).loss


def inference_loss(model: torch.nn.Module, input_ids: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return lm_loss(model, input_ids)


# --- floors: the parameter pass and the noise draw -----------------------------------------


def parameter_pass(params: Sequence[torch.Tensor]) -> Callable[[], None]:
    """One read and one write of every parameter; alternating signs keep the weights put."""
    sign = [1.0]

    def run() -> None:
        with torch.no_grad():
            torch._foreach_add_(list(params), sign[0] * 1e-12)
        sign[0] = -sign[0]

    return run


def noise_chunks(params: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """Flat views of at most NOISE_CHUNK values each, covering every parameter once."""
    return [chunk for p in params for chunk in p.detach().view(-1).split(NOISE_CHUNK)]


def serial_noise_draw(params: Sequence[torch.Tensor]) -> Callable[[], None]:
    """Draw N(0, 1) for every parameter once, one generator, into one reused buffer."""
    generator = torch.Generator(device=params[0].device).manual_seed(0)
    buffer = torch.empty(
        max(p.numel() for p in params), dtype=params[0].dtype, device=params[0].device
    )

    def run() -> None:
        for p in params:
            buffer[: p.numel()].normal_(generator=generator)

    return run


def threaded_noise_draw(params: Sequence[torch.Tensor], workers: int) -> Callable[[], None]:
    """Draw N(0, 1) for every parameter once: cache-sized chunks, each seeded on its own,
    filled by `workers` threads (torch kernels release the GIL)."""
    chunks = noise_chunks(params)
    device, dtype = params[0].device, params[0].dtype
    generators = [torch.Generator(device=device) for _ in range(workers)]
    buffers = [torch.empty(NOISE_CHUNK, dtype=dtype, device=device) for _ in range(workers)]
    pool = ThreadPoolExecutor(workers)

    def fill(worker: int) -> None:
        for index in range(worker, len(chunks), workers):
            generators[worker].manual_seed(index)
            buffers[worker][: chunks[index].numel()].normal_(generator=generators[worker])

    def run() -> None:
        for future in [pool.submit(fill, w) for w in range(workers)]:
            future.result()

    return run


# --- the reference MeZO step (the paper's code) --------------------------------------------


def _fresh_noise(param: torch.Tensor) -> torch.Tensor:
    """A newly allocated N(0, 1) tensor shaped like `param`, from the global generator."""
    return torch.normal(
        mean=0, std=1, size=param.data.size(), device=param.data.device, dtype=param.data.dtype
    )


class ReferenceMeZO:
    """MeZO's step as the paper's trainer writes it: the global RNG reseeded before each of
    four passes (+eps, -2 eps, +eps restore, update), noise freshly allocated per parameter
    with torch.normal, out-of-place parameter updates."""

    def __init__(self, params: Sequence[torch.nn.Parameter], *, lr: float, eps: float) -> None:
        self.params = list(params)
        self.lr = lr
        self.eps = eps
        self.weight_decay = 0.0

    def _perturb(self, seed: int, scaling_factor: float) -> None:
        torch.manual_seed(seed)
        for param in self.params:
            param.data = param.data + scaling_factor * _fresh_noise(param) * self.eps

    def _update(self, seed: int, projected_grad: float) -> None:
        torch.manual_seed(seed)
        for param in self.params:
            z = _fresh_noise(param)
            param.data = param.data - self.lr * (
                projected_grad * z + self.weight_decay * param.data
            )

    def step(self, closure: Callable[[], torch.Tensor], seed: int) -> float:
        self._perturb(seed, 1)
        loss1 = closure()
        self._perturb(seed, -2)
        loss2 = closure()
        projected_grad = ((loss1 - loss2) / (2 * self.eps)).item()
        self._perturb(seed, 1)
        self._update(seed, projected_grad)
        return float(loss1)


# --- the steps measured --------------------------------------------------------------------


def load_optimizer_class(spec: str) -> type:
    """`module:Class`, e.g. the trainer's `zo_sweep.train.mezo:ZerothOrderSGD`."""
    import importlib

    module_name, _, class_name = spec.partition(":")
    if not class_name:
        raise BenchError(f"--optimizer {spec!r}: expected module:Class")
    try:
        return getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as err:
        raise BenchError(f"--optimizer {spec!r}: {err}") from err


def zo_step(model: torch.nn.Module, batch: torch.Tensor, config: BenchConfig) -> Callable[[], None]:
    optimizer_class = load_optimizer_class(config.optimizer)
    optimizer = optimizer_class(trainable_parameters(model), lr=config.lr, eps=config.eps)
    seeds = iter(range(config.seed, config.seed + 1_000_000))
    return lambda: optimizer.step(lambda: inference_loss(model, batch), next(seeds))


def reference_zo_step(
    model: torch.nn.Module, batch: torch.Tensor, config: BenchConfig
) -> Callable[[], None]:
    optimizer = ReferenceMeZO(trainable_parameters(model), lr=config.lr, eps=config.eps)
    seeds = iter(range(config.seed, config.seed + 1_000_000))
    return lambda: optimizer.step(lambda: inference_loss(model, batch), next(seeds))


def first_order_step(model: torch.nn.Module, batch: torch.Tensor, lr: float) -> Callable[[], None]:
    optimizer = torch.optim.AdamW(trainable_parameters(model), lr=lr)

    def run() -> None:
        lm_loss(model, batch).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return run


def with_lora(model: torch.nn.Module, config: BenchConfig) -> torch.nn.Module:
    from peft import LoraConfig, get_peft_model

    lora = LoraConfig(
        r=config.lora_rank,
        lora_alpha=config.lora_alpha,
        target_modules=list(config.lora_targets),
        lora_dropout=0.0,
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, lora)


# --- peak memory, each in a fresh process --------------------------------------------------


@contextmanager
def peak_memory(device: torch.device) -> Iterator[dict[str, int]]:
    """Peak memory inside the block: CUDA's allocator peak, or the process's peak RSS."""
    measured: dict[str, int] = {}
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        yield measured
        torch.cuda.synchronize(device)
        measured["peak"] = torch.cuda.max_memory_allocated(device)
        return
    resettable = _reset_peak_rss()
    yield measured
    measured["peak"] = _peak_rss_bytes(since_reset=resettable)


def _reset_peak_rss() -> bool:
    # Linux resets the peak-RSS mark (VmHWM) to the current RSS when "5" is written here, so
    # the peak of model loading does not mask the peak of the step.
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _peak_rss_bytes(*, since_reset: bool) -> int:
    if since_reset:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    import resource

    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def probe_step(probe: str, model: torch.nn.Module, batch: torch.Tensor, config: BenchConfig):
    if probe == "inference":
        return lambda: inference_loss(model, batch)
    if probe == "zo":
        return zo_step(model, batch, config)
    if probe == "fo_full":
        return first_order_step(model, batch, lr=1e-5)
    if probe == "fo_lora":
        return first_order_step(with_lora(model, config), batch, lr=1e-4)
    raise BenchError(f"unknown memory probe {probe!r}; expected one of {', '.join(PROBES)}")


def run_probe(probe: str, model_path: str, config: BenchConfig) -> int:
    """In this (fresh) process: load, warm up one step, then the peak over two more steps."""
    device = resolve_device(config.device)
    model, _ = load(model_path, config, device)
    batch = token_batch(model.config.vocab_size, config, device)
    step = probe_step(probe, model, batch, config)
    step()
    with peak_memory(device) as measured:
        for _ in range(2):
            step()
    return measured["peak"]


def measure_peaks(model_path: str, config: BenchConfig) -> dict[str, int]:
    peaks = {}
    for probe in PROBES:
        log(f"peak memory of {probe} (fresh process)")
        command = [sys.executable, "-m", "zo_sweep.bench", "--probe", probe, "--model", model_path]
        command += config_arguments(config)
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise BenchError(f"memory probe {probe} failed: {last}")
        peaks[probe] = json.loads(done.stdout.strip().splitlines()[-1])["peak_bytes"]
    return peaks


def config_arguments(config: BenchConfig) -> list[str]:
    return [
        f"--batch-size={config.batch_size}",
        f"--seq-len={config.seq_len}",
        f"--device={config.device}",
        f"--dtype={config.dtype}",
        f"--lr={config.lr}",
        f"--eps={config.eps}",
        f"--seed={config.seed}",
        f"--optimizer={config.optimizer}",
    ]


# --- evaluation throughput -----------------------------------------------------------------


WORDS = [
    "the",
    "a",
    "movie",
    "film",
    "plot",
    "actor",
    "was",
    "great",
    "terrible",
    "boring",
    "wonderful",
    "because",
    "so",
    "question",
    "answer",
    "premise",
    "hypothesis",
    "cause",
    "effect",
    "result",
    "happened",
    "yes",
    "no",
    "maybe",
    "true",
    "false",
    "river",
    "city",
    "music",
]


def eval_examples(config: BenchConfig) -> list:
    """Seeded examples shaped like the tasks': a prompt of about seq_len words and candidates."""
    from zo_sweep.data.tasks import Example

    rng = random.Random(config.seed)
    examples = []
    for _ in range(config.eval_examples):
        words = rng.randint(config.seq_len // 2, config.seq_len)
        prompt = " ".join(rng.choice(WORDS) for _ in range(words))
        candidates = [" " + rng.choice(WORDS) for _ in range(config.eval_candidates)]
        examples.append(Example(prompt=prompt, candidates=candidates, label=0))
    return examples


def single_sequence_scores(model, tokenizer, examples: Sequence, device: torch.device) -> list[int]:
    """One forward per (prompt, candidate) sequence, as MeZO's run.py scores: the baseline."""
    predictions = []
    with torch.inference_mode():
        for example in examples:
            prompt_ids = tokenizer(example.prompt, add_special_tokens=False)["input_ids"]
            scores = []
            for candidate in example.candidates:
                cand_ids = tokenizer(candidate, add_special_tokens=False)["input_ids"]
                ids = torch.tensor([prompt_ids + cand_ids], device=device)
                logprobs = model(input_ids=ids).logits[0, :-1].log_softmax(-1)
                targets = ids[0, len(prompt_ids) :]
                picked = logprobs[len(prompt_ids) - 1 :].gather(-1, targets[:, None])
                scores.append(picked.sum().item())
            predictions.append(max(range(len(scores)), key=scores.__getitem__))
    return predictions


def batched_scores(model, tokenizer, examples: Sequence, device: torch.device) -> None:
    from zo_sweep.train.scoring import evaluate

    evaluate(model, tokenizer, examples)


def measure_eval(model, tokenizer, config: BenchConfig, device: torch.device) -> dict[str, float]:
    examples = eval_examples(config)
    log(f"evaluation throughput on {len(examples)} examples")
    times = time_interleaved(
        {
            "single": lambda: single_sequence_scores(model, tokenizer, examples, device),
            "batched": lambda: batched_scores(model, tokenizer, examples, device),
        },
        max(1, config.repeats // 2),
        device,
    )
    return {
        "examples": len(examples),
        "single_examples_per_s": len(examples) / times["single"].best,
        "batched_examples_per_s": len(examples) / times["batched"].best,
    }


# --- the whole run -------------------------------------------------------------------------


def run_benchmark(config: BenchConfig) -> BenchResult:
    device = resolve_device(config.device)
    with tempfile.TemporaryDirectory(prefix="zo_bench_") as scratch:
        model_path = resolve_model_path(config, Path(scratch))
        log(f"loading {model_path} on {device}")
        model, tokenizer = load(model_path, config, device)
        params = trainable_parameters(model)
        num_params = sum(p.numel() for p in params)
        batch = token_batch(model.config.vocab_size, config, device)
        times = measure_times(model, params, batch, config, device)
        evals = {} if config.skip_eval else measure_eval(model, tokenizer, config, device)
        times.update(measure_first_order(model, batch, config, device))
        del model, params
        peaks = {} if config.skip_memory else measure_peaks(model_path, config)
    return BenchResult(
        config=asdict(config),
        environment=environment(device),
        trainable_params=num_params,
        times=times,
        peak_memory_bytes=peaks,
        eval_throughput=evals,
        ratios=ratios(times, peaks, evals),
    )


def measure_times(
    model, params, batch, config: BenchConfig, device: torch.device
) -> dict[str, Timing]:
    workers = torch.get_num_threads() if device.type == "cpu" else 1
    log("setting up: forward, parameter pass, noise draws, MeZO steps (trainer's, reference)")
    steps = {
        "forward": lambda: inference_loss(model, batch),
        "param_pass": parameter_pass(params),
        "rng_serial": serial_noise_draw(params),
        "rng_threaded": threaded_noise_draw(params, workers),
        "zo_step": zo_step(model, batch, config),
        "reference_zo_step": reference_zo_step(model, batch, config),
    }
    return time_interleaved(steps, config.repeats, device)


def measure_first_order(
    model, batch, config: BenchConfig, device: torch.device
) -> dict[str, Timing]:
    # First-order steps go last: AdamW moves the weights and LoRA rewrites the modules.
    repeats = config.repeats
    log("first-order full step (AdamW)")
    times = {"fo_full_step": time_call(first_order_step(model, batch, lr=1e-5), repeats, device)}
    for p in model.parameters():
        p.grad = None
    log("first-order LoRA step (peft)")
    lora_model = with_lora(model, config)
    times["fo_lora_step"] = time_call(first_order_step(lora_model, batch, lr=1e-4), repeats, device)
    return times


def ratios(
    times: dict[str, Timing], peaks: dict[str, int], evals: dict[str, float]
) -> dict[str, float]:
    # Best-of times: on a shared machine the fastest run is the one least disturbed by others.
    forward, param_pass = times["forward"].best, times["param_pass"].best
    rng = min(times["rng_serial"].best, times["rng_threaded"].best)
    zo = times["zo_step"].best
    result = {
        "zo_vs_limit": zo / (2 * forward + 3 * param_pass),
        "zo_vs_rng_limit": zo / (2 * forward + 3 * (param_pass + rng)),
        "reference_vs_zo": times["reference_zo_step"].best / zo,
    }
    if peaks:
        result["zo_mem_vs_inference"] = peaks["zo"] / peaks["inference"]
        result["fo_full_mem_vs_zo"] = peaks["fo_full"] / peaks["zo"]
        result["fo_lora_mem_vs_zo"] = peaks["fo_lora"] / peaks["zo"]
    if evals:
        result["eval_batched_vs_single"] = (
            evals["batched_examples_per_s"] / evals["single_examples_per_s"]
        )
    return result


# --- report --------------------------------------------------------------------------------


TIME_ROWS = [
    ("forward", "forward pass (inference_mode)"),
    ("param_pass", "parameter pass (read + write every trainable parameter)"),
    ("rng_serial", "RNG floor: N(0,1) for all trainable parameters, 1 generator"),
    ("rng_threaded", "RNG floor: same, cache-sized chunks over all CPU threads"),
    ("zo_step", "MeZO step (trainer's ZerothOrderSGD)"),
    ("reference_zo_step", "MeZO step, reference (paper's code, 4 noise passes)"),
    ("fo_full_step", "first-order full step (AdamW)"),
    ("fo_lora_step", "first-order LoRA step (peft, AdamW)"),
]
RATIO_ROWS = [
    ("zo_vs_limit", "MeZO step / (2 x forward + 3 x parameter pass)"),
    ("zo_vs_rng_limit", "MeZO step / (2 x forward + 3 x (parameter pass + RNG floor))"),
    ("reference_vs_zo", "reference MeZO step / MeZO step"),
    ("zo_mem_vs_inference", "MeZO peak memory / inference peak memory"),
    ("fo_full_mem_vs_zo", "FO full peak memory / MeZO peak memory"),
    ("fo_lora_mem_vs_zo", "LoRA peak memory / MeZO peak memory"),
    ("eval_batched_vs_single", "batched eval throughput / one sequence per forward"),
]


def render(result: BenchResult) -> str:
    from tabulate import tabulate

    env, cfg = result.environment, result.config
    where = env.get("gpu") or f"{env['cpu']} ({env['cpu_threads']} threads)"
    lines = [
        f"model {cfg['model'] if not cfg['tiny'] else 'tiny random Llama'}: "
        f"{result.trainable_params / 1e6:.1f}M trainable parameters; batch {cfg['batch_size']} x "
        f"{cfg['seq_len']} tokens; {env['device']}: {where}; torch {env['torch']}",
        "",
    ]
    rows = [
        [label, f"{result.times[key].best * 1e3:.4g}", f"{result.times[key].median * 1e3:.4g}"]
        for key, label in TIME_ROWS
        if key in result.times
    ]
    lines.append(tabulate(rows, headers=["time per call", "best ms", "median ms"]))
    if result.peak_memory_bytes:
        lines.append("")
        peaks = [[probe, f"{result.peak_memory_bytes[probe] / 2**20:.0f}"] for probe in PROBES]
        memory_kind = "max_memory_allocated" if env["device"] == "cuda" else "peak RSS"
        lines.append(tabulate(peaks, headers=["peak memory", f"MiB ({memory_kind})"]))
    if result.eval_throughput:
        ev = result.eval_throughput
        lines.append("")
        lines.append(
            tabulate(
                [
                    ["batched (trainer's evaluate)", f"{ev['batched_examples_per_s']:.1f}"],
                    ["one sequence per forward", f"{ev['single_examples_per_s']:.1f}"],
                ],
                headers=[f"evaluation ({ev['examples']} examples)", "examples/s"],
            )
        )
    lines.append("")
    lines.append(tabulate(ratio_rows(result.ratios), headers=["ratio", "value", "goal", ""]))
    return "\n".join(lines)


def ratio_rows(values: dict[str, float]) -> list[list[str]]:
    rows = []
    for key, label in RATIO_ROWS:
        if key not in values:
            continue
        goal, verdict = "", ""
        if key in GOALS:
            comparison, bound = GOALS[key]
            met = values[key] <= bound if comparison == "<=" else values[key] >= bound
            goal, verdict = f"{comparison} {bound}", "met" if met else "not met"
        rows.append([label, f"{values[key]:.2f}", goal, verdict])
    return rows


# --- command line --------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m zo_sweep.bench",
        description="Speed and memory of MeZO, first-order and LoRA steps, and of evaluation.",
    )
    parser.add_argument("--model", default=EMBEDDED_MODEL, help="embedded name or model folder")
    parser.add_argument("--tiny", action="store_true", help="a tiny random Llama (seconds)")
    parser.add_argument("--batch-size", type=int, default=BenchConfig.batch_size)
    parser.add_argument("--seq-len", type=int, default=BenchConfig.seq_len)
    parser.add_argument("--repeats", type=int, default=BenchConfig.repeats)
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument(
        "--dtype", choices=["auto", "float32", "bfloat16", "float16"], default="auto"
    )
    parser.add_argument("--lr", type=float, default=BenchConfig.lr)
    parser.add_argument("--eps", type=float, default=BenchConfig.eps)
    parser.add_argument("--seed", type=int, default=BenchConfig.seed)
    parser.add_argument(
        "--optimizer",
        default=TRAINER_OPTIMIZER,
        help="the MeZO optimizer measured, as module:Class (default: the trainer's)",
    )
    parser.add_argument("--eval-examples", type=int, default=BenchConfig.eval_examples)
    parser.add_argument("--skip-memory", action="store_true", help="no peak-memory processes")
    parser.add_argument("--skip-eval", action="store_true", help="no evaluation throughput")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    parser.add_argument("--probe", choices=PROBES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for name in ("batch_size", "seq_len", "repeats", "eval_examples"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def config_from(args: argparse.Namespace) -> BenchConfig:
    return BenchConfig(
        model=args.model,
        tiny=args.tiny,
        batch_size=args.batch_size,
        seq_len=args.seq_len,
        repeats=args.repeats,
        device=args.device,
        dtype=args.dtype,
        lr=args.lr,
        eps=args.eps,
        seed=args.seed,
        optimizer=args.optimizer,
        eval_examples=args.eval_examples,
        skip_memory=args.skip_memory,
        skip_eval=args.skip_eval,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    config = config_from(args)
    try:
        if args.probe:
            print(json.dumps({"peak_bytes": run_probe(args.probe, args.model, config)}))
            return 0
        result = run_benchmark(config)
    except ImportError as err:
        print(f"error: a part the benchmark measures is missing: {err}", file=sys.stderr)
        return 1
    except (BenchError, OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(render(result))
    if args.json:
        args.json.write_text(json.dumps(asdict(result), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    sys.exit(main())
