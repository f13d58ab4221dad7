"""Task folders: the shipped example data, seeded splits, file formats, errors, orig_n_syn."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd
import pytest

from zo_sweep.data import DataError, example_data_root, load_splits
from zo_sweep.data.tasks import load_task_spec

FOLDERS = ["Copa", "CB", "RTE", "BoolQ", "SST-2", "ArcC_Cloze", "ArcC_MC"]


def copa_records(count: int, tag: str = "") -> list[dict]:
    return [
        {"premise": f"Event {tag}{i} happened.", "choice1": f"Cause {i}.", "choice2": f"Other {i}.",
         "question": "cause" if i % 2 else "effect", "label": i % 2}
        for i in range(count)
    ]  # fmt: skip


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def copa_folder(root: Path, train: int = 40, validation: int = 20, test: int | None = None) -> Path:
    folder = root / "Copa"
    write_jsonl(folder / "copa_train.jsonl", copa_records(train))
    write_jsonl(folder / "copa_validation.jsonl", copa_records(validation, "v"))
    if test is not None:
        write_jsonl(folder / "copa_test.jsonl", copa_records(test, "t"))
    return folder


# --- the shipped example data ----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["original", "synthetic"])
@pytest.mark.parametrize("folder", FOLDERS)
def test_example_folders_load_with_requested_sizes(kind: str, folder: str) -> None:
    splits = load_splits(example_data_root(kind) / folder, num_train=64, num_dev=32, num_eval=64)
    assert splits.task.folder == folder
    assert (len(splits.train), len(splits.dev), len(splits.test)) == (64, 32, 64)
    for example in splits.train + splits.dev + splits.test:
        assert 0 <= example.label < len(example.candidates) >= 2
        assert example.prompt and all(example.candidates)
    labels = {example.label for example in splits.train}
    assert len(labels) >= 2, "a task whose train split has one label cannot be learned"
    train_prompts = {(e.prompt, tuple(e.candidates)) for e in splits.train}
    assert not train_prompts & {(e.prompt, tuple(e.candidates)) for e in splits.dev}


@pytest.mark.parametrize("kind", ["original", "synthetic"])
def test_example_data_has_64_of_each_split(kind: str) -> None:
    for folder in FOLDERS:
        files = sorted((example_data_root(kind) / folder).glob("*.jsonl"))
        assert [f.stem.rsplit("_", 1)[1] for f in files] == ["test", "train", "validation"]
        for path in files:
            assert sum(1 for _ in path.open()) >= 64, path


def test_example_data_is_what_the_generator_writes(tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "generate", example_data_root().parent / "generate.py"
    )
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    generate.HERE = tmp_path
    generate.main()
    for path in sorted(tmp_path.rglob("*.jsonl")):
        shipped = example_data_root().parent / path.relative_to(tmp_path)
        assert path.read_text() == shipped.read_text(), shipped


def test_bare_task_name_means_its_example_data() -> None:
    splits = load_splits("copa", num_train=8, num_dev=4, num_eval=8)
    assert splits.task.name == "copa" and len(splits.train) == 8


def test_example_data_root_rejects_unknown_kind() -> None:
    with pytest.raises(DataError, match="unknown example data kind 'mixed'"):
        example_data_root("mixed")


# --- sampling --------------------------------------------------------------------------------


def test_same_seed_same_splits_other_seed_other_train() -> None:
    folder = example_data_root() / "SST-2"
    first = load_splits(folder, num_train=50, num_dev=20, num_eval=30, seed=3)
    again = load_splits(folder, num_train=50, num_dev=20, num_eval=30, seed=3)
    other = load_splits(folder, num_train=50, num_dev=20, num_eval=30, seed=4)
    assert first == again
    assert first.train != other.train and first.dev != other.dev
    assert first.test == other.test  # the test sample is fixed, as in MeZO


def test_dev_is_the_end_of_the_permutation_and_never_overlaps_train(tmp_path: Path) -> None:
    folder = copa_folder(tmp_path, train=40)
    small = load_splits(folder, num_train=10, num_dev=5, num_eval=5)
    large = load_splits(folder, num_train=30, num_dev=5, num_eval=5)
    assert small.dev == large.dev  # more training data leaves dev unchanged
    assert large.train[:10] == small.train
    assert not {e.prompt for e in large.train} & {e.prompt for e in large.dev}


def test_test_examples_come_from_the_validation_file_by_default_as_in_mezo(
    tmp_path: Path,
) -> None:
    splits = load_splits(copa_folder(tmp_path, test=12), num_eval=100)
    assert len(splits.test) == 20 and all("Event v" in e.prompt for e in splits.test)
    assert splits.eval_split == "validation"
    assert splits.sources.eval.name == "copa_validation.jsonl"


def test_eval_split_test_reads_the_test_file(tmp_path: Path) -> None:
    splits = load_splits(copa_folder(tmp_path, test=12), num_eval=100, eval_split="test")
    assert len(splits.test) == 12 and all("Event t" in e.prompt for e in splits.test)
    assert splits.eval_split == "test"


def test_sizes_beyond_the_data_are_clipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        splits = load_splits(
            copa_folder(tmp_path, train=30), num_train=100, num_dev=50, num_eval=99
        )
    assert (len(splits.train), len(splits.dev), len(splits.test)) == (20, 10, 20)
    assert "Copa/copa_train.jsonl has 30 examples, fewer than 100 train + 50 dev" in caplog.text
    assert "Copa/copa_validation.jsonl has 20 examples, fewer than the 99 test" in caplog.text


def test_zero_sized_split_is_allowed_but_negative_is_not(tmp_path: Path) -> None:
    folder = copa_folder(tmp_path)
    assert load_splits(folder, num_train=0, num_dev=5, num_eval=5).train == []
    with pytest.raises(DataError, match="num_dev must be a non-negative integer, got -1"):
        load_splits(folder, num_dev=-1)


def test_folder_name_need_not_match_when_task_name_is_given(tmp_path: Path) -> None:
    folder = copa_folder(tmp_path)
    renamed = folder.rename(tmp_path / "copa_v2")
    assert load_splits(renamed, task_name="copa", num_train=5, num_dev=5).task.name == "copa"


# --- formats ---------------------------------------------------------------------------------


def _write(path: Path, records: list[dict], fmt: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(records)
    if fmt == "jsonl":
        write_jsonl(path, records)
    elif fmt == "json":
        path.write_text(json.dumps(records, indent=1))
    elif fmt == "csv":
        frame.to_csv(path, index=False)
    elif fmt == "tsv":
        frame.to_csv(path, index=False, sep="\t")
    elif fmt == "parquet":
        frame.to_parquet(path, index=False)


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv", "tsv", "parquet"])
def test_every_format_gives_the_same_splits(tmp_path: Path, fmt: str) -> None:
    reference = load_splits(copa_folder(tmp_path / "ref"), num_train=20, num_dev=10)
    folder = tmp_path / fmt / "Copa"
    _write(folder / f"copa_train.{fmt}", copa_records(40), fmt)
    _write(folder / f"validation.{fmt}", copa_records(20, "v"), fmt)  # plain names work too
    assert load_splits(folder, num_train=20, num_dev=10) == reference


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_nested_arc_choices_in_every_format(tmp_path: Path, fmt: str) -> None:
    source = example_data_root() / "ArcC_MC"
    reference = load_splits(source, num_train=20, num_dev=10, num_eval=10)
    folder = tmp_path / "ArcC_MC"
    for split in ("train", "validation", "test"):
        records = [json.loads(line) for line in (source / f"ARC-Challenge_{split}.jsonl").open()]
        if fmt == "csv":  # a CSV cell holds the nested field as JSON text
            records = [{**r, "choices": json.dumps(r["choices"])} for r in records]
        _write(folder / f"ARC-Challenge_{split}.{fmt}", records, fmt)
    assert load_splits(folder, num_train=20, num_dev=10, num_eval=10) == reference


def test_json_lines_under_a_json_name(tmp_path: Path) -> None:
    folder = copa_folder(tmp_path)
    (folder / "copa_train.jsonl").rename(folder / "copa_train.json")
    assert len(load_splits(folder, num_train=5, num_dev=5).train) == 5


# --- errors: one line naming the file, the line and the field --------------------------------


def _broken_copa(tmp_path: Path, line: int, text: str) -> Path:
    folder = copa_folder(tmp_path)
    path = folder / "copa_train.jsonl"
    lines = path.read_text().splitlines()
    lines[line - 1] = text
    path.write_text("\n".join(lines) + "\n")
    return folder


@pytest.mark.parametrize(
    ("text", "message"),
    [('{"premise": "x", "choice1": "a", "question": "cause", "label": 0}',
      "Copa/copa_train.jsonl line 7: missing field 'choice2'"),
     ('{"premise": "x", "choice1": "a", "choice2": "b", "question": "cause", "label": 2}',
      "Copa/copa_train.jsonl line 7: label 2 in field 'label' out of range 0-1"),
     ('{"premise": "x", "choice1": "a", "choice2": "b", "question": "why", "label": 0}',
      "Copa/copa_train.jsonl line 7: field 'question' is 'why', expected one of cause, effect"),
     ('{"premise": "x", "choice1": "a",', "Copa/copa_train.jsonl line 7: malformed JSON"),
     ('["not", "an", "object"]', "Copa/copa_train.jsonl line 7: expected a JSON object")],
)  # fmt: skip
def test_bad_record_names_file_line_and_field(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(DataError) as caught:
        load_splits(_broken_copa(tmp_path, 7, text))
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_unknown_label_name_in_csv_names_the_line(tmp_path: Path) -> None:
    folder = tmp_path / "CB"
    records = [{"premise": f"P{i}.", "hypothesis": "H", "label": "entailment"} for i in range(5)]
    records[3]["label"] = "unsure"
    _write(folder / "cb_train.csv", records, "csv")
    _write(folder / "cb_validation.csv", records[:2], "csv")
    with pytest.raises(
        DataError, match=r"^CB/cb_train.csv line 5: unknown label 'unsure' in field 'label'"
    ):
        load_splits(folder)


def test_missing_csv_column_names_the_field(tmp_path: Path) -> None:
    folder = tmp_path / "RTE"
    _write(folder / "train.csv", [{"premise": "P.", "label": 0}], "csv")
    _write(folder / "validation.csv", [{"premise": "P.", "label": 0}], "csv")
    with pytest.raises(DataError, match=r"^RTE/train.csv line 2: missing field 'hypothesis'$"):
        load_splits(folder)


def test_malformed_json_list_names_the_line(tmp_path: Path) -> None:
    folder = copa_folder(tmp_path)
    (folder / "copa_train.jsonl").unlink()
    (folder / "copa_train.json").write_text('[\n{"premise": "x"},\n{oops}\n]')
    with pytest.raises(DataError, match=r"^Copa/copa_train.json line 3: malformed JSON"):
        load_splits(folder)


@pytest.mark.parametrize(
    ("setup", "message"),
    [("missing_folder", r"^task data folder '.*Nowhere' not found$"),
     ("missing_root", r"^data folder not found: .*/gone/Copa \(.*/gone is not a folder\)$"),
     ("no_train", r"^Copa/: no train file \(looked for copa_train\.\* or train\.\*\)$"),
     ("no_eval", r"^Copa/: no validation file to draw the test examples from \(looked for "
                 r"copa_validation\.\* or validation\.\*\); set data\.eval_root"),
     ("empty_train", r"^Copa/copa_train.jsonl: no records$"),
     ("two_train_files", r"^Copa/: more than one train file \(copa_train.csv, copa_train.jsonl\)"),
     ("unknown_task", r"^unknown task 'Nowhere2' \(known: ")],
)  # fmt: skip
def test_folder_errors(tmp_path: Path, setup: str, message: str) -> None:
    folder = copa_folder(tmp_path)
    if setup == "missing_folder":
        folder = tmp_path / "Nowhere"
    elif setup == "missing_root":
        folder = tmp_path / "gone" / "Copa"
    elif setup == "no_train":
        (folder / "copa_train.jsonl").unlink()
    elif setup == "no_eval":
        (folder / "copa_validation.jsonl").unlink()
    elif setup == "empty_train":
        (folder / "copa_train.jsonl").write_text("\n")
    elif setup == "two_train_files":
        _write(folder / "copa_train.csv", copa_records(3), "csv")
    elif setup == "unknown_task":
        folder = folder.rename(tmp_path / "Nowhere2")
    with pytest.raises(DataError, match=message):
        load_splits(folder)


def test_an_unlabeled_test_file_is_never_read_by_default(tmp_path: Path) -> None:
    folder = copa_folder(tmp_path)
    write_jsonl(folder / "copa_test.jsonl", [{**r, "label": -1} for r in copa_records(3)])
    assert len(load_splits(folder, num_train=5, num_dev=5, num_eval=5).test) == 5


def test_eval_split_test_is_refused_in_one_line_when_the_test_file_has_no_labels(
    tmp_path: Path,
) -> None:
    folder = copa_folder(tmp_path)
    write_jsonl(folder / "copa_test.jsonl", [{**r, "label": -1} for r in copa_records(3)])
    with pytest.raises(DataError) as caught:
        load_splits(folder, eval_split="test")
    assert str(caught.value) == (
        "Copa/copa_test.jsonl has no labels (every 'label' is -1 or empty): the test metric "
        "cannot come from it; use task.eval_split=validation (env EVAL_SPLIT=validation)"
    )


def test_a_label_of_minus_one_in_a_labeled_file_is_an_error(tmp_path: Path) -> None:
    folder = copa_folder(tmp_path)
    write_jsonl(folder / "copa_train.jsonl", [{**copa_records(3)[0], "label": -1}])
    with pytest.raises(
        DataError, match=r"copa_train.jsonl line 1: label -1 in field 'label' out of range"
    ):
        load_splits(folder)


# --- original and synthetic mixed (orig_n_syn) ------------------------------------------------


def test_orig_n_syn_takes_half_of_train_from_synthetic(tmp_path: Path) -> None:
    original = copa_folder(tmp_path / "original", train=60)
    synthetic = tmp_path / "synthetic" / "Copa"
    write_jsonl(synthetic / "copa_train.jsonl", copa_records(60, "syn"))
    write_jsonl(synthetic / "copa_validation.jsonl", copa_records(5, "synval"))

    mixed = load_splits(original, synthetic_dir=synthetic, num_train=20, num_dev=10, num_eval=8)
    alone = load_splits(original, num_train=20, num_dev=10, num_eval=8)
    from_synthetic = [e for e in mixed.train if "Event syn" in e.prompt]
    assert len(mixed.train) == 20 and len(from_synthetic) == 10
    assert mixed.dev == alone.dev and mixed.test == alone.test
    originals = {e.prompt for e in mixed.train} - {e.prompt for e in from_synthetic}
    assert originals <= {e.prompt for e in load_splits(original, num_train=50, num_dev=10).train}
    assert not originals & {e.prompt for e in mixed.dev}
    positions = [i for i, e in enumerate(mixed.train) if e in from_synthetic]
    assert positions != list(range(10, 20))  # shuffled together, not appended
    again = load_splits(original, synthetic_dir=synthetic, num_train=20, num_dev=10, num_eval=8)
    assert again == mixed


def test_orig_n_syn_fraction_and_missing_synthetic_folder(tmp_path: Path) -> None:
    original = copa_folder(tmp_path / "original", train=60)
    synthetic = tmp_path / "synthetic" / "Copa"
    write_jsonl(synthetic / "train.jsonl", copa_records(60, "syn"))
    all_syn = load_splits(original, synthetic_dir=synthetic, num_train=12, synthetic_fraction=1.0)
    assert all("Event syn" in e.prompt for e in all_syn.train) and len(all_syn.train) == 12
    with pytest.raises(DataError, match=r"^data folder not found: .*Gone \(no folder of task copa"):
        load_splits(original, synthetic_dir=tmp_path / "Gone")


def test_orig_n_syn_on_the_example_data() -> None:
    splits = load_splits(
        example_data_root("original") / "BoolQ",
        synthetic_dir=example_data_root("synthetic") / "BoolQ",
        num_train=100, num_dev=20, num_eval=20,
    )  # fmt: skip
    styles = {e.prompt.startswith("Here is some background") for e in splits.train}
    assert len(splits.train) == 100 and styles == {True, False}
    assert load_task_spec("boolq") == splits.task


def test_a_small_dev_request_is_honoured_when_train_is_clipped() -> None:
    splits = load_splits(example_data_root("original") / "SST-2", num_train=1000, num_dev=16)
    assert len(splits.dev) == 16
    assert len(splits.train) == 240 - 16


def test_eval_dir_draws_test_from_another_folder_of_the_task() -> None:
    synthetic = example_data_root("synthetic") / "SST-2"
    original = example_data_root("original") / "SST-2"
    mixed = load_splits(synthetic, num_train=8, num_dev=8, num_eval=16, eval_dir=original)
    assert mixed.test == load_splits(original, num_train=8, num_dev=8, num_eval=16).test
    assert mixed.train == load_splits(synthetic, num_train=8, num_dev=8, num_eval=16).train
