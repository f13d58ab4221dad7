"""What the benchmark runs: the trainer's model loading, task batches and loss."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from zo_sweep.data import load_splits
from zo_sweep.data.tasks import TaskSpec
from zo_sweep.random_llama import build_random_llama
from zo_sweep.train.model import load_model, load_run_model, pick_device, pick_dtype
from zo_sweep.train.scoring import Encoded, collate, encode, training_loss
from zo_sweep.train.settings import TrainSettings

EMBEDDED_MODEL = "smollm2_135m"
TINY_SHAPE = {"hidden": 64, "layers": 2, "heads": 4, "kv_heads": 2, "intermediate": 128}
STEP_TASKS = ("sst2", "copa")  # single-token verbalizers; sentence-long candidates
EVAL_TASKS = {"sst2": "single", "copa": "multi", "arcc_cloze": "multi"}


@dataclass(frozen=True)
class BenchConfig:
    model: str = EMBEDDED_MODEL
    tiny: bool = False
    batch_size: int = 16
    rounds: int = 5
    device: str = "auto"
    dtype: str = "auto"
    lr: float = 1e-6
    eps: float = 1e-3
    eval_examples: int = 32
    eval_batch_size: int | None = None  # examples per evaluation batch; None: the trainer's
    restore_steps: int = 200
    kept_steps: int = 100
    seed: int = 0
    skip: tuple[str, ...] = field(default_factory=tuple)  # parts left out: memory, startup, ...

    @property
    def eval_bs(self) -> int:
        return self.eval_batch_size or self.train_config().eval_bs

    def train_config(self, **settings) -> TrainSettings:
        """The trainer's settings for a step of this benchmark."""
        base = {"lr": self.lr, "eps": self.eps, "bs": self.batch_size, "seed": self.seed,
                "device": self.device, "dtype": self.dtype}  # fmt: skip
        return TrainSettings(**{**base, **settings})

    @property
    def half(self) -> bool:
        """Whether the forward runs in bf16 or fp16 (where MeZO's two weight options differ)."""
        return pick_dtype(self.dtype, pick_device(self.device)) != torch.float32


@dataclass(frozen=True)
class TaskBatch:
    task: str
    spec: TaskSpec
    items: list[Encoded]

    @property
    def objective(self) -> str:
        return self.spec.train_objective


def model_path(config: BenchConfig, scratch: Path) -> str:
    if config.tiny:
        return str(build_random_llama(scratch / "tiny_llama", **TINY_SHAPE))
    return config.model


def load(path: str, config: BenchConfig, **settings):
    """The trainer's model as a run with these settings loads it (its device, dtype, where its
    trainable weights live, LoRA), in eval mode as MeZO runs it."""
    run = config.train_config(model=path, lora_dropout=0.0, **settings)
    model, tokenizer = load_run_model(run, pick_device(run.device))
    model.eval()
    return model, tokenizer


def load_inference(path: str, config: BenchConfig, dtype: str | None = None):
    """The model as inference holds it: every weight in the forward's dtype."""
    model, tokenizer = load_model(path, dtype or config.dtype, config.device, masters=False)
    model.eval()
    return model, tokenizer


def task_batch(tokenizer, task: str, size: int, seed: int) -> TaskBatch:
    """A training batch of the task's own example data, encoded as the trainer encodes it."""
    splits = load_splits(task, num_train=size, num_dev=1, num_eval=1, seed=seed)
    return TaskBatch(task, splits.task, encode(tokenizer, splits.train[:size]))


def dev_items(tokenizer, task: str, count: int, seed: int) -> tuple[TaskSpec, list[Encoded]]:
    splits = load_splits(task, num_train=1, num_dev=count, num_eval=1, seed=seed)
    return splits.task, encode(tokenizer, splits.dev)


def loss_closure(model, batch: TaskBatch, pad_id: int) -> Callable[[], torch.Tensor]:
    """The trainer's loss on the batch (logits only at candidate positions), as MeZO's forward."""
    device = next(model.parameters()).device
    collated = collate(batch.items, pad_id, device)

    @torch.inference_mode()
    def loss() -> torch.Tensor:
        return training_loss(model, collated, batch.objective)

    return loss
