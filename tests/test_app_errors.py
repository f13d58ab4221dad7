"""The corpus of bad inputs to `python -m zo_sweep`: each is one line on stderr, `error: ...`,
exit code 2, before any job starts; never a traceback, a usage text, or a sweep that runs.

Every case runs in this process through the app's entry point, as the command line would (about
a second each); a handful also run as a user runs them, in a process of their own. The machine
seen by the cases has one GPU, 0 (CUDA_VISIBLE_DEVICES), so that `gpus=[0,99]` names one it
lacks wherever the tests run.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.in_process import run_app
from helpers.sweep import run_sweep

from zo_sweep.sweep import plugins, validation

ONE_GPU = {"CUDA_VISIBLE_DEVICES": "0"}

BAD_INPUTS = {
    # Values the schema's types or rules refuse.
    "non-numeric lr": (["lr=abc"], "lr: Value 'abc' of type 'str' could not be converted to Float"),
    "empty lr": (["lr="], "lr: Value '' of type 'str' could not be converted to Float"),
    "negative lr in a sweep": (["-m", "lr=1e-4,-1"], "job lr=-1: lr=-1.0: must be > 0"),
    "a word among a sweep's lrs": (["-m", "lr=1e-4,abc"], "job lr=abc: lr: Value 'abc'"),
    "infinite lr": (["lr=inf"], "lr=inf: must be a finite number"),
    "lr nan": (["lr=nan"], "lr=nan: must be a finite number"),
    "batch size 0": (["bs=0"], "bs=0: must be >= 1"),
    "rank 0 in a sweep": (["-m", "method=fo_lora", "rank=0,4"], "rank=0: must be >= 1"),
    "negative seed": (["seed=-1"], "seed=-1: must be >= 0"),
    "negative steps": (["steps=-5"], "steps=-5: must be >= 0"),
    "eps 0": (["eps=0"], "eps=0.0: must be > 0"),
    "dropout 1": (["lora_dropout=1"], "lora_dropout=1.0: must be < 1"),
    "unknown optimizer": (["optim=sgdx"], "optim='sgdx': use one of adamw, sgd"),
    "unknown schedule": (["lr_scheduler=cosine"], "lr_scheduler='cosine': use one of constant, linear"),
    "unknown objective": (["train_objective=mse"], "train_objective='mse': use one of ce, lm"),
    "unknown score": (["score=max"], "score='max': use one of mean, sum"),
    "max_length 0": (["max_length=0"], "max_length=0: must be >= 1"),
    "eval batch 0": (["eval_bs=0"], "eval_bs=0: must be >= 1"),
    "no perturbation": (["n_perturb=0"], "n_perturb=0: must be >= 1"),
    "negative train size": (["num_train=-1"], "num_train=-1: must be >= 0"),
    "no dev example in a sweep": (["-m", "num_dev=0"], "num_dev=0: must be >= 1"),
    "no test example": (["num_eval=0"], "num_eval=0: must be >= 1"),
    "batch not divisible": (["bs=16", "grad_accum=3"], "bs=16 is not divisible by grad_accum=3"),
    "device tpu": (["device=tpu"], "device='tpu': use auto, cpu, cuda or cuda:N"),
    "device tpu in a sweep": (["-m", "device=tpu"], "device='tpu': use auto, cpu, cuda or cuda:N"),
    "a dtype no model has": (["model.dtype=fp8"], "inputs.dtype='fp8': use one of auto, float32"),
    "empty model id": (["-m", "model.id="], "inputs.model='': use Hugging Face id"),
    "LoRA on no module": (["method=fo_lora", "model.lora_targets="], "inputs.lora_targets is empty"),
    "a bool that is no bool": (["resume=maybe"], "resume: Value 'maybe' is not a valid bool"),
    "unknown tracker": (["tracker=bogus"], "unknown tracker 'bogus' (known: mlflow, none, tensorboard"),
    # Keys nothing reads, options no group has.
    "key nothing reads": (["+learning_rate=1e-6"], "unknown key 'learning_rate': nothing reads it"),
    "misspelt key with +": (["+seeds=1"], "unknown key 'seeds': nothing reads it (did you mean seed?"),
    "unknown key without +": (["learning_rate=1e-6"], "unknown key 'learning_rate': nothing reads it"),
    "misspelt key": (["methd=zo"], "unknown key 'methd': nothing reads it (did you mean method?"),
    "unknown key": (["foo=1"], "unknown key 'foo': nothing reads it"),
    "setting through extra_env": (["+extra_env.WD=0.1"], "extra_env.WD: WD is a trainer setting; set it as wd="),
    "lr through extra_env": (["+extra_env.LR=1"], "extra_env.LR: LR is a trainer setting; set it as lr="),
    "new env variable without +": (["extra_env.WD=0.01"], "add + to add one: +extra_env.WD=0.01"),
    "unknown task option": (["-m", "task=copa,foo"], "unknown task 'foo' (known: arcc_cloze"),
    "unknown model": (["model=nope"], "unknown model 'nope' (known: llama1b"),
    "unknown data kind": (["data=nope"], "unknown data 'nope' (known: orig_n_syn, original, synthetic)"),
    "unknown launcher": (["-m", "hydra/launcher=foo"], "unknown hydra/launcher 'foo' (known: basic, joblib"),
    "unknown sweeper": (["-m", "hydra/sweeper=foo"], "unknown hydra/sweeper 'foo' (known: basic"),
    "unknown search": (["-m", "search=foo"], "unknown search 'foo' (known: optuna, optuna_lora)"),
    # The command line's grammar and flags.
    "unclosed list": (["lr=[1,2"], "cannot read the override 'lr=[1,2': "),
    "unclosed list in a sweep": (["-m", "lr=[1,2"], "cannot read the override 'lr=[1,2': "),
    "an empty choice": (["-m", "lr=choice()"], "cannot read the override 'lr=choice()'"),
    "a newline in purpose": (["purpose=a\nb"], "cannot read the override 'purpose=a\\nb'"),
    "a newline in purpose in a sweep": (["-m", "purpose=a\nb"], "cannot read the override 'purpose=a\\nb'"),
    "an unknown --cfg": (["--cfg", "bogus"], "argument --cfg/-c: invalid choice: 'bogus'"),
    "an unknown flag": (["--bogus"], "unrecognized arguments: --bogus"),
    "the same key twice": (["method=zo", "method=fo_lora"], "method is given 2 times (method=zo, method=fo_lora): give it once"),
    "the same key twice in a sweep": (
        ["-m", "lr=0.01", "lr=0.02,0.03"],
        "lr is given 2 times (lr=0.01, lr=0.02,0.03): give it once, with all its values: lr=0.01,0.02,0.03",
    ),
    "a group twice in a sweep": (["-m", "task=copa", "task=cb"], "task is given 2 times"),
    "a launcher twice": (["-m", "hydra/launcher=joblib", "hydra/launcher=basic"], "hydra/launcher is given 2 times"),
    "a variable twice": (["-m", "+extra_env.A=1", "+extra_env.A=2"], "An item is already at 'extra_env.A'"),
    # Sweeps that cannot run as asked.
    "an empty range": (["-m", "seed=range(0,0)"], "seed=range(0,0) gives no value: the sweep would run no job"),
    "a range that runs backwards": (["-m", "seed=range(5,0)"], "seed=range(5,0) gives no value"),
    "a preset's sweep without -m": (
        ["experiment=copa_baselines"],
        "experiment=copa_baselines sweeps method, seed (hydra.sweeper.params): add -m to run the sweep",
    ),
    "a search without -m": (["search=optuna"], "search=optuna sweeps lr (hydra.sweeper.params): add -m"),
    "joblib with no job at once": (
        ["-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=0"],
        "hydra.launcher.n_jobs=0: use the number of jobs at once (>= 1, or -1: one per core)",
    ),
    "batches of no job": (["-m", "hydra.sweeper.max_batch_size=0"], "hydra.sweeper.max_batch_size=0: use a number of jobs >= 1"),
    "a minimising search": (["-m", "hydra/sweeper=optuna"], "use search=optuna or hydra.sweeper.direction=maximize"),
    # Where jobs would write, what they would run, where.
    "empty output_root": (["output_root="], "output_root='': must name a folder (outputs by default)"),
    "empty output_root in a sweep": (["-m", "output_root="], "output_root='': must name a folder"),
    "blank output_root": (["output_root=' '"], "output_root=' ': must name a folder"),
    "an output_root that cannot be created": (["output_root=/proc/x"], "cannot create the output folder /proc/x/"),
    "the same in a sweep": (["-m", "output_root=/proc/x"], "cannot create the output folder /proc/x/"),
    "empty purpose": (["purpose=''"], "purpose='': must not be empty"),
    "purpose leaving output_root": (["-m", "purpose=../x"], "purpose='../x': must be one folder name"),
    "model name leaving output_root": (["model.name=../../../m"], "one folder name (no '/'"),
    "missing data folder": (["data.root=/nonexistent/data"], "data folder not found: /nonexistent/data/SST-2"),
    "empty data root": (["data.root="], "data folder not found: /SST-2"),
    "a test split that is no split": (["task.eval_split=dev"], "task: eval_split 'dev' is not one of validation, test"),
    "missing task template": (["task.template=nope.j2"], "task: template 'nope.j2' not found"),
    "missing script": (["method.script=no/such/script.sh"], "no such script 'no/such/script.sh'"),
    "missing script folder": (["method.cwd=/nonexistent"], "method.cwd: no such folder '/nonexistent'"),
    "script arguments not a list": (["method.args=notalist"], "method.args='notalist': use a list, such as 'method.args=[--fp16,False]'"),
    "script arguments not a list in a sweep": (["-m", "method.args=notalist"], "method.args='notalist': use a list"),
    "a list among the arguments": (["-m", "method.args=[[a]]"], "method.args: ['a'] is not one word"),
    "time limit 0": (["job_timeout_min=0"], "job_timeout_min=0.0: must be a positive number of minutes"),
    "gpus not a list": (["gpus=foo"], "gpus=foo: use auto, a list of GPU ids"),
    "a negative GPU id": (["gpus=[-1]"], "gpus=[-1]: use auto, a list of GPU ids"),
    "a GPU the machine lacks": (["gpus=[0,99]"], "gpus=[0,99]: this machine has no GPU 99 (it has GPU 0)"),
    "a GPU the machine lacks in a sweep": (["-m", "gpus=[0,99]"], "gpus=[0,99]: this machine has no GPU 99"),
    "no device per job": (["devices_per_job=0"], "devices_per_job=0: must be >= 1"),
    "a GPU of no size": (["gpu_memory_gb=0"], "gpu_memory_gb=0.0: must be a positive number of GB"),
    "no job per GPU": (["jobs_per_gpu=0"], "jobs_per_gpu=0: use a number >= 1, or auto"),
    "a word for jobs per GPU": (["jobs_per_gpu=many"], "jobs_per_gpu=many: use a number >= 1, or auto"),
    "more devices than GPUs": (["-m", "devices_per_job=1,2", "gpus=[0]"], "devices_per_job=2 but gpus=[0] gives the sweep only 1"),
}  # fmt: skip

# A few of them as a user runs them: a new process, from the checkout's root.
IN_A_PROCESS_OF_THEIR_OWN = (
    "negative lr in a sweep",
    "the same key twice in a sweep",
    "an empty range",
    "joblib with no job at once",
    "a newline in purpose",
    "an unknown --cfg",
)

# Presets in a folder of the user's own (hydra.searchpath), and the line each gives.
BAD_PRESETS = {
    "bad YAML": ("search", "lr: [1,\n  bar: }\n", "bad YAML in "),
    "experiment with an unknown key": (
        "experiment",
        "hydra:\n  sweeper:\n    paramz:\n      lr: 1,2\n",
        "Key 'paramz' not in 'GridSweeperConf'",
    ),
}


def _as_run(arguments: list[str], root: Path) -> list[str]:
    """The case's command line, writing to root, as a dry run: a case the checks let through
    writes its jobs' folders and runs nothing."""
    given = any(argument.startswith("output_root=") for argument in arguments)
    return [*arguments, *([] if given else [f"output_root={root}"]), "dry_run=true"]


@pytest.mark.parametrize("arguments,message", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input_is_one_line_and_exit_code_2_before_any_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, arguments: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)  # an empty output_root would land here, not in the checkout
    done = run_app(*_as_run(arguments, tmp_path / "out"), environ=ONE_GPU)
    assert (done.exit_code, done.stderr_lines[:1]) == (2, done.stderr_lines), done.stderr
    assert done.stderr_lines[0].startswith("error: ") and message in done.stderr_lines[0]
    assert not list(tmp_path.rglob("command.sh")), "no job may start"


@pytest.mark.parametrize("case", IN_A_PROCESS_OF_THEIR_OWN)
def test_bad_input_run_as_a_user_runs_it_is_one_line(tmp_path: Path, case: str) -> None:
    arguments, message = BAD_INPUTS[case]
    done = run_sweep(*_as_run(arguments, tmp_path), env=ONE_GPU)
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ") and message in lines[0]
    assert not list(tmp_path.rglob("command.sh")), "no job may start"


@pytest.mark.parametrize("group,text,message", BAD_PRESETS.values(), ids=BAD_PRESETS.keys())
def test_a_bad_preset_is_one_line(tmp_path: Path, group: str, text: str, message: str) -> None:
    presets = tmp_path / "conf" / group
    presets.mkdir(parents=True)
    (presets / "mine.yaml").write_text(f"# @package _global_\n{text}")
    done = run_app(
        "-m", f"{group}=mine", f"hydra.searchpath=[file://{tmp_path / 'conf'}]",
        f"output_root={tmp_path / 'out'}",
    )  # fmt: skip
    assert done.exit_code == 2
    assert len(done.stderr_lines) == 1, done.stderr
    assert done.stderr_lines[0].startswith("error: ") and message in done.stderr_lines[0]
    assert not (tmp_path / "out").exists()


def test_missing_launcher_plugin_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plugins.importlib.util, "find_spec", lambda name: None)
    message = plugins.missing_plugin_message(["-m", "hydra/launcher=slurm", "lr=1e-6"])
    assert (
        message
        == 'hydra/launcher=slurm needs the Hydra plugin hydra_submitit_launcher: pip install -e ".[slurm]"'
    )
    assert "optuna" in (plugins.missing_plugin_message(["search=optuna"]) or "")
    assert plugins.missing_plugin_message(["lr=1e-6"]) is None


def test_gpus_the_machine_has_are_taken(tmp_path: Path) -> None:
    done = run_app(
        "-m", "gpus=[0,1]", "dry_run=true", f"output_root={tmp_path}",
        environ={"CUDA_VISIBLE_DEVICES": "0,1"},
    )  # fmt: skip
    assert done.exit_code == 0, done.stderr
    assert "1 job: 1 dry_run" in done.stdout


def test_the_gpus_nvidia_smi_lists_are_the_machines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setattr(validation, "detect_gpus", lambda: ["0", "1"])
    taken = run_app("gpus=[1]", "dry_run=true", f"output_root={tmp_path}")
    assert taken.exit_code == 0, taken.stderr
    refused = run_app("gpus=[2]", "dry_run=true", f"output_root={tmp_path}")
    assert refused.stderr_lines == ["error: gpus=[2]: this machine has no GPU 2 (it has GPU 0, 1)"]
