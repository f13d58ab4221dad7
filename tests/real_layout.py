"""A small copy of the research group's data tree, laid out and shaped as theirs is.

    Data/original/Copa/  copa_{train,validation,test}.jsonl   test labels all -1 (the hub's)
    Data/original/CB/    cb_...                               test labels all -1
    Data/original/RTE/   rte_...                              test labels all -1
    Data/original/BOOLQ/ boolq_{train,validation}.jsonl       {"question", "answer": true, "passage"}
    Data/original/ArcC_Cloze/, ArcC_MC/  ARC-Challenge_{train,validation,test}.jsonl (labeled)
    (no SST-2)
    Data/synthetic/mezo/Copa/  copa_train.jsonl only;  .../RTE/  rte_train.jsonl only
    Data_v2/synthetic/prompt_engineering/copa_mezo_v{1,2}/Copa/  copa_train.jsonl (+ v1: the
        original validation file, copied in as the group did)

The records are drawn from the shipped example data (written for this project).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from zo_sweep.data import example_data_root

# folder in the real tree -> (folder of the example data, file prefix, test labels removed)
ORIGINAL = {
    "Copa": ("Copa", "copa", True),
    "CB": ("CB", "cb", True),
    "RTE": ("RTE", "rte", True),
    "BOOLQ": ("BoolQ", "boolq", None),  # the hub's BoolQ has no test file
    "ArcC_Cloze": ("ArcC_Cloze", "ARC-Challenge", False),
    "ArcC_MC": ("ArcC_MC", "ARC-Challenge", False),
}
SIX_TASKS = ["copa", "cb", "rte", "boolq", "arcc_cloze", "arcc_mc"]
PURPOSE_DIR = Path("Data_v2/synthetic/prompt_engineering")


def build_data_tree(root: Path, per_split: int = 24) -> Path:
    """Write the tree under root (small: per_split records a file) and return root."""
    for folder, (example, prefix, unlabeled_test) in ORIGINAL.items():
        target = root / "Data" / "original" / folder
        source = example_data_root("original") / example
        _copy(source / f"{prefix}_train.jsonl", target / f"{prefix}_train.jsonl", per_split)
        _copy(
            source / f"{prefix}_validation.jsonl", target / f"{prefix}_validation.jsonl", per_split
        )
        if unlabeled_test is not None:
            _copy(source / f"{prefix}_test.jsonl", target / f"{prefix}_test.jsonl", per_split,
                  unlabeled=unlabeled_test)  # fmt: skip
    synthetic = example_data_root("synthetic")
    for folder, prefix in (("Copa", "copa"), ("RTE", "rte")):
        _copy(synthetic / folder / f"{prefix}_train.jsonl",
              root / "Data/synthetic/mezo" / folder / f"{prefix}_train.jsonl", per_split)  # fmt: skip
    for version, offset in (("copa_mezo_v1", 0), ("copa_mezo_v2", per_split)):
        target = root / PURPOSE_DIR / version / "Copa"
        _copy(synthetic / "Copa/copa_train.jsonl", target / "copa_train.jsonl", per_split, offset)
    shutil.copy(
        root / "Data/original/Copa/copa_validation.jsonl",
        root / PURPOSE_DIR / "copa_mezo_v1/Copa/copa_validation.jsonl",
    )
    return root


def _copy(source: Path, target: Path, count: int, offset: int = 0, unlabeled: bool = False) -> None:
    records = [json.loads(line) for line in source.read_text().splitlines() if line.strip()]
    records = records[offset : offset + count]
    if unlabeled:
        records = [{**record, "label": -1} for record in records]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("".join(json.dumps(record) + "\n" for record in records))
