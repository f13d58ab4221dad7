"""Reading old scripts without running them: zo_sweep.legacy.shell_parse."""

from __future__ import annotations

from pathlib import Path

import pytest
from legacy_support import EXAMPLE_SCRIPTS, MODEL_FOLDERS, REPO_ROOT

from zo_sweep.legacy.shell_parse import parse_script


def write(tmp_path: Path, text: str, name: str = "old.sh") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_every_model_has_example_scripts_and_one_folder_is_complete() -> None:
    counts = {
        folder: len(list((REPO_ROOT / "legacy_scripts" / folder).glob("*.sh")))
        for folder in MODEL_FOLDERS
    }
    assert all(counts.values()), counts
    # 7 task configs x 3 methods x original and synthetic.
    assert counts["Llama-3.2-1B"] == 42


@pytest.mark.parametrize(
    "script", EXAMPLE_SCRIPTS, ids=lambda path: f"{path.parent.name}/{path.name}"
)
def test_every_example_script_parses_into_parallel_runs_of_the_old_grid(script: Path) -> None:
    parsed = parse_script(script)
    assert parsed.problems == []
    lora = "_fo_lora_" in script.name
    assert len(parsed.launches) == (2 * 3 if lora else 4)  # lr x rank, or lr
    model, task, method, data = script.parent.name, None, None, None
    for launch in parsed.launches:
        assert launch.background
        assert launch.script.parent == REPO_ROOT / "legacy_scripts"
        assert {"MODEL", "MODE", "TASK", "LR", "BS", "STEPS", "SEED"} <= set(launch.env)
        out = Path(launch.stdout)
        tag = f"lora_rk{launch.env['RANK']}" if lora else out.parent.name
        assert out.name == f"{launch.env['LR']}_{tag}.out"
        assert launch.stderr == str(out.with_suffix(".err"))
        assert out.parents[4] == REPO_ROOT / "results" and out.parents[3].name == model
        task, method, data = out.parents[2].name, out.parents[1].name, out.parent.name
        assert Path(launch.env["TASK"]) == REPO_ROOT / "zo_sweep" / "example_data" / data / task
    assert method in ("zo", "fo_full", "fo_lora")


def test_environment_replaces_defaults_and_paths_follow_the_data_root() -> None:
    script = REPO_ROOT / "legacy_scripts/Llama-3.2-1B/1_0_mezo_orig_copa.sh"
    parsed = parse_script(
        script, environ={"DATA_ROOT": "/data/Data", "STEPS": "2", "RESULTS": "/r"}
    )
    launch = parsed.launches[0]
    assert launch.env["TASK"] == "/data/Data/original/Copa"
    assert launch.env["STEPS"] == "2"
    assert launch.stdout == "/r/Llama-3.2-1B/Copa/zo/original/1e-6_original.out"
    assert "DATA_ROOT" not in launch.env  # inherited, not passed on by the script


def test_hand_written_constructs(tmp_path: Path) -> None:
    script = write(
        tmp_path,
        """#!/bin/bash
# a comment; MODEL=not-this bash x.sh
HERE=$(cd "$(dirname "$0")" && pwd)   # the script's folder
export MODEL=meta-llama/Llama-3.2-1B SEED
SEED=3
cd "$HERE/sub"
for lr in 1e-6 5e-7; do
  LR=$lr TASK=../Data/original/Copa \\
     BS=16 bash ../base/mezo_finetune_original.sh 1>"out_$lr.txt" 2>&1 &
done
wait
echo 'costs $5'; nohup env EPS=1e-3 bash /abs/mezo_finetune_synthetic.sh &> both.log
""",
    )
    parsed = parse_script(script)
    assert parsed.problems == []
    first, second, third = parsed.launches
    assert first.line == 8 and first.background and not third.background
    assert first.script == tmp_path / "base" / "mezo_finetune_original.sh"
    assert first.env == {
        "MODEL": "meta-llama/Llama-3.2-1B",
        "SEED": "3",
        "LR": "1e-6",
        "TASK": "../Data/original/Copa",
        "BS": "16",
    }
    assert first.cwd == tmp_path / "sub"
    assert second.env["LR"] == "5e-7"
    assert first.stdout == first.stderr == str(tmp_path / "sub" / "out_1e-6.txt")
    assert third.env["EPS"] == "1e-3" and third.stdout == third.stderr == str(
        tmp_path / "sub" / "both.log"
    )


def test_what_cannot_be_read_is_named_with_its_line(tmp_path: Path) -> None:
    script = write(
        tmp_path,
        "LR=1e-6 bash mezo_finetune_original.sh\npython run.py --lr $LR\nTASK=$UNSET/Copa bash x.sh\n",
    )
    messages = [str(problem) for problem in parse_script(script).problems]
    assert messages == [
        f"{script}:2: warning: $LR is not set in the script; read as empty",
        f"{script}:2: warning: unsupported command, not read: python run.py --lr ",
        f"{script}:3: warning: $UNSET is not set in the script; read as empty",
    ]


def test_an_unclosed_quote_is_one_error(tmp_path: Path) -> None:
    script = write(tmp_path, 'LR=1e-6 bash x.sh\nTASK="oops bash y.sh\n')
    parsed = parse_script(script)
    assert parsed.launches == []
    assert [str(problem) for problem in parsed.problems] == [
        f'{script}:2: error: cannot read: line 2: unclosed " quote'
    ]
