"""The trainer's settings: command-line flags whose defaults come from the old env vars.

`python -m zo_sweep.train --lr 1e-6` and `LR=1e-6 python -m zo_sweep.train` mean the same; a
flag wins over its variable. Every flag's variable is its upper-case name (--eval-steps reads
EVAL_STEPS), so the base scripts in legacy_scripts/ drive the trainer with env vars alone.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass, fields

from zo_sweep.train.errors import ConfigError
from zo_sweep.train.trackers import check_tracker

# A run started without OUTPUT_DIR gets a new folder here, so it never appends to an old run's.
DEFAULT_OUTPUT_ROOT = "outputs/train"


@dataclass(frozen=True)
class TrainConfig:
    model: str = "smollm2_135m"
    model_name: str = ""
    dtype: str = "auto"
    task: str = "sst2"
    task_name: str = ""
    syn_task: str = ""
    eval_task: str = ""
    eval_root: str = ""
    eval_split: str = ""  # validation | test; empty: the task's own
    data_tag: str = ""
    data_kind: str = "original"
    trainer: str = "zo"  # zo (MeZO) | regular (first-order)
    mode: str = "ft"  # ft (all parameters) | lora
    lr: float = 1e-6
    bs: int = 16
    steps: int = 20000
    seed: int = 0
    eps: float = 1e-3
    rank: int = 8
    alpha: float = 16.0
    lora_dropout: float = 0.0
    lora_targets: str = "q_proj,v_proj"
    train: int = 1000
    dev: int = 500
    eval: int = 1000
    eval_steps: int = 0  # 0: evaluate only at the start and at the end
    log_steps: int = 10
    optim: str = "adamw"  # first-order only: adamw | sgd
    wd: float = 0.0
    lr_scheduler: str = "constant"  # constant | linear
    n_perturb: int = 1
    grad_accum: int = 1
    grad_ckpt: bool = False
    train_objective: str = ""  # ce | lm; empty: the task's own
    score: str = "mean"  # mean | sum of the candidate's token log-probabilities
    max_length: int = 512
    eval_bs: int = 16
    device: str = "auto"
    output_dir: str = ""  # empty: a new timestamped folder under outputs/train/
    tracker: str = ""  # none | tensorboard | mlflow
    tracker_dir: str = ""
    tracker_group: str = ""
    tracker_run_name: str = ""

    @property
    def method(self) -> str:
        """The zo_sweep method name: zo, zo_lora, fo_full or fo_lora."""
        if self.trainer == "zo":
            return "zo_lora" if self.mode == "lora" else "zo"
        return "fo_lora" if self.mode == "lora" else "fo_full"

    @property
    def lora(self) -> bool:
        return self.mode == "lora"

    @property
    def targets(self) -> list[str] | str:
        """LoRA target modules; peft's own shorthand `all-linear` passes through as is."""
        if self.lora_targets.strip() == "all-linear":
            return "all-linear"
        return [name.strip() for name in self.lora_targets.split(",") if name.strip()]


CHOICES = {
    "trainer": ("zo", "regular"),
    "mode": ("ft", "lora"),
    "optim": ("adamw", "sgd"),
    "lr_scheduler": ("constant", "linear"),
    "train_objective": ("", "ce", "lm"),
    "eval_split": ("", "validation", "test"),
    "score": ("mean", "sum"),
    "dtype": ("auto", "float32", "bfloat16", "float16"),
}
POSITIVE = ("lr", "bs", "eps", "rank", "alpha", "eval_bs", "max_length", "n_perturb")
# STEPS=0 is a zero-shot run: evaluation only.
NON_NEGATIVE = (
    "steps",
    "train",
    "dev",
    "eval",
    "eval_steps",
    "log_steps",
    "wd",
    "lora_dropout",
    "seed",
)


def parse_args(argv: list[str] | None = None, environ: dict[str, str] | None = None) -> TrainConfig:
    environ = dict(os.environ if environ is None else environ)
    parser = _build_parser()
    values = vars(parser.parse_args(argv))
    for spec in fields(TrainConfig):
        if values[spec.name] is None:
            values[spec.name] = _from_env(spec.name, spec.default, environ)
    config = TrainConfig(**values)
    validate(config)
    return config


# One line of --help per option; the choices come from CHOICES.
HELP = {
    "model": "Hugging Face id, local model folder, or smollm2_135m (the embedded default)",
    "model_name": "short model name for records",
    "dtype": "precision: auto is bf16 on a GPU, fp32 on the CPU",
    "task": "task data folder (its name picks the task) or a task name",
    "task_name": "task name when the folder's name does not say it",
    "syn_task": "second data folder whose train split is mixed in",
    "eval_task": "data folder the test split comes from (default: the task's own folder)",
    "eval_root": "folder of original task folders the test split comes from (synthetic runs)",
    "eval_split": "split the test examples come from: validation or test; empty: the task's",
    "data_tag": "name of the dataset in records (default: from the data folder's path)",
    "data_kind": "original, synthetic or orig_n_syn (recorded)",
    "trainer": "zo (MeZO) or regular (first-order)",
    "mode": "ft (all parameters) or lora (adapters)",
    "lr": "learning rate",
    "bs": "examples per step",
    "steps": "training steps (0: zero-shot evaluation only)",
    "seed": "seed of sampling, batch order and MeZO's noise",
    "eps": "MeZO's perturbation size",
    "rank": "LoRA rank",
    "alpha": "LoRA alpha",
    "lora_dropout": "LoRA dropout",
    "lora_targets": "comma-separated module names for LoRA, or all-linear",
    "train": "train examples sampled",
    "dev": "dev examples sampled",
    "eval": "test examples sampled",
    "eval_steps": "evaluate on dev every this many steps (0: only at the end)",
    "log_steps": "log the mean training loss every this many steps",
    "optim": "first-order optimizer",
    "wd": "weight decay",
    "lr_scheduler": "learning-rate schedule",
    "n_perturb": "MeZO perturbations averaged per step",
    "grad_accum": "first-order micro-batches per step",
    "grad_ckpt": "gradient checkpointing (first-order)",
    "train_objective": "ce (cross-entropy over candidates) or lm; empty: the task's own",
    "score": "candidate score: mean or sum of its token log-probabilities",
    "max_length": "most tokens per sequence; long prompts lose their beginning",
    "eval_bs": "examples per evaluation batch",
    "device": "auto, cpu, cuda or cuda:N",
    "output_dir": "where metrics.jsonl and result.json go",
    "tracker": "experiment tracker to log to live: none, tensorboard or mlflow",
    "tracker_dir": "where the tracker's files go (mlflow: the folder of its sqlite store)",
    "tracker_group": "the tracker's group of runs (default: the method)",
    "tracker_run_name": "the run's name in the tracker (default: the output folder's name)",
}


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m zo_sweep.train",
        description="Fine-tune a causal LM on a task with MeZO, first-order or LoRA. "
        "Every option also reads the env var of its upper-case name (e.g. --lr / LR).",
    )
    for spec in fields(TrainConfig):
        flag = "--" + spec.name.replace("_", "-")
        help_text = f"{HELP[spec.name]} [env {spec.name.upper()}, default {spec.default!r}]"
        if spec.type in ("bool", bool):
            parser.add_argument(flag, type=_parse_bool, default=None, help=help_text)
        else:
            parser.add_argument(flag, type=str, default=None, help=help_text)
    return parser


def _from_env(name: str, default, environ: dict[str, str]):
    raw = environ.get(name.upper())
    return default if raw is None or raw == "" else raw


def _parse_bool(text: str) -> bool:
    lowered = str(text).strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise argparse.ArgumentTypeError(f"not a boolean: {text!r}")


def validate(config: TrainConfig) -> None:
    """Coerce types in place (frozen dataclass: via object.__setattr__) and check ranges."""
    for spec in fields(TrainConfig):
        value = getattr(config, spec.name)
        object.__setattr__(config, spec.name, _coerce(spec.name, value, spec.default))
    for name, allowed in CHOICES.items():
        if getattr(config, name) not in allowed:
            shown = ", ".join(a for a in allowed if a)
            raise ConfigError(f"{name.upper()}={getattr(config, name)!r}: use one of {shown}")
    for name in POSITIVE:
        if getattr(config, name) <= 0:
            raise ConfigError(f"{name.upper()}={getattr(config, name)} must be positive")
    for name in NON_NEGATIVE:
        if getattr(config, name) < 0:
            raise ConfigError(f"{name.upper()}={getattr(config, name)} must not be negative")
    if config.bs % config.grad_accum:
        raise ConfigError(f"BS={config.bs} is not divisible by GRAD_ACCUM={config.grad_accum}")
    if config.lora and not config.targets:
        raise ConfigError("LORA_TARGETS is empty: name the modules that get adapters")
    check_tracker(config.tracker)
    if config.lora_dropout >= 1:
        raise ConfigError(f"LORA_DROPOUT={config.lora_dropout} must be below 1")
    if not config.output_dir:
        stamp = time.strftime("%Y-%m-%d_%H-%M-%S")
        object.__setattr__(config, "output_dir", f"{DEFAULT_OUTPUT_ROOT}/{config.method}-{stamp}")


def _coerce(name: str, value, default):
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        try:
            return _parse_bool(value)
        except argparse.ArgumentTypeError:
            raise ConfigError(f"{name.upper()}={value!r} is not a boolean (use 1 or 0)") from None
    if isinstance(default, (int, float)):
        kind = type(default)
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{name.upper()}={value!r} is not a number") from None
        if kind is int:
            if number != int(number):
                raise ConfigError(f"{name.upper()}={value!r} must be a whole number")
            return int(number)
        return number
    return str(value)
