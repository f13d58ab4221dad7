"""Write the example old per-experiment scripts: legacy_scripts/<Model>/<n>_<m>_<method>_<data>_<task>.sh

    python legacy_scripts/generate_examples.py

The scripts are committed; this generator only keeps them uniform. Each is what the research
group wrote by hand: the variables of one experiment in front of `bash <base>.sh`, once per
learning rate of the old grid, all in parallel (`&`, then `wait`), each run's output in
results/<Model>/<Task>/<zo|fo_full|fo_lora>/<original|synthetic>/<lr>_<data>.out and .err.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class OldMethod:
    number: int
    name: str  # in the script's file name and the base script's name
    results_folder: str  # the folder in the old results layout, and zo_sweep's method
    mode: str
    lrs: tuple[str, ...]
    fixed: tuple[tuple[str, str], ...]  # variables with their old values, in script order
    differing: tuple[str, ...]  # the zo_sweep overrides these values need (not the defaults)
    ranks: tuple[str, ...] = ()  # LoRA: one run per rank and learning rate
    title: str = ""

    @property
    def file_suffix(self) -> str:
        """`_rk8n16n32`: the ranks a LoRA script runs, as the group named its scripts."""
        return "_rk" + "n".join(self.ranks) if self.ranks else ""


# The old grid, as the per-experiment scripts enumerated it (batch size 4 in most runs; some
# studies ran 16, or 80000 steps, by changing BS and STEPS).
OLD_METHODS = (
    OldMethod(
        0, "mezo", "zo", "ft", ("1e-6", "5e-7", "2e-7", "1e-7"),
        (("BS", "4"), ("STEPS", "20000"), ("SEED", "0"), ("EPS", "1e-3")),
        ("bs=4",),
        title="MeZO (zeroth-order SGD)",
    ),
    OldMethod(
        1, "fo_full", "fo_full", "ft", ("1e-6", "5e-7", "2e-7", "1e-7"),
        (("BS", "4"), ("STEPS", "20000"), ("SEED", "0")),
        ("bs=4", "steps=20000"),
        title="First-order full fine-tuning",
    ),
    OldMethod(
        2, "fo_lora", "fo_lora", "lora", ("1e-4", "2e-4"),
        (("BS", "4"), ("STEPS", "20000"), ("SEED", "0"), ("ALPHA", "16")),
        ("bs=4", "steps=20000"),
        ranks=("8", "16", "32"),
        title="First-order LoRA (ranks 8, 16, 32; alpha 16)",
    ),
)  # fmt: skip
# (number, name in the group's file names, zo_sweep's task, data folder)
TASKS = (
    (1, "copa", "copa", "Copa"),
    (2, "cb", "cb", "CB"),
    (3, "rte", "rte", "RTE"),
    (4, "boolq", "boolq", "BoolQ"),
    (5, "sst2", "sst2", "SST-2"),
    (6, "arccloz", "arcc_cloze", "ArcC_Cloze"),
    (7, "arcmc", "arcc_mc", "ArcC_MC"),
)
DATA = (("orig", "original"), ("syn", "synthetic"))
# Model folder -> (Hugging Face id, zo_sweep model name, tasks with example scripts).
MODELS = {
    "Llama-3.2-1B": ("meta-llama/Llama-3.2-1B", "llama1b", [task[1] for task in TASKS]),
    "Llama-3.2-3B": ("meta-llama/Llama-3.2-3B", "llama3b", ["copa"]),
    "Mistral-7B-v0.1": ("mistralai/Mistral-7B-v0.1", "mistral7b", ["copa"]),
    "Mistral-Nemo-Base-2407": ("mistralai/Mistral-Nemo-Base-2407", "mistral_nemo", ["copa"]),
}

TEMPLATE = """\
#!/usr/bin/env bash
# {title} on {folder} ({data} data) with {model_folder}: the old grid,
# one run per learning rate (and LoRA rank), all in parallel.
# Output: $RESULTS/{model_folder}/{folder}/{results_folder}/{data}/{log_name}.out and .err
# Environment: DATA_ROOT holds original/<Task>/ and synthetic/<Task>/ (default: the example
# data shipped with zo_sweep); RESULTS (default: results/ in the repository); MODEL, BS, STEPS,
# SEED{more} replace the defaults below.
# The same runs as a zo_sweep sweep:
#   {zo_sweep}
REPO=$(cd "$(dirname "${{BASH_SOURCE[0]}}")/../.." && pwd)
DATA_ROOT=${{DATA_ROOT:-$REPO/zo_sweep/example_data}}
RESULTS=${{RESULTS:-$REPO/results}}
OUT=$RESULTS/{model_folder}/{folder}/{results_folder}/{data}
mkdir -p "$OUT"
cd "$REPO"

MODEL=${{MODEL:-{model_id}}}
TASK=$DATA_ROOT/{data}/{folder}
{defaults}

{runs}
wait
"""

RUN = """\
MODEL=$MODEL MODE={mode} TASK=$TASK LR={lr}{rank} {fixed} \\
    bash legacy_scripts/{base} > "$OUT/{log}.out" 2> "$OUT/{log}.err" &
"""


def script_text(model_folder: str, method: OldMethod, task: tuple, data: tuple) -> str:
    _, _, task_name, folder = task
    _, data_name = data
    model_id, model_name, _ = MODELS[model_folder]
    base = f"{method.name}_finetune_{data_name}.sh"
    fixed = " ".join(f"{name}=${name}" for name, _ in method.fixed)
    runs = "".join(
        RUN.format(
            mode=method.mode,
            lr=lr,
            rank=f" RANK={rank}" if rank else "",
            fixed=fixed,
            base=base,
            log=log_name(method, data_name, lr, rank),
        )
        for rank in method.ranks or ("",)
        for lr in method.lrs
    )
    zo_sweep = (
        f"python -m zo_sweep model={model_name} task={task_name} "
        f"method={method.results_folder} data={data_name} {' '.join(method.differing)} -m "
        + (f"rank={','.join(method.ranks)} " if method.ranks else "")
        + f"lr={','.join(method.lrs)}"
    )
    extra = [name for name, _ in method.fixed if name not in ("BS", "STEPS", "SEED")]
    return TEMPLATE.format(
        title=method.title,
        folder=folder,
        data=data_name,
        log_name=log_name(method, data_name, "<lr>", "<rank>" if method.ranks else ""),
        model_folder=model_folder,
        results_folder=method.results_folder,
        more="".join(f", {name}" for name in extra),
        zo_sweep=zo_sweep,
        model_id=model_id,
        defaults="\n".join(f"{name}=${{{name}:-{value}}}" for name, value in method.fixed),
        runs=runs,
    )


def log_name(method: OldMethod, data: str, lr: str, rank: str) -> str:
    """`<lr>_<data>`, or `<lr>_lora_rk<rank>` for LoRA, as the old results folders hold them."""
    return f"{lr}_lora_rk{rank}" if rank else f"{lr}_{data}"


def script_name(method: OldMethod, task: tuple, data: tuple) -> str:
    number, file_task, _, _ = task
    return f"{number}_{method.number}_{method.name}_{data[0]}_{file_task}{method.file_suffix}.sh"


def main() -> None:
    written = 0
    for model_folder, (_, _, task_names) in MODELS.items():
        folder = HERE / model_folder
        folder.mkdir(exist_ok=True)
        for task in (task for task in TASKS if task[1] in task_names):
            for method in OLD_METHODS:
                for data in DATA:
                    path = folder / script_name(method, task, data)
                    path.write_text(script_text(model_folder, method, task, data))
                    path.chmod(0o755)
                    written += 1
    print(f"wrote {written} scripts under {HERE}")


if __name__ == "__main__":
    main()
