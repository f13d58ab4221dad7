"""The research group's data tree as it is: folder spellings, BoolQ's answers, unlabeled test
files, synthetic folders with a train file only, versioned datasets and their identity."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from real_layout import PURPOSE_DIR, build_data_tree

from zo_sweep.data import DataError, data_identity, find_task_folder, load_splits
from zo_sweep.data.tasks import load_task_spec, task_spec_from_mapping
from zo_sweep.data.tasks.templates import lowercase_sentence_start


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_data_tree(tmp_path_factory.mktemp("group"))


def test_boolq_is_found_in_an_upper_case_folder_and_the_folder_used_is_logged(
    tree: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="zo_sweep"):
        splits = load_splits(tree / "Data/original/BoolQ", num_train=8, num_dev=4, num_eval=4)
    assert splits.task.name == "boolq"
    assert splits.sources.train == tree / "Data/original/BOOLQ/boolq_train.jsonl"
    assert f"task boolq: using the data folder {tree / 'Data/original/BOOLQ'}" in caplog.text


def test_boolq_answers_are_json_booleans(tree: Path) -> None:
    splits = load_splits(tree / "Data/original/BOOLQ", num_train=16, num_dev=4, num_eval=8)
    assert {example.label for example in splits.train} == {0, 1}
    assert splits.train[0].candidates == ["No", "Yes"]


@pytest.mark.parametrize(
    ("spelling", "task"),
    [("BOOLQ", "boolq"), ("boolq", "boolq"), ("SST2", "sst2"), ("sst-2", "sst2"),
     ("COPA", "copa"), ("arcc_mc", "arcc_mc")],
)  # fmt: skip
def test_task_folders_are_matched_by_any_spelling_ignoring_case(
    tmp_path: Path, spelling: str, task: str
) -> None:
    (tmp_path / spelling).mkdir()
    assert find_task_folder(tmp_path, load_task_spec(task)) == tmp_path / spelling


def test_two_folders_of_one_task_are_refused(tmp_path: Path) -> None:
    (tmp_path / "BOOLQ").mkdir()
    (tmp_path / "bool_q").mkdir()
    with pytest.raises(DataError, match=r"several folders of task boolq \(BOOLQ, bool_q\)"):
        find_task_folder(tmp_path, load_task_spec("boolq"))


def test_an_absent_sst2_is_an_error_only_for_sst2(tree: Path) -> None:
    with pytest.raises(DataError, match=r"^data folder not found: .*/SST-2 \(no folder of task"):
        load_splits(tree / "Data/original/SST-2")
    assert load_splits(tree / "Data/original/RTE", num_train=4, num_dev=4, num_eval=4).train


@pytest.mark.parametrize("folder", ["Copa", "CB", "RTE"])
def test_hub_test_files_without_labels_are_not_read_by_default(tree: Path, folder: str) -> None:
    splits = load_splits(tree / "Data/original" / folder, num_train=8, num_dev=4, num_eval=8)
    assert splits.eval_split == "validation"
    assert splits.sources.eval.name.endswith("_validation.jsonl")
    with pytest.raises(DataError, match=r"has no labels .* use task.eval_split=validation"):
        load_splits(tree / "Data/original" / folder, eval_split="test")


def test_arc_test_file_has_labels_and_can_be_chosen(tree: Path) -> None:
    splits = load_splits(tree / "Data/original/ArcC_MC", num_eval=8, eval_split="test")
    assert splits.sources.eval.name == "ARC-Challenge_test.jsonl" and len(splits.test) == 8


def test_a_synthetic_folder_with_a_train_file_only_tests_on_eval_root(tree: Path) -> None:
    synthetic = tree / "Data/synthetic/mezo/RTE"
    splits = load_splits(
        synthetic, num_train=8, num_dev=4, num_eval=8, eval_root=tree / "Data/original"
    )
    assert splits.sources.train == synthetic / "rte_train.jsonl"
    assert splits.sources.eval == tree / "Data/original/RTE/rte_validation.jsonl"
    with pytest.raises(DataError) as caught:
        load_splits(synthetic)
    assert str(caught.value) == (
        "RTE/: no validation file to draw the test examples from (looked for rte_validation.* "
        "or validation.*); set data.eval_root (env EVAL_ROOT) to the folder of the original "
        "task folders"
    )


def test_eval_root_missing_the_task_is_named(tree: Path) -> None:
    with pytest.raises(DataError, match=r"^data.eval_root \(env EVAL_ROOT\): data folder not"):
        load_splits(tree / "Data/synthetic/mezo/Copa", eval_root=tree / "Data/synthetic/mezo/RTE")


def test_split_files_may_be_prefixed_by_the_task_name(tmp_path: Path) -> None:
    tree = build_data_tree(tmp_path)
    folder = tree / "Data/original/ArcC_Cloze"
    for path in folder.iterdir():
        path.rename(folder / path.name.replace("ARC-Challenge", "arcc_cloze"))
    assert load_splits(folder, num_train=4, num_dev=4, num_eval=4).sources.eval.name == (
        "arcc_cloze_validation.jsonl"
    )


@pytest.mark.parametrize(
    ("root", "tag", "synthetic", "identity"),
    [("/x/Data/original", None, None, "original"),
     ("/x/Data/synthetic/mezo", None, None, "synthetic/mezo"),
     (f"/x/{PURPOSE_DIR}/copa_mezo_v1", None, None, "synthetic/prompt_engineering/copa_mezo_v1"),
     ("/x/Data/original", None, "/x/Data/synthetic/mezo", "original+synthetic/mezo"),
     ("/x/my_data", None, None, "my_data"),
     ("/x/Data/original", "pilot", None, "pilot")],
)  # fmt: skip
def test_data_identity_is_the_root_from_its_data_kind_or_the_tag(
    root: str, tag: str | None, synthetic: str | None, identity: str
) -> None:
    assert data_identity(root, tag, synthetic) == identity


@pytest.mark.parametrize(
    ("choice", "candidate"),
    [("The man fell.", "the man fell."), ("I knocked on the door.", "I knocked on the door."),
     ("I'm late.", "I'm late."), ("NASA called.", "NASA called."), ("A dog barked.", "a dog barked.")],
)  # fmt: skip
def test_copa_candidates_keep_i_and_acronyms_capitalised(choice: str, candidate: str) -> None:
    assert lowercase_sentence_start(choice) == candidate
    record = {"premise": "It rained.", "choice1": choice, "choice2": "x.", "question": "effect",
              "label": 0}  # fmt: skip
    assert load_task_spec("copa").make_example(record).candidates[0] == " " + candidate


def test_a_task_spec_from_a_composed_config_node_overrides_the_packaged_one(tree: Path) -> None:
    from omegaconf import OmegaConf

    node = OmegaConf.load(Path(__file__).parents[1] / "conf/task/boolq.yaml")
    node.label.field = "verdict"
    spec = task_spec_from_mapping(node, "task")
    with pytest.raises(DataError, match=r"boolq_train.jsonl line 1: missing field 'verdict'"):
        load_splits(tree / "Data/original/BOOLQ", spec=spec)
