"""The loop keeps the best dev state and tests that state, not the last one."""

from __future__ import annotations

import json

import pytest

from zo_sweep.data.tasks import Example, load_task_spec
from zo_sweep.train.loop import EncodedSplits, Run
from zo_sweep.train.model import add_lora, load_model
from zo_sweep.train.scoring import encode
from zo_sweep.train.settings import TrainSettings

EXAMPLES = [
    Example(f"The film was {word}. It was", [" bad", " good"], label)
    for word, label in [("awful", 0), ("lovely", 1), ("dull", 0), ("great", 1)] * 2
]


def weight_sum(model) -> float:
    return float(sum(p.detach().double().sum() for p in model.parameters()))


@pytest.mark.parametrize("mode", ["ft", "lora"])
def test_test_metrics_come_from_the_best_dev_state(tiny_model_dir, tmp_path, mode) -> None:
    model, tokenizer = load_model(str(tiny_model_dir))
    if mode == "lora":
        model = add_lora(model, rank=2, alpha=4, dropout=0.0, targets=["q_proj", "v_proj"])
    items = encode(tokenizer, EXAMPLES)
    config = TrainSettings(
        trainer="regular",
        mode=mode,
        optim="sgd",
        lr=0.5,
        bs=4,
        steps=6,
        eval_steps=2,
        output_dir=str(tmp_path),
    )
    run = Run(
        model,
        tokenizer,
        load_task_spec("sst2"),
        EncodedSplits(items, items, items),
        config,
        tmp_path,
    )
    dev_scores = iter([0.5, 0.6, 0.9, 0.7])  # zero-shot, steps 2, 4, 6: the best is step 4
    seen: dict[str, list[float]] = {"dev": [], "test": []}

    def fake_evaluate(split) -> dict[str, float]:
        seen["dev"].append(weight_sum(model))
        return {"accuracy": next(dev_scores)}

    def fake_test() -> dict[str, float]:
        seen["test"].append(weight_sum(model))
        run.test_predictions = [len(seen["test"]) % 2] * len(items)  # 1 zero-shot, 0 at best
        return {"accuracy": 0.25}

    run.evaluate, run.test = fake_evaluate, fake_test
    outcome = run.run()
    assert (outcome.best_step, outcome.best_dev, outcome.final_dev) == (4, 0.9, 0.7)
    assert outcome.test_at_best == 0.25 and len(seen["test"]) == 2
    # The weights tested at the end are those of step 4, not those of step 6.
    assert seen["test"][-1] == pytest.approx(seen["dev"][2], abs=1e-9)
    assert seen["test"][-1] != pytest.approx(seen["dev"][3], abs=1e-6)
    # predictions.jsonl holds the predictions of the best state, one line per test example.
    lines = (tmp_path / "predictions.jsonl").read_text().splitlines()
    assert len(lines) == len(items)
    assert all(json.loads(line)["prediction"] == 0 for line in lines)
    assert not list(tmp_path.glob("best_state*"))
