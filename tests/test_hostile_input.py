"""Hostile input to every task's commands, as a user would give it: each case ends with exit code
2 and one line `nmt: error: ...` that names the file and line or the key (never a traceback),
and no file the user already had changes."""

import hashlib
import io
import json
import logging
import shutil
import sys
from pathlib import Path

import pytest
import torch

from nmt.cli import main
from nmt.memnet.synthetic import write_story_splits
from nmt.tagging.synthetic import write_tagging_splits

SMALL_TAGGER = [
    "model.word_embedding_size=16", "model.char_embedding_size=8", "model.char_hidden_size=8",
    "model.hidden_size=16", "model.layers=1", "trainer.max_epochs=1", "trainer.progress_bar=false",
]  # fmt: skip


@pytest.fixture(autouse=True)
def lightning_logs_to_this_tests_stderr():
    """Lightning's loggers keep the stderr of the moment they were set up; under pytest that is
    an earlier test's capture, closed since ("--- Logging error ---" with a traceback)."""
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        for handler in logging.getLogger(name).handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.stream = sys.stderr  # not setStream: it flushes the closed one


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under `folder` (path -> sha256), to check that nothing changed."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*")) if path.is_file()
    }  # fmt: skip


def fails(capsys, args: list[str], *expected: str) -> str:
    """Run `nmt ARGS`; it must exit 2 with one error line holding every `expected` text."""
    code = main(args)
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("nmt: error: ")]
    assert code == 2 and "Traceback" not in err, err
    assert len(errors) == 1 and err.rstrip().endswith(errors[0]), err
    for text in expected:
        assert text in errors[0], errors[0]
    return errors[0]


@pytest.fixture(scope="module")
def tagger_run(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("ner")
    write_tagging_splits("ner", data, {"train": 300, "dev": 50, "test": 50}, seed=2)
    out = tmp_path_factory.mktemp("taggers")
    assert main(["tag", "train", "-c", "conll_ner", f"data.path={data}", f"output_dir={out}",
                 "name=ner", "data.splits.train=train.bio", "data.splits.validation=dev.bio",
                 *SMALL_TAGGER]) == 0  # fmt: skip
    return out / "ner"


@pytest.fixture(scope="module")
def reader_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("readers")
    assert main(["memnet", "train", "-c", "stories", f"output_dir={out}", "name=reader",
                 "data.generate_sizes={train: 300, validation: 50, test: 50}",
                 "model.embedding_size=16", "trainer.max_epochs=1",
                 "trainer.progress_bar=false"]) == 0  # fmt: skip
    return out / "reader"


def copy_of(run: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(run, tmp_path / run.name))


# ----- config values: checked where they are read, naming the key and the range -----


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["translate", "train", "-c", "demo", "model.dropout=5"], "model.dropout: 5.0 is out of"),
        (["translate", "train", "-c", "demo", "model.encoder_hidden_size=0"], "at least 1"),
        (["translate", "train", "-c", "demo", "tokenizer.vocab_size=0"], "tokenizer.vocab_size"),
        (["translate", "train", "-c", "demo", "trainer.max_epochs=-5"], "or -1 (no limit)"),
        (["translate", "train", "-c", "demo", "optim.lr=-1"], "optim.lr: -1.0 is out of range"),
        (["translate", "train", "-c", "demo", "data.batch_tokens=-5"], "data.batch_tokens"),
        (["tag", "train", "-c", "conll_ner", "model.word_dropout=1.5"], "[0, 1)"),
        (["translate", "train", "-c", "demo", "model.word_dropout=1"], "model.word_dropout: 1.0"),
        (["translate", "train", "-c", "demo", "model.weight_dropout=-0.1"], "model.weight_dropout"),
        (["memnet", "train", "-c", "stories", "model.hops=0"], "model.hops: 0 is out of range"),
    ],
)
def test_config_values_out_of_range_name_the_key_before_anything_is_written(
    args, expected, tmp_path, capsys
):
    message = fails(capsys, [*args, f"output_dir={tmp_path}"], expected, "command line: ")
    assert "give " in message
    assert list(tmp_path.iterdir()) == []


# ----- broken run directories -----


def broken_files(run: Path) -> dict:
    """Ways a file of a run directory gets broken, each a function of the copied run."""
    weights = run / "model.pt"

    def evil(path: Path) -> None:
        class Payload:
            def __reduce__(self):
                return (print, ("this must never run",))

        torch.save({"weights": Payload()}, path)

    def missing_key(path: Path) -> None:
        state = torch.load(path, weights_only=True)
        state.pop(next(iter(state)))
        torch.save(state, path)

    def wrong_shape(path: Path) -> None:
        state = torch.load(path, weights_only=True)
        name = next(key for key, value in state.items() if value.dim() == 2)
        state[name] = torch.zeros(3, 3)
        torch.save(state, path)

    def as_directory(path: Path) -> None:
        path.unlink()
        path.mkdir()

    return {
        "empty": (weights, lambda p: p.write_bytes(b""), "is empty"),
        "truncated": (weights, lambda p: p.write_bytes(p.read_bytes()[:500]), "truncated"),
        "directory": (weights, as_directory, "is a directory"),
        "pickled code": (weights, evil, "refused"),
        "missing key": (weights, missing_key, "does not fit the model"),
        "wrong shape": (weights, wrong_shape, "does not fit the model"),
        "metadata": (run / "metadata.json", lambda p: p.write_text("{not json"), "not valid JSON"),
        "config": (run / "config.yaml", lambda p: p.write_text("model: [\n"), "not valid YAML"),
    }


@pytest.mark.parametrize(
    "damage", ["empty", "truncated", "directory", "pickled code", "missing key", "wrong shape",
               "metadata", "config"],
)  # fmt: skip
def test_translating_with_a_broken_checkpoint_names_the_file(
    damage, reversal_run, tmp_path, capsys
):
    run = copy_of(reversal_run, tmp_path)
    path, spoil, expected = broken_files(run)[damage]
    spoil(path)
    (tmp_path / "in.txt").write_text("a b c\n")
    fails(capsys, ["translate", "predict", "-m", str(run), "-i", str(tmp_path / "in.txt")],
          str(path), expected)  # fmt: skip
    assert "this must never run" not in capsys.readouterr().out


@pytest.mark.parametrize("damage", ["empty", "truncated", "pickled code", "directory"])
def test_resuming_from_a_broken_checkpoint_names_it_and_changes_nothing(
    damage, reversal_run, tmp_path, capsys
):
    run = copy_of(reversal_run, tmp_path)
    last = run / "lightning" / "last.ckpt"
    path, spoil, expected = broken_files(run)[damage]
    spoil(last if path.name == "model.pt" else path)
    before = snapshot(run)
    fails(capsys, ["translate", "train", "--resume", str(run)], str(last), expected)
    assert snapshot(run) == before


def test_resuming_from_a_checkpoint_that_does_not_fit_the_model_names_it(
    reversal_run, tmp_path, capsys
):
    run = copy_of(reversal_run, tmp_path)
    last = run / "lightning" / "last.ckpt"
    checkpoint = torch.load(last, weights_only=True)
    name = next(key for key, value in checkpoint["state_dict"].items() if value.dim() == 2)
    checkpoint["state_dict"][name] = torch.zeros(3, 3)
    torch.save(checkpoint, last)
    before = snapshot(run)
    fails(capsys, ["translate", "train", "--resume", str(run)], str(last), "does not fit")
    assert snapshot(run) == before


def test_resuming_with_a_broken_metadata_file_names_it(reversal_run, tmp_path, capsys):
    run = copy_of(reversal_run, tmp_path)
    (run / "metadata.json").write_text("{not json")
    before = snapshot(run)
    fails(capsys, ["translate", "train", "--resume", str(run)], "metadata.json", "not valid JSON")
    assert snapshot(run) == before


@pytest.mark.parametrize(
    ("task", "override", "key"),
    [
        ("translate", "model.embedding_size=16", "model.embedding_size"),
        ("translate", "tokenizer.vocab_size=99", "tokenizer.vocab_size"),
        ("tag", "model.hidden_size=8", "model.hidden_size"),
        ("memnet", "model.embedding_size=8", "model.embedding_size"),
    ],
)
def test_resuming_with_an_override_that_changes_the_model_is_refused_up_front(
    task, override, key, reversal_run, tagger_run, reader_run, tmp_path, capsys
):
    """It used to rewrite config.yaml before the checkpoint failed to load, and from then on
    the run could not be used at all."""
    original = {"translate": reversal_run, "tag": tagger_run, "memnet": reader_run}[task]
    run = copy_of(original, tmp_path)
    before = snapshot(run)
    fails(capsys, [task, "train", "--resume", str(run), override], key, "cannot change")
    assert snapshot(run) == before


def test_broken_tagger_and_reader_weights_name_the_file(tagger_run, reader_run, tmp_path, capsys):
    tagger, reader = copy_of(tagger_run, tmp_path), copy_of(reader_run, tmp_path)
    for run in (tagger, reader):
        (run / "model.pt").write_bytes(b"")
    sentences = tmp_path / "sentences.txt"
    sentences.write_text("John lives in Paris .\n")
    fails(capsys, ["tag", "predict", "-m", str(tagger), "-i", str(sentences)], "model.pt")
    stories = reader / "data" / "test.jsonl"
    fails(capsys, ["memnet", "predict", "-m", str(reader), "-i", str(stories)], "model.pt")


# ----- output paths: checked before any work -----


def test_output_paths_that_cannot_be_written_stop_before_the_work(
    reversal_run, tagger_run, reader_run, tmp_path, capsys
):
    folder = tmp_path / "a folder"
    folder.mkdir()
    existing = tmp_path / "report.txt"
    existing.write_text("an older report\n")
    text = tmp_path / "in.txt"
    text.write_text("a b c\n")
    refs = tmp_path / "ref.txt"
    refs.write_text("c b a\n")
    tagged = tagger_run.parent / "ner.txt"
    tagged.write_text("John lives in Paris .\n")
    stories = reader_run / "data" / "test.jsonl"
    cases = [
        (["translate", "predict", "-m", str(reversal_run), "-i", str(text), "-o", str(folder)],
         "is a directory"),
        (["translate", "predict", "-m", str(reversal_run), "-i", str(text),
          "-o", str(existing / "out.txt")], "is a file, not a folder"),
        (["translate", "evaluate", "--hyp", str(text), "--ref", str(refs),
          "--report", str(existing)], "is a file"),
        (["tag", "predict", "-m", str(tagger_run), "-i", str(tagged), "-o", str(folder)],
         "is a directory"),
        (["tag", "evaluate", "-m", str(tagger_run), "--data", str(tagger_run.parent / "x.bio"),
          "--report", str(existing)], "is a file"),
        (["memnet", "predict", "-m", str(reader_run), "-i", str(stories), "-o", str(folder)],
         "is a directory"),
        (["memnet", "evaluate", "-m", str(reader_run), "--report", str(existing)], "is a file"),
        (["translate", "average", str(reversal_run), "--last", "1", "-o", str(existing)],
         "is a file"),
    ]  # fmt: skip
    before = snapshot(tmp_path)
    for args, expected in cases:
        fails(capsys, args, expected)
    assert snapshot(tmp_path) == before


# ----- bad input text -----


def test_invalid_utf8_on_standard_input_names_the_line(
    reversal_run, tagger_run, monkeypatch, capsys
):
    for args in (["translate", "predict", "-m", str(reversal_run)],
                 ["tag", "predict", "-m", str(tagger_run)]):  # fmt: skip
        stdin = io.TextIOWrapper(io.BytesIO(b"a b c\n\xff\xfe\n"), encoding="utf-8")
        monkeypatch.setattr(sys, "stdin", stdin)
        fails(capsys, args, "standard input:2: not valid UTF-8")


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ([b"5"], ":1: expected a JSON object, got int"),
        ([b'{"story": ["a b"], "question": "q ?", "answer": "x"}', b"{broken"],
         ":2: not valid JSON"),
        ([b'{"story": ["a b", 7], "question": "q ?", "answer": "x"}'], ":1: 'story' must be"),
        ([b'{"story": ["a b"], "question": "q ?", "answer": "x"}',
          b'{"story": ["a b"], "question": "q ?", "answer": 5}'], ":2: 'answer' must be a string"),
        ([b'{"story": ["a b"], "question": "q ?", "answer": "x"}',
          b'{"story": ["a \xff b"], "question": "q ?", "answer": "x"}'], ":2: not valid UTF-8"),
        ([b'{"story": ["a b"], "question": "q ?"}'], ":1: needs the keys story, question, answer"),
        ([], "no questions to answer"),
    ],
)  # fmt: skip
def test_story_files_with_bad_lines_name_the_file_and_line(
    lines, expected, reader_run, tmp_path, capsys
):
    data = tmp_path / "stories.jsonl"
    data.write_bytes(b"".join(line + b"\n" for line in lines))
    fails(capsys, ["memnet", "evaluate", "-m", str(reader_run), "--data", str(data)],
          f"{data}", expected)  # fmt: skip


def test_training_on_a_bad_story_file_names_it(tmp_path, capsys):
    data = tmp_path / "stories"
    write_story_splits(data, {"train": 50, "validation": 10}, seed=0)
    with (data / "validation.jsonl").open("a") as file:
        file.write(json.dumps({"story": "not a list", "question": "q ?", "answer": "x"}) + "\n")
    fails(capsys, ["memnet", "train", "-c", "stories", f"data.path={data}",
                   f"output_dir={tmp_path / 'runs'}", "trainer.progress_bar=false"],
          f"{data / 'validation.jsonl'}:11: 'story' must be")  # fmt: skip
    (data / "empty").mkdir()
    for split in ("train", "validation"):
        (data / "empty" / f"{split}.jsonl").write_text("")
    fails(capsys, ["memnet", "train", "-c", "stories", f"data.path={data / 'empty'}",
                   f"output_dir={tmp_path / 'runs'}", "name=again", "trainer.progress_bar=false"],
          "train.jsonl: holds no stories")  # fmt: skip


# ----- classification -----


@pytest.fixture(scope="module")
def classifier_run(tmp_path_factory) -> Path:
    from nmt.classify.synthetic import write_keyword_task

    data = tmp_path_factory.mktemp("keywords")
    write_keyword_task(data, {"train": 300, "dev": 50}, seed=0)
    out = tmp_path_factory.mktemp("classifiers")
    assert main(["classify", "train", "-c", "sst2_bilstm", f"data.path={data}",
                 f"output_dir={out}", "name=keywords", "model.hidden_size=8",
                 "model.word_embedding_size=8", "model.char_embedding_size=0",
                 "trainer.max_epochs=1", "trainer.max_minutes=null",
                 "trainer.progress_bar=false"]) == 0  # fmt: skip
    return out / "keywords"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("sentence\tgrade\ngood film\tpositive\n",
         ":2: no 'label' column (it has sentence, grade)"),
        ("sentence\tlabel\ngood film\tpositive\n \tnegative\n", ":3: the text (sentence) is empty"),
        ("sentence\tlabel\ngood film\tpositive\nbad\n", ":3: 1 fields, but the header names 2"),
        ("sentence\tlabel\ngood film\t\n", ":2: the label (label) is empty"),
        ("sentence\tlabel\ngood film\tsplendid\n", ":2: label 'splendid' is not one the model"),
        ("sentence\tlabel\n", "holds no texts"),
    ],
)
def test_labelled_files_with_bad_rows_name_the_file_and_line(
    content, expected, classifier_run, tmp_path, capsys
):
    data = tmp_path / "test.tsv"
    data.write_text(content)
    fails(capsys, ["classify", "evaluate", "-m", str(classifier_run), "--data", str(data)],
          f"{data}", expected)  # fmt: skip


def test_training_on_a_file_without_the_label_column_names_it(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.tsv").write_text("text\tlabel\ngood film\tpositive\n")
    (data / "dev.tsv").write_text("sentence\tlabel\ngood film\tpositive\n")
    fails(capsys, ["classify", "train", "-c", "sst2_bilstm", f"data.path={data}",
                   f"output_dir={tmp_path / 'runs'}", "trainer.progress_bar=false"],
          f"{data / 'train.tsv'}:2: no 'sentence' column (it has text, label)")  # fmt: skip


def test_classifier_commands_refuse_bad_settings_and_outputs(classifier_run, tmp_path, capsys):
    run = copy_of(classifier_run, tmp_path)
    before = snapshot(run)
    fails(capsys, ["classify", "train", "--resume", str(run), "model.pooling=attention"],
          "model.pooling cannot change")  # fmt: skip
    fails(capsys, ["classify", "train", "-c", "sst2_bilstm", "model.dropout=1"], "[0, 1)")
    fails(capsys, ["classify", "predict", "-m", str(run), "-o", str(tmp_path)], "is a directory")
    (run / "model.pt").write_bytes(b"")
    fails(capsys, ["classify", "predict", "-m", str(run)], "model.pt", "is empty")
    assert {k: v for k, v in snapshot(run).items() if k != "model.pt"} == {
        k: v for k, v in before.items() if k != "model.pt"
    }


# ----- language models -----


def test_language_model_commands_refuse_bad_input(tmp_path, capsys):
    data = tmp_path / "text"
    data.mkdir()
    (data / "train.txt").write_bytes(b"to be or not to be\nthat is \xff the question\n")
    fails(capsys, ["lm", "train", "-c", "tiny_shakespeare_char", f"data.path={data}",
                   "data.splits.train=train.txt", f"output_dir={tmp_path / 'runs'}",
                   "trainer.progress_bar=false"],
          f"{data / 'train.txt'}:2: not valid UTF-8")  # fmt: skip
    (data / "train.txt").write_text("\n\n")
    fails(capsys, ["lm", "train", "-c", "tiny_shakespeare_char", f"data.path={data}",
                   "data.splits.train=train.txt", f"output_dir={tmp_path / 'runs'}",
                   "name=again", "trainer.progress_bar=false"], "holds no text")  # fmt: skip
    fails(capsys, ["lm", "train", "-c", "tiny_shakespeare_char", "data.bptt=0"], "data.bptt")
    fails(capsys, ["lm", "sample", "-m", str(tmp_path / "nothing")], "no such checkpoint")


def test_sampling_and_scoring_refuse_bad_options(tmp_path, capsys):
    from nmt.lm.synthetic import write_pattern_text

    data = tmp_path / "pattern"
    write_pattern_text(data, {"train": 20, "valid": 2})
    assert main(["lm", "train", "-c", "tiny_shakespeare_char", f"data.path={data}",
                 "data.splits.train=train.txt", "data.splits.validation=valid.txt",
                 f"output_dir={tmp_path}", "name=lm", "model.hidden_size=8", "model.layers=1",
                 "model.embedding_size=4", "data.batch_size=2", "data.valid_batch_size=2",
                 "optim.schedule=constant", "trainer.max_epochs=1", "trainer.max_minutes=null",
                 "trainer.progress_bar=false"]) == 0  # fmt: skip
    run = tmp_path / "lm"
    fails(capsys, ["lm", "sample", "-m", str(run), "--temperature", "-1"], "temperature")
    fails(capsys, ["lm", "sample", "-m", str(run), "--top-p", "1.5"], "top_p")
    fails(capsys, ["lm", "sample", "-m", str(run), "-n", "0"], "-n 0")
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    fails(capsys, ["lm", "score", "-m", str(run), "-i", str(empty)], "no text to score")
    fails(capsys, ["lm", "score", "-m", str(run), "-i", str(empty), "-o", str(tmp_path)],
          "is a directory")  # fmt: skip
