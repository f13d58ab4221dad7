"""Task specs: lookup, prompt and candidate rendering, label parsing, metrics, spec checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from zo_sweep.data.tasks import DataError, Example, RecordError, known_task_names, load_task_spec
from zo_sweep.data.tasks import loading as task_loading

ALL_TASKS = ["arcc_cloze", "arcc_mc", "boolq", "cb", "copa", "rte", "sst2"]

COPA = {
    "premise": "The pond froze over.",
    "choice1": "The kids went skating.",
    "choice2": "The fish jumped out.",
    "question": "effect",
    "label": 0,
}
ARC = {
    "question": "Which tool measures mass?",
    "choices": {"text": ["ruler", "balance", "clock", "barometer"], "label": ["1", "2", "3", "4"]},
    "answerKey": "2",
}


def test_every_task_yaml_loads_with_the_fields_other_parts_read() -> None:
    assert known_task_names() == ALL_TASKS
    for name in ALL_TASKS:
        spec = load_task_spec(name)
        assert spec.name == name
        assert spec.folder and spec.num_dev > 0
        assert spec.metrics[0] == spec.primary_metric == "accuracy"
        assert spec.train_objective == ("lm" if name == "copa" else "ce")
        assert spec.eval_split == "validation"


@pytest.mark.parametrize(
    ("query", "name"),
    [("copa", "copa"), ("Copa", "copa"), ("COPA", "copa"), ("SST-2", "sst2"), ("sst2", "sst2"),
     ("ArcC_MC", "arcc_mc"), ("arcc_cloze", "arcc_cloze"), ("BoolQ", "boolq")],
)  # fmt: skip
def test_lookup_by_task_or_folder_name_ignores_case(query: str, name: str) -> None:
    assert load_task_spec(query).name == name


def test_unknown_task_lists_the_known_ones() -> None:
    with pytest.raises(
        DataError, match=r"^unknown task 'wsc' \(known: arcc_cloze, arcc_mc, boolq, cb"
    ):
        load_task_spec("wsc")


@pytest.mark.parametrize(("question", "connective"), [("effect", " so"), ("cause", " because")])
def test_copa_prompt_and_lowercased_candidates(question: str, connective: str) -> None:
    example = load_task_spec("copa").make_example({**COPA, "question": question})
    assert example.prompt == "The pond froze over" + connective
    assert example.candidates == [" the kids went skating.", " the fish jumped out."]
    assert example.label == 0


def test_copa_rejects_an_unknown_question() -> None:
    with pytest.raises(
        RecordError, match="field 'question' is 'reason', expected one of cause, effect"
    ):
        load_task_spec("copa").make_example({**COPA, "question": "reason"})


@pytest.mark.parametrize(
    ("raw", "index"), [(0, 0), (2, 2), ("neutral", 2), ("Contradiction", 1), ("1", 1)]
)
def test_cb_labels_as_ints_or_names(raw: object, index: int) -> None:
    example = load_task_spec("cb").make_example({"premise": "P.", "hypothesis": "H", "label": raw})
    assert example.label == index
    assert example.candidates == ["Yes", "No", "Maybe"]
    assert example.prompt == 'Suppose P. Can we infer that "H"? Yes, No, or Maybe?\n'


@pytest.mark.parametrize(
    ("raw", "message"),
    [(3, r"label 3 in field 'label' out of range 0-2"), (-1, r"label -1 in field 'label' out of range"),
     ("maybe", r"unknown label 'maybe' in field 'label' \(known: entailment, contradiction, neutral\)")],
)  # fmt: skip
def test_cb_bad_labels(raw: object, message: str) -> None:
    with pytest.raises(RecordError, match=message):
        load_task_spec("cb").make_example({"premise": "P.", "hypothesis": "H", "label": raw})


@pytest.mark.parametrize(("raw", "index"), [("entailment", 0), ("not_entailment", 1), (1, 1)])
def test_rte_labels(raw: object, index: int) -> None:
    example = load_task_spec("rte").make_example(
        {"premise": "P.", "hypothesis": "H.", "label": raw}
    )
    assert (example.label, example.candidates) == (index, ["Yes", "No"])
    assert example.prompt == 'P.\nDoes this mean that "H." is true? Yes or No?\n'


@pytest.mark.parametrize(
    ("raw", "index"), [(True, 1), (False, 0), (1, 1), (0, 0), ("True", 1), ("false", 0)]
)
def test_boolq_labels_as_bools_ints_or_text(raw: object, index: int) -> None:
    record = {"passage": "Cats purr.", "question": "do cats purr", "answer": raw}
    example = load_task_spec("boolq").make_example(record)
    assert example.label == index
    assert example.candidates[index] == ("Yes" if index else "No")


@pytest.mark.parametrize("question", ["do cats purr", "Do cats purr?"])
def test_boolq_question_is_capitalized_with_one_question_mark(question: str) -> None:
    record = {"passage": "Cats purr.", "question": question, "answer": True}
    assert load_task_spec("boolq").make_example(record).prompt == "Cats purr. Do cats purr?\n"


def test_sst2_verbalizer() -> None:
    example = load_task_spec("sst2").make_example({"sentence": "a gem . ", "label": 1})
    assert example == Example(prompt="a gem . It was", candidates=[" terrible", " great"], label=1)


def test_arc_multiple_choice_shows_letters_whatever_the_keys() -> None:
    example = load_task_spec("arcc_mc").make_example(ARC)
    assert example.prompt == (
        "Question: Which tool measures mass?\nA. ruler\nB. balance\nC. clock\nD. barometer\nAnswer:"
    )
    assert example.candidates == [" A", " B", " C", " D"]
    assert example.label == 1


def test_arc_cloze_scores_the_answer_texts() -> None:
    example = load_task_spec("arcc_cloze").make_example({**ARC, "answerKey": "4"})
    assert example.prompt == "Question: Which tool measures mass?\nAnswer:"
    assert example.candidates == [" ruler", " balance", " clock", " barometer"]
    assert example.label == 3


def test_arc_choices_may_come_as_json_text() -> None:
    record = {
        **ARC,
        "choices": '{"text": ["a", "b", "c"], "label": ["A", "B", "C"]}',
        "answerKey": "C",
    }
    assert load_task_spec("arcc_mc").make_example(record).label == 2


@pytest.mark.parametrize(
    ("change", "message"),
    [({"answerKey": "E"}, r"label 'E' in field 'answerKey' is not one of the options 1, 2, 3, 4"),
     ({"choices": {"text": ["a", "b"], "label": ["A", "B"]}}, r"has 2 options, expected 3 to 5"),
     ({"choices": {"text": ["a", "b", "c"], "label": ["A", "B"]}}, r"has 3 'text' but 2 'label'"),
     ({"question": None}, r"missing field 'question'")],
)  # fmt: skip
def test_arc_bad_records(change: dict, message: str) -> None:
    with pytest.raises(RecordError, match=message):
        load_task_spec("arcc_mc").make_example({**ARC, **change})


def test_missing_field_is_named() -> None:
    record = {key: value for key, value in COPA.items() if key != "choice2"}
    with pytest.raises(RecordError, match=r"^missing field 'choice2'$"):
        load_task_spec("copa").make_example(record)


def test_example_label_must_index_a_candidate() -> None:
    with pytest.raises(ValueError, match="out of range"):
        Example(prompt="p", candidates=[" a", " b"], label=2)


def test_metrics() -> None:
    cb = load_task_spec("cb")
    scores = cb.compute_metrics([0, 1, 2, 0], [0, 1, 1, 2])
    # per class F1: 0 -> 2/3, 1 -> 2/3, 2 -> 0
    assert scores == pytest.approx({"accuracy": 0.5, "macro_f1": (2 / 3 + 2 / 3 + 0) / 3})
    assert load_task_spec("copa").compute_metrics([1, 1], [1, 0]) == {"accuracy": 0.5}
    with pytest.raises(ValueError):
        cb.compute_metrics([0], [0, 1])


def _task_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, yaml_text: str) -> None:
    conf = tmp_path / "conf_task"
    conf.mkdir()
    (conf / "mytask.yaml").write_text(yaml_text)
    monkeypatch.setattr(task_loading, "TASK_CONF_DIR", conf)


def test_a_new_task_is_one_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _task_dir(tmp_path, monkeypatch, """
name: mytask
folder: MyTask
num_dev: 10
template: sst2.j2
fields: [sentence]
choices: {verbalizer: [bad, good]}
candidate: " {{ text | upper }}"
label: {field: stars, names: [low, high]}
metrics: [accuracy, macro_f1]
""")  # fmt: skip
    spec = load_task_spec("MyTask")
    example = spec.make_example({"sentence": "fine", "stars": "high"})
    assert example == Example(prompt="fine It was", candidates=[" BAD", " GOOD"], label=1)
    assert spec.metrics == ["accuracy", "macro_f1"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [("metrics: [bleu]", r"unknown metric 'bleu'"),
     ("train_objective: mse", r"train_objective 'mse' is not one of ce, lm"),
     ("field_values: {mood: [a]}", r"field_values names 'mood'")],
)  # fmt: skip
def test_bad_specs_are_one_line_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: str, message: str
) -> None:
    base = "name: mytask\nfolder: MyTask\nnum_dev: 1\ntemplate: sst2.j2\nfields: [sentence]\n"
    _task_dir(
        tmp_path, monkeypatch, base + 'choices: {verbalizer: [a, b]}\ncandidate: " x"\n' + extra
    )
    with pytest.raises(DataError, match=r"conf/task/mytask.yaml: " + message):
        load_task_spec("mytask")


def test_missing_template_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _task_dir(tmp_path, monkeypatch, "name: mytask\nfolder: M\nnum_dev: 1\ntemplate: nope.j2\n"
              "choices: {verbalizer: [a, b]}\ncandidate: x\n")  # fmt: skip
    with pytest.raises(DataError, match="template 'nope.j2' not found"):
        load_task_spec("mytask")
