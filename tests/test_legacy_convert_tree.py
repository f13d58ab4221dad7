"""Converting a folder of scripts shaped like the group's `running_scripts/<Model>/`.

The tree holds what their real folders hold beyond the shipped examples: upper-case task
folders, aggregators (`run_all.sh`, `1_copa.sh`, with and without `cd`), a 0-byte script,
a copy-pasted MODEL from another model, absolute cluster paths, odd names (`arccloz`,
`rk8n16n32`, `orig_n_syn`), commented-out lines, CUDA_VISIBLE_DEVICES, and files that are no
scripts at all. Every non-empty script must convert or be reported in one line with its reason.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zo_sweep.legacy.cli import main

REPO_ROOT = Path(__file__).resolve().parents[1]

CLUSTER = "/grand/zo_project/alice"

MEZO = """#!/bin/bash
# MeZO on {folder} ({kind})
export CUDA_VISIBLE_DEVICES=0
BASE={cluster}/running_scripts
TASK={cluster}/Data/{kind}/{folder}
MODEL={model}
for LR in 1e-6 5e-7 2e-7 1e-7; do
  # LR=$LR BS=16 bash $BASE/mezo_finetune_{kind}.sh   (the old BS 16 runs)
  MODEL=$MODEL TASK=$TASK LR=$LR BS=4 STEPS=20000 bash $BASE/mezo_finetune_{kind}.sh \\
    > {cluster}/results/{lr_log} 2>&1 &
done
wait
"""

LORA = """#!/bin/bash
TASK={cluster}/Data/original/{folder}
SYN_TASK={cluster}/Data/synthetic/{folder}
for RANK in 8 16 32; do
  for LR in 1e-4 2e-4; do
    MODEL=meta-llama/Llama-3.2-1B MODE=ft TASK=$TASK SYN_TASK=$SYN_TASK LR=$LR RANK=$RANK \\
      ALPHA=16 BS=4 STEPS=20000 bash fo_lora_finetune_orig_n_syn.sh > ${{LR}}_lora_rk${{RANK}}.out &
  done
done
wait
"""


def script(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def running_scripts(root: Path) -> Path:
    """A `running_scripts/Llama-3.2-1B/` folder shaped like theirs."""
    llama = root / "running_scripts" / "Llama-3.2-1B"
    llama.mkdir(parents=True)
    shared = {"cluster": CLUSTER, "lr_log": "${LR}.out"}
    llama_id = "meta-llama/Llama-3.2-1B"
    script(
        llama,
        "1_0_mezo_orig_copa.sh",
        MEZO.format(folder="Copa", kind="original", model=llama_id, **shared),
    )
    script(
        llama,
        "4_0_mezo_orig_boolq.sh",
        MEZO.format(folder="BOOLQ", kind="original", model=llama_id, **shared),
    )
    script(
        llama,
        "6_0_mezo_syn_arccloz.sh",
        MEZO.format(folder="arccloz", kind="synthetic", model=llama_id, **shared),
    )
    script(
        llama,
        "2_0_mezo_orig_cb.sh",
        MEZO.format(
            folder="CB", kind="original", model="mistralai/Mistral-Nemo-Base-2407", **shared
        ),
    )
    script(llama, "1_2_fo_lora_orig_n_syn_copa_rk8n16n32.sh",
           LORA.format(folder="Copa", cluster=CLUSTER))  # fmt: skip
    script(llama, "run_all.sh", "bash 1_0_mezo_orig_copa.sh\nbash 4_0_mezo_orig_boolq.sh\n")
    script(llama, "run_rest.sh", f"cd {CLUSTER}/running_scripts/Llama-3.2-1B\n"
           "bash 6_0_mezo_syn_arccloz.sh\n# bash 2_0_mezo_orig_cb.sh\n")  # fmt: skip
    script(llama, "1_copa.sh", "cd $(dirname $0)\nbash 1_2_fo_lora_orig_n_syn_copa_rk8n16n32.sh\n")
    script(llama, "7_0_mezo_orig_arcmc.sh", "")
    script(llama, "8_0_mezo_run_py.sh", "python run.py --task Copa --learning_rate 1e-6\n")
    (llama / "9_weights.sh").write_bytes(b"\x7fELF\x00\x01\x02binary")
    script(llama, "10_unclosed.sh", 'TASK="Data/original/Copa\nbash mezo_finetune_original.sh\n')
    return root / "running_scripts"


def convert(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["convert", *args])
    out, err = capsys.readouterr()
    return code, out, err


def sweeps_by_script(out: str) -> dict[str, list[str]]:
    """The stdout of convert as {header line: [commands under it]}."""
    found: dict[str, list[str]] = {}
    header = ""
    for line in out.splitlines():
        if line.startswith("# "):
            header = line
            found[header] = []
        else:
            found[header].append(line)
    return found


def test_every_script_of_a_folder_converts_or_says_why_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = running_scripts(tmp_path)
    code, out, err = convert([str(root), "--map-root", f"{CLUSTER}=/data/alice"], capsys)
    assert code == 1  # some scripts cannot be converted
    folder = root / "Llama-3.2-1B"
    sweeps = sweeps_by_script(out)
    mezo = "method=zo data={kind} data.root=/data/alice/Data/{kind} bs=4 -m "
    lrs = "lr=1e-6,5e-7,2e-7,1e-7"
    assert sweeps[f"# {folder / '4_0_mezo_orig_boolq.sh'} (run by run_all.sh)"] == [
        "python -m zo_sweep model=llama1b task=boolq " + mezo.format(kind="original") + lrs
    ]
    assert sweeps[f"# {folder / '6_0_mezo_syn_arccloz.sh'} (run by run_rest.sh)"] == [
        "python -m zo_sweep model=llama1b task=arcc_cloze " + mezo.format(kind="synthetic") + lrs
    ]
    # Copa and CB: the old base scripts' DEV=100 is the tasks' own num_dev, so it is not shown.
    assert sweeps[f"# {folder / '2_0_mezo_orig_cb.sh'}"] == [
        "python -m zo_sweep model=mistral_nemo task=cb " + mezo.format(kind="original") + lrs
    ]
    # MODE=ft copied into a LoRA script: the LoRA base script forces MODE=lora.
    assert sweeps[
        f"# {folder / '1_2_fo_lora_orig_n_syn_copa_rk8n16n32.sh'} (run by 1_copa.sh)"
    ] == [
        "python -m zo_sweep model=llama1b task=copa method=fo_lora data=orig_n_syn "
        "data.root=/data/alice/Data/original data.synthetic_task=/data/alice/Data/synthetic/Copa "
        "bs=4 steps=20000 -m rank=8,16,32 lr=1e-4,2e-4"
    ]
    assert (
        sweeps[f"# {folder / 'run_all.sh'}: runs 1_0_mezo_orig_copa.sh, 4_0_mezo_orig_boolq.sh"]
        == []
    )
    assert (
        sweeps[f"# {folder / '7_0_mezo_orig_arcmc.sh'}: nothing to convert (an empty file)"] == []
    )
    assert "method.mode" not in out
    # A followed script is shown once, under its aggregator.
    copa = f"# {folder / '1_0_mezo_orig_copa.sh'}"
    assert [header for header in sweeps if header.startswith(copa)] == [
        f"{copa} (run by run_all.sh)"
    ]

    lines = err.splitlines()
    assert lines[-1] == (
        "12 scripts: 5 converted, 4 with notes, 3 not convertible, "
        "1 with nothing to convert, 3 aggregators followed"
    )
    not_convertible = [line for line in lines if line.startswith("not convertible: ")]
    assert not_convertible == [
        f'not convertible: {folder / "10_unclosed.sh"}: cannot read: line 1: unclosed " quote',
        f"not convertible: {folder / '8_0_mezo_run_py.sh'}: no `bash <base>.sh` run found",
        f"not convertible: {folder / '9_weights.sh'}: not a text file (binary data)",
    ]
    cb = folder / "2_0_mezo_orig_cb.sh"
    assert (
        f"{cb}:9: warning: MODEL=mistralai/Mistral-Nemo-Base-2407 but the script is in the "
        "folder Llama-3.2-1B/: converted as MODEL says" in lines
    )
    assert f"{cb}:9: note: CUDA_VISIBLE_DEVICES=0: zo_sweep gives each job a GPU of its own; " \
        "to use only these GPUs add 'gpus=[0]'" in lines  # fmt: skip
    assert "Traceback" not in err


def test_aggregator_runs_scripts_relative_to_its_own_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = running_scripts(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    aggregator = root / "Llama-3.2-1B" / "run_all.sh"
    code, out, err = convert([str(aggregator), "--cwd", str(elsewhere)], capsys)
    assert code == 0, err
    assert len([line for line in out.splitlines() if line.startswith("python")]) == 2
    assert err.splitlines()[-1] == (
        "3 scripts: 2 converted, 2 with notes, 0 not convertible, 1 aggregators followed"
    )


LOOPING_AGGREGATORS = {
    # Skips itself with a test and `&&`, stops at the first failure with `||`.
    "run_all.sh": """#!/bin/bash
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
for script in "$SCRIPT_DIR"/*.sh; do
    [ "$(basename "$script")" == "run_all.sh" ] && continue
    echo "=== $script"
    bash "$script" || exit 1
done
""",
    # The same with `if`, from its own folder, skipping every aggregator by name.
    "run_each.sh": """#!/bin/bash
set -e
cd "$(dirname "$0")"
for script in *.sh; do
    if [[ "$script" == run_* ]] || [ ! -s "$script" ]; then
        continue
    else
        bash "$script"
    fi
done
""",
}


@pytest.mark.parametrize("name", LOOPING_AGGREGATORS)
def test_an_aggregator_looping_over_its_folders_scripts_is_followed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    folder = tmp_path / "Llama-3.2-1B"
    folder.mkdir()
    for copied in ("1_0_mezo_orig_copa.sh", "2_0_mezo_orig_cb.sh"):
        script(folder, copied, (REPO_ROOT / "legacy_scripts" / folder.name / copied).read_text())
    script(folder, "3_0_mezo_orig_rte.sh", "")  # not yet written: skipped by run_each.sh
    aggregator = script(folder, name, LOOPING_AGGREGATORS[name])
    code, out, err = convert([str(aggregator)], capsys)
    assert code == 0, err
    sweeps = sweeps_by_script(out)
    assert [header.split("/")[-1] for header in sweeps] == [
        f"{name}: runs 1_0_mezo_orig_copa.sh, 2_0_mezo_orig_cb.sh"
        + (", 3_0_mezo_orig_rte.sh" if name == "run_all.sh" else ""),
        f"1_0_mezo_orig_copa.sh (run by {name})",
        f"2_0_mezo_orig_cb.sh (run by {name})",
        *([f"3_0_mezo_orig_rte.sh (run by {name}): nothing to convert (an empty file)"]
          if name == "run_all.sh" else []),
    ]  # fmt: skip
    for task, copied in (("copa", "1_0_mezo_orig_copa.sh"), ("cb", "2_0_mezo_orig_cb.sh")):
        (command,) = sweeps[f"# {folder / copied} (run by {name})"]
        assert command.startswith(f"python -m zo_sweep model=llama1b task={task} method=zo ")
    assert "warning" not in err and "error" not in err


def test_a_script_that_runs_itself_is_one_line_not_a_loop(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    aggregator = script(
        tmp_path, "run_all.sh", 'for s in "$(dirname "$0")"/*.sh; do bash "$s"; done\n'
    )
    code, _, err = convert([str(aggregator)], capsys)
    assert code == 1
    assert f"{aggregator}:1: error: runs run_all.sh, which runs this script: not followed " \
        "(bash would never end)" in err.splitlines()  # fmt: skip


def test_the_projects_own_folder_converts_with_exit_code_0(
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = REPO_ROOT / "legacy_scripts"
    code, out, err = convert([str(folder)], capsys)
    assert code == 0, err
    base = "nothing to convert (a base script, which every converted job runs)"
    assert f"# {folder / '_run_trainer.sh'}: {base}" in out.splitlines()
    assert " 0 not convertible, 10 with nothing to convert" in err.splitlines()[-1]


def test_map_root_rewrites_every_path_prefix_and_only_whole_parts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = script(tmp_path, "old.sh",
                 "MODEL=meta-llama/Llama-3.2-1B TASK=/home/bob/Data/original/Copa LR=1e-6 "
                 "WORK=/home/bobby/x bash mezo_finetune_original.sh\n")  # fmt: skip
    code, out, _ = convert([str(old), "--map-root", "/home/bob=/data"], capsys)
    assert code == 0
    command = out.splitlines()[1]
    assert "data.root=/data/Data/original" in command
    assert "+extra_env.WORK=/home/bobby/x" in command
    assert convert([str(old), "--map-root", "nothing"], capsys)[0] == 2


def test_bad_inputs_are_one_line_each(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "dir.sh").mkdir()
    code, out, err = convert([str(tmp_path / "dir.sh")], capsys)
    assert (code, out) == (0, "")
    assert err == "0 scripts: 0 converted, 0 with notes, 0 not convertible\n"
    code, _, err = convert([str(tmp_path / "missing.sh")], capsys)
    assert code == 2 and err.count("\n") == 1


SHELL_WORDS = st.sampled_from([
    "bash", "mezo_finetune_original.sh", "run_all.sh", "TASK=Data/original/BOOLQ", "LR=1e-6",
    "MODE=lora", "for", "in", "do", "done", ";", "&", "&&", "|", "${X:-1}", "$(pwd)", "$(",
    '"', "'", "#", "\\", "\n", "cd", "..", "export", "MODEL=x/y", "CUDA_VISIBLE_DEVICES=0",
    ">", "2>&1", "${", "}", "$0", "wait", "`", "(", ")", "if", "then", "fi", "rk8n16n32",
])  # fmt: skip


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(words=st.lists(SHELL_WORDS, max_size=30), noise=st.binary(max_size=40))
def test_no_input_gives_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], words: list[str], noise: bytes
) -> None:
    text = script(tmp_path, "fuzz.sh", " ".join(words))
    binary = tmp_path / "noise.sh"
    binary.write_bytes(noise)
    script(tmp_path, "run_all.sh", "bash fuzz.sh\nbash run_all.sh\n")
    code, _, err = convert([str(text), str(binary), str(tmp_path / "run_all.sh")], capsys)
    assert code in (0, 1)
    assert re.search(r"^\d+ scripts?: ", err.splitlines()[-1])


def test_shell_options_before_the_script_are_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = script(tmp_path, "old.sh", "TASK=/d/original/SST2 LR=1e-6 bash -x mezo_finetune_original.sh\n"
                 "bash -c 'echo hi'\n")  # fmt: skip
    code, out, err = convert([str(old)], capsys)
    assert code == 0
    assert "task=sst2 method=zo data=original data.root=/d/original" in out
    assert f"{old}:2: warning: unsupported command, not read: bash -c echo hi" in err
