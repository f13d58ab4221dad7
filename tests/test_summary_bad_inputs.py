"""Bad inputs to `python -m zo_sweep.summary`: each is one line on stderr and exit code 2, or,
for a job's bad file, a `corrupt` row with one `warning:` line naming the file. Never a
traceback, in any view."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from test_summary_support import ok_result, write_job

from zo_sweep import records
from zo_sweep.summary import load
from zo_sweep.summary.cli import main

PROG = "python -m zo_sweep.summary"
VIEWS = ("runs", "best", "compare", "failures", "progress")


def _directory_for_result(job: Path) -> None:
    (job / records.RESULT_FILE).mkdir()


def _status(value: object) -> Callable[[Path], None]:
    def write(job: Path) -> None:
        records.write_json_atomic(
            job / records.RESULT_FILE, {**ok_result(0.8, 0.7), "status": value}
        )

    return write


def _infinite_dev(job: Path) -> None:
    # Python's json writes (and reads) Infinity; the trainer never does.
    (job / records.RESULT_FILE).write_text(
        json.dumps({**ok_result(0.8, 0.7), "best_dev": float("inf")})
    )


def _text_metric(job: Path) -> None:
    records.write_json_atomic(
        job / records.RESULT_FILE, {**ok_result(0.8, 0.7), "test_at_best": "n/a"}
    )


def _empty_config(job: Path) -> None:
    records.write_json_atomic(job / records.RESULT_FILE, ok_result(0.8, 0.7))
    (job / records.HYDRA_DIR / "config.yaml").write_text("")


def _directories_for_logs(job: Path) -> None:
    records.write_json_atomic(job / records.RESULT_FILE, {"status": "failed"})
    for name in (records.METRICS_FILE, records.STDERR_FILE, records.PROCESS_FILE):
        (job / name).unlink(missing_ok=True)
        (job / name).mkdir()


# A job's bad file -> the word its warning and its row's error carry (None: no warning).
BAD_JOB_FILES = {
    "result.json is a directory": (
        _directory_for_result,
        "unreadable result file (Is a directory)",
    ),
    "status 5": (_status(5), "unknown status 5"),
    "status 'weird'": (_status("weird"), "unknown status 'weird'"),
    "best_dev inf": (_infinite_dev, "best_dev is inf, not a finite number"),
    "test_at_best text": (_text_metric, "test_at_best is 'n/a', not a finite number"),
    "empty config": (_empty_config, "corrupt config file (not a mapping)"),
    "logs are directories": (_directories_for_logs, None),
}


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    """Two good seeds of one configuration."""
    for seed in range(2):
        write_job(tmp_path / "outputs", seed=seed, result=ok_result(0.7, 0.6))
    return tmp_path / "outputs"


@pytest.mark.parametrize("case", BAD_JOB_FILES)
def test_a_bad_job_file_is_a_corrupt_row_in_every_view(
    archive: Path, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    spoil, problem = BAD_JOB_FILES[case]
    job = write_job(archive, seed=2, result=None)
    spoil(job)
    for view in VIEWS:
        code = main([str(archive), "--view", view, "--purpose", "paper", "--format", "json"])
        out, err = capsys.readouterr()
        assert code == 0, f"{view}: {err}"
        warnings = [line for line in err.splitlines() if line.startswith("warning:")]
        if problem is None:
            assert warnings == []
            continue
        assert len(warnings) == 1 and str(job) in warnings[0] and problem in warnings[0]
        rows = json.loads(out)
        if view in ("runs", "failures", "progress"):
            key, state = ("job", "state") if view == "progress" else ("path", "status")
            [row] = [row for row in rows if row[key] in (str(job), job.name)]
            assert row[state] == "corrupt"
    # The good seeds still count, and the bad job never does.
    best = load(archive).pipe(lambda frame: frame[frame["status"] == "ok"])
    assert len(best) == 2


def test_a_job_without_a_readable_config_keeps_the_purpose_of_its_folder(archive: Path) -> None:
    """After a disk-full run such rows had no purpose, and `--purpose` hid them."""
    job = write_job(archive, seed=2, result=None)
    _empty_config(job)
    with pytest.warns(UserWarning):
        frame = load(archive)
    row = frame[frame["path"] == str(job)].iloc[0]
    assert (
        row["purpose"] == "paper" and row["status"] == "corrupt" and "config.yaml" in row["error"]
    )
    single_run = archive / "paper" / "llama1b" / "copa_zo_original" / "2024-07-02_08-30-00"
    single_run.parent.mkdir(parents=True)
    write_job(archive, seed=3, result=None).rename(single_run)
    (single_run / records.HYDRA_DIR / "config.yaml").write_text("[")
    with pytest.warns(UserWarning):
        frame = load(single_run)
    assert frame.loc[0, "purpose"] == "paper"


# Command lines that are mistakes: (arguments after the archive, words of the one line).
BAD_COMMAND_LINES = {
    "--view bogus": (["--view", "bogus"], "argument --view: invalid choice: 'bogus'"),
    "--format bogus": (["--format", "bogus"], "argument --format: invalid choice"),
    "--plot /proc/nope": (["--plot", "/proc/nope"], "--plot: cannot create the folder /proc/nope"),
    "--since not-a-date": (["--since", "not-a-date"], "--since: not a date"),
    "--export bogus": (["--export", "bogus", "x"], "--export: unknown tracker 'bogus'"),
    "unknown option": (["--bogus"], "unrecognized arguments: --bogus"),
}


def run_cli(argv: list[str]) -> int:
    """main() as the module runs it: argparse's own mistakes end in SystemExit."""
    try:
        return main(argv)
    except SystemExit as stop:
        return int(stop.code or 0)


@pytest.mark.parametrize("case", BAD_COMMAND_LINES)
def test_a_mistake_on_the_command_line_is_one_line_and_exit_2(
    archive: Path, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    arguments, words = BAD_COMMAND_LINES[case]
    code = run_cli([str(archive), *arguments])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert err.startswith(f"{PROG}: error: ") and words in err


def test_paths_that_are_no_folder_of_jobs_are_one_line(
    archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a_file = tmp_path / "results.csv"
    a_file.write_text("x\n")
    for where, words in ((a_file, "not a directory"), (tmp_path / "nowhere", "no such directory")):
        assert run_cli([str(where)]) == 2
        out, err = capsys.readouterr()
        assert out == "" and err.count("\n") == 1 and words in err and str(where) in err


def test_no_traceback_as_a_user_runs_it(archive: Path) -> None:
    """The module as a user runs it: a job's bad file and a bad option, no traceback."""
    job = write_job(archive, seed=2, result=None)
    _directory_for_result(job)
    for arguments, code in (([], 0), (["--view", "bogus"], 2), (["--plot", "/proc/nope"], 2)):
        done = subprocess.run(
            [sys.executable, "-m", "zo_sweep.summary", str(archive), *arguments],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == code and "Traceback" not in done.stderr, done.stderr
        assert len(done.stderr.splitlines()) == 1, done.stderr
