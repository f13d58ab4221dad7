"""Export from the Hugging Face hub: the Dataset-to-folder conversion, offline errors, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from datasets import Dataset

from zo_sweep.data import DataError, example_data_root, export, load_splits
from zo_sweep.data import __main__ as cli
from zo_sweep.data.tasks import load_task_spec


def copa_dataset(count: int, label: int | None = None) -> Dataset:
    return Dataset.from_list([
        {"premise": f"Thing {i} broke.", "choice1": f"Reason {i}.", "choice2": f"Other {i}.",
         "question": "cause", "idx": i, "label": i % 2 if label is None else label}
        for i in range(count)
    ])  # fmt: skip


def arc_dataset(count: int) -> Dataset:
    return Dataset.from_list([
        {"id": f"q{i}", "question": f"Question {i}?", "answerKey": "B",
         "choices": {"text": ["w", "x", "y", "z"], "label": ["A", "B", "C", "D"]}}
        for i in range(count)
    ])  # fmt: skip


def test_copa_dataset_becomes_the_group_layout(tmp_path) -> None:
    spec = load_task_spec("copa")
    splits = {"train": copa_dataset(30), "validation": copa_dataset(10),
              "test": copa_dataset(8, label=-1)}  # fmt: skip
    folder = export.write_task_folder(spec, splits, tmp_path / "Data" / "original")
    assert folder == tmp_path / "Data" / "original" / "Copa"
    # The hub's test split has no labels (-1): it is left out, so test comes from validation.
    assert sorted(p.name for p in folder.iterdir()) == ["copa_train.jsonl", "copa_validation.jsonl"]
    loaded = load_splits(folder, num_train=20, num_dev=10, num_eval=10)
    assert len(loaded.test) == 10 and loaded.train[0].prompt.endswith(" because")


def test_arc_dataset_for_both_arc_tasks(tmp_path) -> None:
    splits = {"train": arc_dataset(12), "validation": arc_dataset(4), "test": arc_dataset(4)}
    for name in ("arcc_cloze", "arcc_mc"):
        folder = export.write_task_folder(load_task_spec(name), splits, tmp_path)
        assert (folder / "ARC-Challenge_test.jsonl").is_file()
        loaded = load_splits(folder, num_train=8, num_dev=4)
        assert {e.label for e in loaded.train} == {1}


def test_a_bad_record_is_reported_before_anything_is_written(tmp_path) -> None:
    bad = copa_dataset(5).map(lambda row: {"label": 7 if row["idx"] == 3 else row["label"]})
    with pytest.raises(
        DataError, match=r"^aps/super_glue copa train row 4: label 7 in field 'label'"
    ):
        export.write_task_folder(load_task_spec("copa"), {"train": bad}, tmp_path)
    assert not (tmp_path / "Copa").exists()


def test_no_labeled_train_split_is_an_error(tmp_path) -> None:
    with pytest.raises(DataError, match="no labeled train split"):
        export.write_task_folder(load_task_spec("copa"), {"train": copa_dataset(3, -1)}, tmp_path)


def test_offline_hub_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets

    def unreachable(*args, **kwargs):
        raise ConnectionError("Couldn't reach 'aps/super_glue' on the Hub\nsecond line")

    monkeypatch.setattr(datasets, "load_dataset", unreachable)
    with pytest.raises(DataError) as caught:
        export.load_hub_splits(load_task_spec("rte"))
    assert str(caught.value) == (
        "cannot load aps/super_glue rte from the Hugging Face hub: Couldn't reach 'aps/super_glue' on the Hub"
    )


def test_cli_export_all(tmp_path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    def hub_from_example_data(spec):  # the shipped data stands in for the hub's
        folder = example_data_root() / spec.folder
        files = {
            split: next(folder.glob(f"*_{split}.jsonl"))
            for split in ("train", "validation", "test")
        }
        return {split: Dataset.from_list([json.loads(line) for line in path.open()])
                for split, path in files.items()}  # fmt: skip

    monkeypatch.setattr(export, "load_hub_splits", hub_from_example_data)
    assert cli.main(["export", "--all", "--out", str(tmp_path)]) == 0
    printed = [Path(line) for line in capsys.readouterr().out.split()]
    assert [p.name for p in printed] == [
        "ArcC_Cloze",
        "ArcC_MC",
        "BoolQ",
        "CB",
        "Copa",
        "RTE",
        "SST-2",
    ]
    for folder in printed:
        exported = load_splits(folder, num_train=10, num_dev=5, num_eval=5, seed=1)
        assert exported == load_splits(example_data_root() / folder.name, num_train=10, num_dev=5,
                                       num_eval=5, seed=1)  # fmt: skip


def test_cli_error_is_one_line_and_exit_code_2(tmp_path, monkeypatch, capsys) -> None:
    def offline(spec):
        raise DataError("cannot load aps/super_glue copa from the Hugging Face hub: offline")

    monkeypatch.setattr(export, "load_hub_splits", offline)
    assert cli.main(["export", "--task", "copa", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: cannot load aps/super_glue copa from the Hugging Face hub: offline"
    ]


def test_cli_preview_prints_rendered_examples(capsys) -> None:
    assert cli.main(["preview", "copa", "--num", "1", "--num-train", "4", "--num-dev", "2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("task copa: 4 train, 2 dev, 72 test; metrics accuracy")
    assert "  * ' " in out
