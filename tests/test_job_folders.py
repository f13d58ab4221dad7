"""Every job gets a folder of its own inside output_root, whatever the values say."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from helpers.sweep import REPO_ROOT, run_sweep, write_probe

from zo_sweep.sweep.folders import MAX_LEAF_BYTES, claim_fresh_folder, name_problem, safe_leaf

EXAMPLE_SST2 = REPO_ROOT / "zo_sweep" / "example_data" / "original" / "SST-2"


def _results(root: Path) -> list[dict]:
    return [json.loads(path.read_text()) for path in sorted(root.rglob("result.json"))]


def _data_root(folder: Path) -> Path:
    shutil.copytree(EXAMPLE_SST2, folder / "SST-2")
    return folder


def test_sweep_over_two_data_roots_and_two_lrs_leaves_four_records(tmp_path: Path) -> None:
    probe = write_probe(tmp_path / "probe")
    roots = [_data_root(tmp_path / name) for name in ("A", "B")]
    done = run_sweep(
        "-m", f"data.root={roots[0]},{roots[1]}", "lr=1e-6,2e-6", f"method.script={probe}",
        f"output_root={tmp_path / 'out'}",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "4 jobs: 4 ok" in done.stdout
    snapshots = sorted((tmp_path / "out").rglob(".hydra/config.yaml"))
    assert len(snapshots) == 4 and len(_results(tmp_path / "out")) == 4
    # Each folder's snapshot is its own job's: every (root, lr) pair appears once.
    pairs = set()
    for snapshot in snapshots:
        text = snapshot.read_text()
        root = next(str(r) for r in roots if f"root: {r}\n" in text)
        lr = next(v for v in ("1.0e-06", "2.0e-06") if f"lr: {v}" in text)
        pairs.add((root, lr))
    assert len(pairs) == 4


@pytest.mark.parametrize(
    "sweep", [["lr=1e-6,1e-6"], ["lr=0.000001,1.0e-6"]], ids=["same value twice", "same number"]
)
def test_jobs_whose_keys_read_the_same_get_folders_of_their_own(
    tmp_path: Path, sweep: list[str]
) -> None:
    probe = write_probe(tmp_path / "probe")
    done = run_sweep("-m", *sweep, f"method.script={probe}", f"output_root={tmp_path}")
    assert done.returncode == 0, done.stderr
    assert "2 jobs: 2 ok" in done.stdout
    names = sorted(path.parent.name for path in tmp_path.rglob("result.json"))
    assert names == ["lr=1e-06", "lr=1e-06,job1"]


def test_jobs_differing_only_in_their_script_each_keep_a_record(tmp_path: Path) -> None:
    first, second = write_probe(tmp_path / "a"), write_probe(tmp_path / "b")
    done = run_sweep("-m", f"method.script={first},{second}", f"output_root={tmp_path / 'out'}")
    assert done.returncode == 0, done.stderr
    commands = sorted(result["command"] for result in _results(tmp_path / "out"))
    assert [command.split()[-1] for command in commands] == sorted([str(first), str(second)])


def test_a_sweep_started_in_the_same_second_as_another_gets_its_own_folder(
    tmp_path: Path,
) -> None:
    probe = write_probe(tmp_path / "probe")
    # Another sweep of this purpose holds a job in the folder of each of the coming seconds.
    start = datetime.now()
    taken = [
        tmp_path / "default" / (start + timedelta(seconds=s)).strftime("%Y-%m-%d_%H-%M-%S")
        for s in range(60)
    ]
    for folder in taken:
        (folder / "other_job" / ".hydra").mkdir(parents=True)
        (folder / "other_job" / "command.sh").write_text("# another sweep's job\n")
    done = run_sweep("-m", "lr=1e-6,2e-6", f"method.script={probe}", f"output_root={tmp_path}")
    assert done.returncode == 0, done.stderr
    tally = next(line for line in done.stdout.splitlines() if " jobs: " in line)
    assert tally.startswith("2 jobs: 2 ok (") and tally.endswith("_2)"), tally
    sweep_dir = Path(tally.split("(", 1)[1].rstrip(")"))
    assert sweep_dir.with_name(sweep_dir.name.removesuffix("_2")) in taken
    assert len(list(sweep_dir.rglob("result.json"))) == 2
    assert all(not list(folder.rglob("result.json")) for folder in taken)


BAD_NAMES = {
    "purpose": ("purpose=../x", "purpose='../x': must be one folder name"),
    "model name": ("model.name=../../../m", "one folder name (no '/'"),
}


@pytest.mark.parametrize("override,message", BAD_NAMES.values(), ids=BAD_NAMES.keys())
def test_a_folder_name_from_the_config_cannot_leave_output_root(
    tmp_path: Path, override: str, message: str
) -> None:
    probe = write_probe(tmp_path / "probe")
    root = tmp_path / "a" / "b" / "out"
    root.mkdir(parents=True)
    done = run_sweep("-m", "lr=1e-6", override, f"method.script={probe}", f"output_root={root}")
    assert done.returncode == 2
    assert done.stderr.strip().startswith("error: ") and message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    written = [p for p in tmp_path.rglob("*") if p.is_file() and "probe" not in p.parts]
    assert written == []


def test_a_300_character_value_gives_a_short_folder_name(tmp_path: Path) -> None:
    probe = write_probe(tmp_path / "probe")
    long_value = "v" * 300
    done = run_sweep(
        "-m", "lr=1e-6", f"+extra_env.NOTE={long_value}", f"method.script={probe}",
        f"output_root={tmp_path}",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (result_path,) = tmp_path.rglob("result.json")
    assert len(result_path.parent.name.encode()) <= MAX_LEAF_BYTES
    assert f"NOTE={long_value}" in json.loads(result_path.read_text())["command"]


def test_names_that_are_not_one_folder_are_refused() -> None:
    assert name_problem("..") == "must name a folder, not '.' or '..'"
    assert name_problem("/etc") == "must be one folder name (no '/' or '\\')"
    assert name_problem("a\\b") == "must be one folder name (no '/' or '\\')"
    assert name_problem(" ") == "must not be empty"
    assert name_problem("t" * 300) == "longer than 100 characters"
    assert name_problem("lr_study 2") is None


def test_leaf_names_are_one_folder_and_fit_the_file_system() -> None:
    assert safe_leaf("data.root=/a/b,lr=1") == "data.root=%2Fa%2Fb,lr=1"
    assert safe_leaf("..") == "%2E%2E"
    long_a, long_b = safe_leaf("x=" + "a" * 400), safe_leaf("x=" + "a" * 399 + "b")
    assert long_a != long_b and len(long_a.encode()) <= MAX_LEAF_BYTES
    assert len(safe_leaf("x=" + "é" * 300).encode()) <= MAX_LEAF_BYTES


def test_a_taken_folder_is_never_claimed_twice(tmp_path: Path) -> None:
    claimed = [claim_fresh_folder(tmp_path / "sweep") for _ in range(3)]
    assert [path.name for path in claimed] == ["sweep", "sweep_2", "sweep_3"]


def test_jobs_are_named_by_what_varies_within_their_sweep(tmp_path: Path) -> None:
    probe = write_probe(tmp_path / "probe")
    roots = [_data_root(tmp_path / name) for name in ("A", "B")]
    sweeps = {
        "grid": ["method=fo_lora", "lr=1e-4,1e-3", "steps=20", "bs=8"],
        "one job": ["method=fo_lora", "lr=1e-4", "steps=20"],
        "data roots": [f"data.root={roots[0]},{roots[1]}", "lr=1e-4", "steps=20"],
        "one data root": [f"data.root={roots[0]}", "lr=1e-4,1e-3"],
    }
    names = {}
    for label, overrides in sweeps.items():
        out = tmp_path / label.replace(" ", "_")
        done = run_sweep("-m", *overrides, f"method.script={probe}", f"output_root={out}")
        assert done.returncode == 0, done.stderr
        names[label] = sorted(path.parent.name for path in out.rglob("result.json"))
    assert names == {
        "grid": ["lr=0.0001", "lr=0.001"],
        "one job": ["lr=0.0001,steps=20"],  # nothing varies: what it was given names it
        "data roots": ["data=A", "data=B"],
        "one data root": ["lr=0.0001", "lr=0.001"],
    }
