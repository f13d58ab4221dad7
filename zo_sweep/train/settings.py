"""The trainer's settings: one typed schema, from the sweep's command line to the optimizer.

Each field carries, in one place, its default, its environment variable (the old scripts'
interface), one line of help, its rule (a lower bound or a list of choices) and its role:
what it is to a run (ROLES). Everything else is generated from these fields: the sweep
config's types (zo_sweep.jobdir.schema), the environment a job exports, the trainer's flags
and its checks, the hyperparameters a result records, and what makes two runs the same
experiment (zo_sweep.jobdir.identity).

`Hyperparameters` are the sweep config's top-level keys of the same names (`lr=1e-6`);
`RunInputs` come from the chosen config groups (conf/config.yaml `inputs:`); a job writes both,
with the composed `task` and `data` nodes, into its directory as train.yaml.
"""

from __future__ import annotations

import math
import re
from dataclasses import Field, dataclass, field, fields
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from zo_sweep.errors import ConfigError, first_line

# The file a job writes its resolved settings to, and the variable that points the trainer at it.
SETTINGS_FILE = "train.yaml"
SETTINGS_ENV = "TRAIN_CONFIG"
# What torchrun sets in each process it starts. There RANK is the process's rank, so the LoRA
# rank of a run on several ranks comes from train.yaml or --rank, never from RANK.
TORCHRUN_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK")

# What a field is to a run. Training settings and inputs make a run what it is (two runs that
# agree on them are the same experiment); run control and logging never change what it computes.
TRAINING = "training"  # how it trains: the hyperparameters result.json records
INPUT = "input"  # what it trains on and where: model, task, data, device
RUN_CONTROL = "run control"  # where and how the job runs: output folder, GPUs, time limits
LOGGING = "logging"  # where it is logged besides its folder: the experiment tracker
ROLES = (TRAINING, INPUT, RUN_CONTROL, LOGGING)

# MeZO's two ways to hold its weights under a half-precision forward (zo_sweep.train.zo_weights).
INFERENCE, FP32_MASTERS = "inference", "fp32_masters"


def setting(
    default: Any,
    env: str,
    help: str,
    *,
    minimum: float | None = None,
    above: float | None = None,
    below: float | None = None,
    choices: tuple[str, ...] | None = None,
    pattern: str | None = None,
    role: str = TRAINING,
) -> Any:
    """A field with its environment variable, help line, rule and role.

    The rule is a lower bound (`minimum`, or `above` for a strict one), an upper one (`below`),
    a list of `choices`, or a `pattern` the whole value matches (its help line says the forms).
    """
    rule = {
        "minimum": minimum,
        "above": above,
        "below": below,
        "choices": choices,
        "pattern": pattern,
    }
    return field(default=default, metadata={"env": env, "help": help, "role": role, **rule})


def role_of(spec: Field) -> str | None:
    """The role a schema field declares (None for a field that declares none)."""
    return spec.metadata.get("role")


@dataclass
class Hyperparameters:
    """How the trainer trains: the sweep's top-level keys (`lr=1e-6 bs=16`)."""

    lr: float = setting(1e-6, "LR", "learning rate", above=0)
    bs: int = setting(16, "BS", "examples per step", minimum=1)
    steps: int = setting(20000, "STEPS", "training steps (0: zero-shot evaluation only)", minimum=0)
    seed: int = setting(0, "SEED", "seed of sampling, batch order and MeZO's noise", minimum=0)
    eps: float = setting(1e-3, "EPS", "MeZO's perturbation size", above=0)
    rank: int = setting(8, "RANK", "LoRA rank", minimum=1)
    alpha: float = setting(16.0, "ALPHA", "LoRA alpha", above=0)
    lora_dropout: float = setting(0.0, "LORA_DROPOUT", "LoRA dropout", minimum=0, below=1)
    num_train: int = setting(1000, "TRAIN", "train examples sampled", minimum=0)
    # The best step is chosen on dev and tested on test: neither can be empty.
    num_dev: int | None = setting(
        None, "DEV", "dev examples sampled (default: the task's num_dev)", minimum=1
    )
    num_eval: int = setting(1000, "EVAL", "test examples sampled", minimum=1)
    eval_steps: int = setting(
        500, "EVAL_STEPS", "evaluate on dev every this many steps (0: only at the end)", minimum=0
    )
    log_steps: int = setting(10, "LOG_STEPS", "log the mean loss every this many steps", minimum=1)
    optim: str = setting("adamw", "OPTIM", "first-order optimizer", choices=("adamw", "sgd"))
    wd: float = setting(0.0, "WD", "weight decay", minimum=0)
    lr_scheduler: str = setting(
        "constant", "LR_SCHEDULER", "learning-rate schedule", choices=("constant", "linear")
    )
    n_perturb: int = setting(1, "N_PERTURB", "MeZO perturbations averaged per step", minimum=1)
    zo_weights: str = setting(
        INFERENCE,
        "ZO_WEIGHTS",
        "MeZO's trainable weights under a bf16 or fp16 forward: inference (kept in that dtype, "
        "perturbed as each layer runs, updates rounded stochastically) or fp32_masters (fp32 "
        "copies on an exact grid: twice the memory); an fp32 forward keeps fp32 weights",
        choices=(INFERENCE, FP32_MASTERS),
    )
    checkpoint_steps: int = setting(
        500,
        "CHECKPOINT_STEPS",
        "checkpoint every this many steps and on SIGTERM (MeZO: trajectory.npz; first-order: "
        "checkpoint/, removed at the end); 0: never",
        minimum=0,
    )
    grad_accum: int = setting(1, "GRAD_ACCUM", "first-order micro-batches per step", minimum=1)
    grad_ckpt: bool = setting(False, "GRAD_CKPT", "gradient checkpointing (first-order)")
    train_objective: str = setting(
        "",
        "TRAIN_OBJECTIVE",
        "ce (cross-entropy over candidates) or lm; empty: the task's own",
        choices=("", "ce", "lm"),
    )
    score: str = setting(
        "mean",
        "SCORE",
        "candidate score: mean or sum of its token log-probs",
        choices=("mean", "sum"),
    )
    max_length: int = setting(
        512, "MAX_LENGTH", "most tokens per sequence; long prompts lose their start", minimum=1
    )
    eval_bs: int = setting(32, "EVAL_BS", "examples per evaluation batch", minimum=1)
    device: str = setting(
        "auto", "DEVICE", "auto, cpu, cuda or cuda:N", pattern=r"auto|cpu|cuda(:\d+)?", role=INPUT
    )


@dataclass
class RunInputs:
    """What the trainer runs on; in a sweep these come from the config groups."""

    model: str = setting(
        "smollm2_135m",
        "MODEL",
        "Hugging Face id, local model folder, or smollm2_135m",
        pattern=r".*\S.*",  # not blank
        role=INPUT,
    )
    model_name: str = setting("", "MODEL_NAME", "short model name for records", role=INPUT)
    dtype: str = setting(
        "auto",
        "DTYPE",
        "precision: auto is bf16 on a GPU, fp32 on the CPU",
        choices=("auto", "float32", "bfloat16", "float16"),
        role=TRAINING,
    )
    lora_targets: str = setting(
        "q_proj,v_proj",
        "LORA_TARGETS",
        "comma-separated module names for LoRA, or all-linear",
        role=TRAINING,
    )
    task_dir: str = setting(
        "sst2", "TASK", "task data folder (its name picks the task) or name", role=INPUT
    )
    task_name: str = setting(
        "", "TASK_NAME", "task name when the folder's name does not say it", role=INPUT
    )
    syn_task: str | None = setting(
        None, "SYN_TASK", "synthetic data folder mixed into training", role=INPUT
    )
    eval_root: str | None = setting(
        None, "EVAL_ROOT", "folder of original task folders the test split comes from", role=INPUT
    )
    eval_split: str = setting(
        "validation",
        "EVAL_SPLIT",
        "the task file the test examples come from",
        choices=("validation", "test"),
        role=INPUT,
    )
    data_kind: str = setting(
        "original", "DATA_KIND", "original, synthetic or orig_n_syn", role=INPUT
    )
    data_tag: str | None = setting(
        None, "DATA_TAG", "which dataset this is, for the records", role=INPUT
    )
    trainer: str = setting(
        "zo", "TRAINER", "zo (MeZO) or regular (first-order)", choices=("zo", "regular"), role=INPUT
    )
    mode: str = setting(
        "ft", "MODE", "ft (all parameters) or lora", choices=("ft", "lora"), role=INPUT
    )
    output_dir: str = setting(
        "", "OUTPUT_DIR", "where metrics.jsonl and result.json go", role=RUN_CONTROL
    )
    tracker: str | None = setting(
        None,
        "TRACKER",
        "experiment tracker to log to live: none, tensorboard, mlflow or wandb",
        role=LOGGING,
    )
    tracker_dir: str | None = setting(
        None,
        "TRACKER_DIR",
        "where the tracker's files go (mlflow: its sqlite store's folder)",
        role=LOGGING,
    )
    tracker_group: str | None = setting(
        None, "TRACKER_GROUP", "the tracker's group of runs (default: the method)", role=LOGGING
    )
    tracker_run_name: str | None = setting(
        None,
        "TRACKER_RUN_NAME",
        "the run's name in the tracker (default: the output folder's)",
        role=LOGGING,
    )


@dataclass
class TrainSettings(Hyperparameters, RunInputs):
    """Everything one run reads, as train.yaml holds it."""

    # The composed config nodes, whole: a command-line task option reaches the trainer.
    task: Any = field(default=None, metadata={"role": INPUT})
    data: Any = field(default=None, metadata={"role": INPUT})

    @property
    def method(self) -> str:
        """The zo_sweep method name: zo, zo_lora, fo_full or fo_lora."""
        prefix = "zo" if self.trainer == "zo" else "fo"
        suffix = "lora" if self.mode == "lora" else ("full" if prefix == "fo" else "")
        return f"{prefix}_{suffix}".rstrip("_")

    @property
    def lora(self) -> bool:
        return self.mode == "lora"

    @property
    def targets(self) -> list[str] | str:
        """LoRA target modules; peft's own shorthand `all-linear` passes through as is."""
        if self.lora_targets.strip() == "all-linear":
            return "all-linear"
        return [name.strip() for name in self.lora_targets.split(",") if name.strip()]


def setting_fields() -> list[Field]:
    """The fields made by `setting(...)`: each with its env variable, help, rule and role."""
    return [spec for spec in fields(TrainSettings) if "env" in spec.metadata]


def env_fields() -> dict[str, str]:
    """Field name -> environment variable, for every setting the old interface carries."""
    return {spec.name: spec.metadata["env"] for spec in setting_fields()}


def names_with_role(*roles: str) -> tuple[str, ...]:
    """The names of TrainSettings' fields that have one of these roles."""
    return tuple(spec.name for spec in fields(TrainSettings) if role_of(spec) in roles)


def typed_settings(values: dict[str, Any] | DictConfig, label: dict[str, str]) -> TrainSettings:
    """Values (strings from the environment, or typed from YAML) converted and checked.

    `label` names each field the way its source spells it (LR for an env var, lr for YAML),
    so that an error points at what the user typed.
    """
    try:
        merged = OmegaConf.merge(OmegaConf.structured(TrainSettings), values)
    except OmegaConfBaseException as err:
        key = str(err.full_key or "")
        shown = label.get(key, key)
        raise ConfigError(f"{shown}: {first_line(err.msg)}") from None
    settings = OmegaConf.to_object(merged)
    assert isinstance(settings, TrainSettings)
    check(settings, label)
    return settings


def check(settings: TrainSettings, label: dict[str, str] | None = None) -> None:
    """Apply every field's rule, and the rules that join two fields; raise ConfigError."""
    label = label or {}
    for spec in setting_fields():
        value = getattr(settings, spec.name)
        problem = rule_problem(spec.metadata, value)
        if problem:
            raise ConfigError(f"{label.get(spec.name, spec.name)}={value!r}: {problem}")
    if settings.bs % settings.grad_accum:
        bs, accum = label.get("bs", "bs"), label.get("grad_accum", "grad_accum")
        raise ConfigError(f"{bs}={settings.bs} is not divisible by {accum}={settings.grad_accum}")
    from zo_sweep.train.trackers import check_tracker

    check_tracker(settings.tracker)
    if settings.lora and not settings.targets:
        targets = label.get("lora_targets", "lora_targets")
        raise ConfigError(f"{targets} is empty: name the modules that get adapters")


def rule_problem(metadata: Any, value: Any) -> str | None:
    """What is wrong with one value under its field's rule, or None."""
    if value is None:
        return None
    choices = metadata.get("choices")
    if choices is not None and value not in choices:
        return f"use one of {', '.join(c for c in choices if c) or 'nothing'}"
    pattern = metadata.get("pattern")
    if pattern is not None and not re.fullmatch(pattern, str(value)):
        return f"use {metadata.get('help', pattern)}"
    if isinstance(value, float) and not math.isfinite(value):
        return "must be a finite number"
    if metadata.get("minimum") is not None and value < metadata["minimum"]:
        return f"must be >= {metadata['minimum']}"
    if metadata.get("above") is not None and value <= metadata["above"]:
        return f"must be > {metadata['above']}"
    if metadata.get("below") is not None and value >= metadata["below"]:
        return f"must be < {metadata['below']}"
    return None
