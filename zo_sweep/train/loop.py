"""The training loop: sample batches, step, log, evaluate on dev, keep the best state, test it."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from zo_sweep import records
from zo_sweep.data.tasks import TaskSpec
from zo_sweep.train.best_state import BestState
from zo_sweep.train.progress import StepProgress
from zo_sweep.train.scoring import Encoded, evaluate, predict_in_eval_mode
from zo_sweep.train.settings import TrainSettings
from zo_sweep.train.spsa import SPSA
from zo_sweep.train.steppers import Stepper, ZerothOrderStepper, make_stepper
from zo_sweep.train.trajectory import TRAJECTORY_FILE, Trajectory, identity, load_matching, replay


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
    ) -> None:
        self.model, self.tokenizer, self.spec, self.data = model, tokenizer, spec, data
        self.config, self.out_dir = config, out_dir
        self.on_record = on_record  # also gets every metrics line (an experiment tracker)
        self.metric = spec.primary_metric
        self.objective = config.train_objective or spec.train_objective
        self.best = BestState(model, out_dir, in_memory=config.lora)
        self.outcome = Outcome(metric=self.metric)
        self.test_predictions: list[int] = []  # of the last test(): zero-shot, then best state
        self.started = time.perf_counter()
        self.resumed = self._resumable_trajectory()
        if self.resumed is None:
            # metrics.jsonl is appended to as the run goes: one left by an earlier run is stale.
            (out_dir / records.METRICS_FILE).unlink(missing_ok=True)

    def evaluate(self, items: list[Encoded]) -> dict[str, float]:
        return evaluate(
            self.model,
            self.tokenizer,
            items,
            self.spec,
            batch_size=self.config.eval_bs,
            reduction=self.config.score,
        )

    def log(self, record: dict) -> None:
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
        self.test_predictions = predict_in_eval_mode(
            self.model, self.tokenizer, self.data.test, self.config.eval_bs, self.config.score
        )
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
        config = self.config
        if config.steps == 0 or not self.data.train:
            return
        stepper = make_stepper(self.model, config, self.objective, self.tokenizer.pad_token_id)
        stream = batches(self.data.train, min(config.bs, len(self.data.train)), config.seed)
        trajectory = self._trajectory(stepper)
        for _ in range(self.outcome.steps_done):  # a resumed run skips the batches it trained on
            next(stream)
        try:
            self._steps(stepper, stream, self.outcome.steps_done + 1, trajectory)
        finally:
            if trajectory is not None:
                self._save_trajectory(trajectory)

    def _steps(
        self,
        stepper: Stepper,
        stream: Iterator[list[Encoded]],
        first: int,
        trajectory: Trajectory | None,
    ) -> None:
        config = self.config
        losses: list[float] = []
        progress = StepProgress(config.steps, config.method)
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
            if trajectory is not None and step % config.checkpoint_steps == 0:
                self._save_trajectory(trajectory)
        progress.close()
        if self.outcome.steps_done:
            self.outcome.seconds_per_step = self.outcome.train_seconds / self.outcome.steps_done

    def _resumable_trajectory(self) -> Trajectory | None:
        """The trajectory of an earlier, stopped MeZO run in out_dir that this run goes on from."""
        if self.config.trainer != "zo" or self.config.checkpoint_steps == 0:
            return None
        found = load_matching(self.out_dir, self.config)
        if found is None or found.progress.get("status", records.OK) != records.OK:
            return None  # a diverged run is not continued
        return found

    def _trajectory(self, stepper: Stepper) -> Trajectory | None:
        """The trajectory this MeZO run records: a new one, or the one it resumes, replayed."""
        if not isinstance(stepper, ZerothOrderStepper) or self.config.checkpoint_steps == 0:
            return None
        if self.resumed is not None:
            self._replay(stepper.optimizer, self.resumed)
        stepper.trajectory = self.resumed or Trajectory(config=identity(self.config))
        return stepper.trajectory

    def _replay(self, optimizer: SPSA, found: Trajectory) -> None:
        """Rebuild the weights and the outcome of the stopped run's last recorded step."""
        done = found.steps
        best_step = min(int(found.progress.get("best_step", 0)), done)
        # The best state is the weights of its step: replay up to it, keep them, go on.
        replay(optimizer, found, 0, best_step)
        if best_step > 0:
            self.best.save(best_step)
        replay(optimizer, found, best_step, done)
        for name, value in found.progress.items():
            setattr(self.outcome, name, value)
        self.outcome.steps_done = done
        records.keep_metrics_up_to(self.out_dir, done)

    def _save_trajectory(self, trajectory: Trajectory) -> None:
        trajectory.progress = self.outcome.as_dict()
        trajectory.save(self.out_dir / TRAJECTORY_FILE)

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
        if len(self.test_predictions) != len(self.data.test):
            # A run that went on from its trajectory with its best at step 0 never re-ran the
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
