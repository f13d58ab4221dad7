"""`debug=fast`: a few steps on a few examples, one job at a time, verbose, apart from real
studies, instead of retyping `steps=10 bs=8 num_train=64 ...` (lightning-hydra-template's
`debug=` group)."""

from __future__ import annotations

import json
from pathlib import Path

from helpers.sweep import job_results, run_sweep
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from zo_sweep import CONF_DIR, records
from zo_sweep.jobdir.schema import register_schema
from zo_sweep.resolvers import register_resolvers

register_resolvers()
register_schema()

FAST = {"steps": 10, "bs": 8, "num_train": 64, "num_dev": 16, "num_eval": 16, "eval_steps": 5,
        "log_steps": 1, "purpose": "debug"}  # fmt: skip


def test_debug_fast_sets_a_tiny_run_and_the_command_line_still_wins() -> None:
    for method in ("zo", "fo_lora"):  # over the method's own bs, steps and eval_steps
        config = _composed(f"method={method}", "debug=fast")
        assert {key: config[key] for key in FAST} == FAST
        assert config.hydra.launcher._target_.endswith(".BasicLauncher")  # one job at a time
        assert config.hydra.verbose == "zo_sweep"
    config = _composed("experiment=copa_baselines", "debug=fast", "steps=3", "purpose=mine")
    assert (config.steps, config.purpose, config.num_train) == (3, "mine", 64)
    assert _composed().hydra.verbose is False and _composed().steps != FAST["steps"]


def _composed(*overrides: str) -> DictConfig:
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        return compose("config", overrides=list(overrides), return_hydra_config=True)


def test_a_debug_sweep_runs_one_job_at_a_time_under_purpose_debug(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    done = run_sweep(
        "-m", "debug=fast", f"model.id={tiny_model_dir}", "model.name=tiny", "method=fo_lora",
        "lr=1e-3,1e-4", f"output_root={tmp_path}", timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "2 jobs: 2 ok" in done.stdout
    assert len(job_results(tmp_path / "debug")) == 2
    spans = []
    for result_path in sorted(tmp_path.glob("debug/**/result.json")):
        job = result_path.parent
        result = json.loads(result_path.read_text())
        assert result["steps_done"] == 10 and result["hparams"]["num_train"] == 64
        losses = [line["step"] for line in records.read_metrics(job) if "loss" in line]
        assert losses == list(range(1, 11)), "every step logged"
        started = json.loads((job / "process.json").read_text())["started"]
        spans.append((started, result_path.stat().st_mtime))
    (first_start, first_end), (second_start, _) = sorted(spans)
    assert second_start >= first_end - 1, "the second job started once the first had ended"
