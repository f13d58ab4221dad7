"""The training loop: sample batches, step, log, evaluate on dev, keep the best state, test it.

On N ranks every rank runs the loop on the same global batches (a stepper takes its rank's
share), evaluates its share of each split, and takes every decision alike; rank 0 alone
writes. A run checkpoints every `checkpoint_steps` and when it is stopped, and goes on from
the checkpoint it finds in its directory (resumption.py).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from zo_sweep import records
from zo_sweep.data.tasks import TaskSpec
from zo_sweep.train.best_state import BestState
from zo_sweep.train.distributed import Ranks
from zo_sweep.train.preemption import SIGTERM, Terminated
from zo_sweep.train.progress import StepProgress
from zo_sweep.train.resumption import Restored, open_checkpoints
from zo_sweep.train.scoring import Encoded, predict_in_eval_mode
from zo_sweep.train.settings import TrainSettings
from zo_sweep.train.sharded_eval import predict_on_ranks
from zo_sweep.train.sharding import is_sharded
from zo_sweep.train.steppers import Stepper, make_stepper


@dataclass
class Outcome:
    """What a run reached; becomes the metrics part of result.json."""

    status: str = records.OK
    metric: str = "accuracy"
    zero_shot_dev: float | None = None
    zero_shot_test: float | None = None
    final_dev: float | None = None
    best_dev: float | None = None
    best_step: int = 0
    test_at_best: float | None = None
    dev_metrics: dict = field(default_factory=dict)
    test_metrics: dict = field(default_factory=dict)
    steps_done: int = 0
    train_seconds: float = 0.0  # time in training steps only, evaluations excluded
    seconds_per_step: float | None = None

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class EncodedSplits:
    train: list[Encoded]
    dev: list[Encoded]
    test: list[Encoded]


def batches(items: Sequence[Encoded], size: int, seed: int) -> Iterator[list[Encoded]]:
    """Endless batches, reshuffled each epoch by a generator seeded with the run's seed."""
    generator = torch.Generator().manual_seed(seed)
    while True:
        order = torch.randperm(len(items), generator=generator).tolist()
        for start in range(0, len(order) - size + 1, size) if len(order) >= size else [0]:
            yield [items[i] for i in order[start : start + size]]


def learning_rate(config: TrainSettings, step: int) -> float:
    if config.lr_scheduler == "linear":
        return config.lr * max(0.0, 1.0 - (step - 1) / config.steps)
    return config.lr


class Run:
    """One training run, writing metrics.jsonl into `out_dir` as it goes."""

    def __init__(
        self,
        model,
        tokenizer,
        spec: TaskSpec,
        data: EncodedSplits,
        config: TrainSettings,
        out_dir: Path,
        on_record: Callable[[dict], None] | None = None,
        ranks: Ranks | None = None,
    ) -> None:
        self.model, self.tokenizer, self.spec, self.data = model, tokenizer, spec, data
        self.config, self.out_dir = config, out_dir
        self.on_record = on_record  # also gets every metrics line (an experiment tracker)
        self.ranks = ranks or Ranks()
        self.metric = spec.primary_metric
        self.objective = config.train_objective or spec.train_objective
        self.best = BestState(model, out_dir, in_memory=config.lora, ranks=self.ranks)
        self.outcome = Outcome(metric=self.metric)
        self.test_predictions: list[int] = []  # of the last test(): zero-shot, then best state
        self.started = time.perf_counter()
        self.checkpoints = open_checkpoints(config, out_dir, self.ranks)
        # What the run goes on from: a stopped run's trajectory or saved state, or None.
        self.resumed = self.checkpoints.earlier if self.checkpoints is not None else None
        if self.resumed is None and self.ranks.main:
            # metrics.jsonl is appended to as the run goes: one left by an earlier run is stale.
            (out_dir / records.METRICS_FILE).unlink(missing_ok=True)

    def predict(self, items: list[Encoded]) -> list[int]:
        """Each item's predicted candidate, dropout off; the same on every rank."""
        config, pad_id = self.config, self.tokenizer.pad_token_id
        if is_sharded(self.model):
            return predict_on_ranks(
                self.model, items, pad_id, config.eval_bs, self.ranks, config.score
            )
        return predict_in_eval_mode(self.model, self.tokenizer, items, config.eval_bs, config.score)

    def evaluate(self, items: list[Encoded]) -> dict[str, float]:
        return self.spec.compute_metrics(self.predict(items), [item.label for item in items])

    def log(self, record: dict) -> None:
        if not self.ranks.main:
            return
        record["seconds"] = round(time.perf_counter() - self.started, 3)
        records.append_metrics(self.out_dir, record)
        if self.on_record is not None:
            self.on_record(record)

    def run(self) -> Outcome:
        if self.resumed is None:
            self._zero_shot()
        try:
            self._train()
            self._test_best()
        finally:
            self.best.discard()
        return self.outcome

    def test(self) -> dict[str, float]:
        """Test metrics of the live model; its predictions are kept for predictions.jsonl."""
        self.test_predictions = self.predict(self.data.test)
        labels = [item.label for item in self.data.test]
        return self.spec.compute_metrics(self.test_predictions, labels)

    def _zero_shot(self) -> None:
        dev = self.evaluate(self.data.dev)
        test = self.test()
        score = dev[self.metric]
        self.outcome.zero_shot_dev = self.outcome.best_dev = self.outcome.final_dev = score
        self.outcome.zero_shot_test = test[self.metric]
        self.outcome.dev_metrics, self.outcome.test_metrics = dev, test
        self.log({"step": 0, **_prefixed("dev", dev), **_prefixed("test", test)})

    def _train(self) -> None:
        config, checkpoints = self.config, self.checkpoints
        if config.steps == 0 or not self.data.train:
            return
        pad_id = self.tokenizer.pad_token_id
        stepper = make_stepper(self.model, config, self.objective, pad_id, self.ranks)
        stream = batches(self.data.train, min(config.bs, len(self.data.train)), config.seed)
        losses: list[float] = []
        restored = checkpoints.restore(stepper, self.best) if checkpoints else None
        if restored is not None:
            self._take_progress(restored)
            losses = list(restored.pending_losses)
        for _ in range(self.outcome.steps_done):  # a resumed run skips the batches it trained on
            next(stream)
        stoppable = checkpoints is not None and checkpoints.stoppable
        finished = False
        try:
            with SIGTERM.deferred() if stoppable else contextlib.nullcontext():
                self._steps(stepper, stream, self.outcome.steps_done + 1, losses, stoppable)
            finished = True
        finally:
            if checkpoints is not None:
                checkpoints.close(self.outcome.as_dict(), finished=finished)

    def _steps(
        self,
        stepper: Stepper,
        stream: Iterator[list[Encoded]],
        first: int,
        losses: list[float],
        stoppable: bool,
    ) -> None:
        """Steps `first`..`steps`; `stoppable`: SIGTERM ends the run after a step, saved."""
        config = self.config
        progress = StepProgress(config.steps, config.method, quiet=not self.ranks.main)
        for step in range(first, config.steps + 1):
            lr = learning_rate(config, step)
            stepper.set_lr(lr)
            started = time.perf_counter()
            loss = stepper.step(next(stream), step)
            self.outcome.train_seconds += time.perf_counter() - started
            self.outcome.steps_done = step
            if not math.isfinite(loss):
                self.log({"step": step, "loss": None, "lr": lr})
                self.outcome.status = records.DIVERGED
                break
            losses.append(loss)
            mean_loss = None
            if step % config.log_steps == 0 or step == config.steps:
                mean_loss = sum(losses) / len(losses)
                self.log({"step": step, "loss": mean_loss, "lr": lr})
                losses = []
            progress.update(step, mean_loss)
            if step == config.steps or (config.eval_steps and step % config.eval_steps == 0):
                self._evaluate_dev(step)
            # After the last step the run is as good as done: it finishes instead.
            if stoppable and step < config.steps and SIGTERM.stop_agreed(self.ranks):
                self._save(step, losses)
                raise Terminated
            if self.checkpoints is not None and step % config.checkpoint_steps == 0:
                self._save(step, losses)
        progress.close()
        if self.outcome.steps_done:
            self.outcome.seconds_per_step = self.outcome.train_seconds / self.outcome.steps_done

    def _save(self, step: int, pending_losses: list[float]) -> None:
        """Checkpoint after `step`; after the last step the run's own records follow."""
        if self.checkpoints is not None and step < self.config.steps:
            self.checkpoints.save(self.outcome.as_dict(), pending_losses)

    def _take_progress(self, restored: Restored) -> None:
        """The outcome of a stopped run at its last checkpointed step, and its curve up to it."""
        for name, value in restored.outcome.items():
            setattr(self.outcome, name, value)
        self.outcome.steps_done = restored.step
        if self.ranks.main:
            records.keep_metrics_up_to(self.out_dir, restored.step)

    def _evaluate_dev(self, step: int) -> None:
        dev = self.evaluate(self.data.dev)
        self.outcome.final_dev = dev[self.metric]
        self.log({"step": step, **_prefixed("dev", dev)})
        if dev[self.metric] > self.outcome.best_dev:
            self.outcome.best_dev, self.outcome.best_step = dev[self.metric], step
            self.outcome.dev_metrics = dev
            # After the last step the live weights are the best state: no copy needed.
            if step < self.config.steps:
                self.best.save(step)

    def _test_best(self) -> None:
        """Test the best dev state; the zero-shot test already covers a best step of 0."""
        if self.outcome.best_step == 0:
            self.outcome.test_at_best = self.outcome.zero_shot_test
        else:
            if (
                self.outcome.best_step != self.outcome.steps_done
                or self.outcome.status != records.OK
            ):
                self.best.restore()
            self.outcome.test_metrics = self.test()
            self.outcome.test_at_best = self.outcome.test_metrics[self.metric]
        if len(self.test_predictions) != len(self.data.test) or not self.ranks.main:
            # A run that went on from its checkpoint with its best at step 0 never re-ran the
            # zero-shot test: no per-example record rather than a wrong one.
            return
        records.write_predictions(
            self.out_dir,
            (
                {"id": item.id, "prediction": prediction, "gold": item.label}
                for item, prediction in zip(self.data.test, self.test_predictions, strict=True)
            ),
        )


def _prefixed(prefix: str, metrics: dict[str, float]) -> dict[str, float]:
    return {f"{prefix}_{name}": value for name, value in metrics.items()}
