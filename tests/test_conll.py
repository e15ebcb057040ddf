"""Tests for nmt.data.conll: CoNLL-U and column files, loading through `datasets`, rewriting."""

import os
from pathlib import Path

import datasets
import pytest

from nmt.errors import NmtError
from nmt.tagging.corpus import (
    TaggedSentence,
    load_tagging_corpus,
    read_columns,
    read_conllu,
    rewrite_tags,
)


def row(*fields: str) -> str:
    """A CoNLL-U row: ID, FORM, LEMMA, UPOS, XPOS, then "_" for the other five columns."""
    return "\t".join([*fields, *["_"] * (10 - len(fields))]) + "\n"


CONLLU = (
    "# sent_id = 1\n"
    "# text = I can't go.\n"
    + row("1", "I", "I", "PRON", "PRP")
    + row("2-3", "can't", "_", "_", "_")
    + row("2", "ca", "can", "AUX", "MD")
    + row("3", "n't", "not", "PART", "RB")
    + row("4", "go", "go", "VERB", "VB")
    + row("4.1", "went", "go", "_", "_")
    + row("5", ".", ".", "PUNCT", ".")
    + "\n"
    + "# sent_id = 2\n"
    + row("1", "Yes", "yes", "INTJ", "UH")
    + row("2", "!", "!", "PUNCT", ".")  # no blank line after the last sentence
)

BIO = (
    "-DOCSTART- -X- -X- O\n"
    "\n"
    "EU NNP B-NP B-ORG\n"
    "rejects VBZ B-VP O\n"
    "German JJ B-NP B-MISC\n"
    "\n"
    "\n"
    "Peter NNP B-NP B-PER\n"
    "Blackburn NNP I-NP I-PER\n"
)


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_conllu_reads_syntactic_words_and_skips_multiword_tokens_and_empty_nodes(tmp_path):
    path = write(tmp_path / "en.conllu", CONLLU)

    sentences = list(read_conllu(path))

    assert sentences == [
        TaggedSentence(["I", "ca", "n't", "go", "."], ["PRON", "AUX", "PART", "VERB", "PUNCT"], 3),
        TaggedSentence(["Yes", "!"], ["INTJ", "PUNCT"], 12),
    ]
    assert [s.tags for s in read_conllu(path, "xpos")] == [
        ["PRP", "MD", "RB", "VB", "."],
        ["UH", "."],
    ]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (row("1", "a", "a", "X") + "1\tb\tb\tX\n", 2, "expected 10 tab-separated columns, found 4"),
        (row("1", "a", "a", "X") + "1 b b X _ _ _ _ _ _\n", 2, "columns must be separated by tabs"),
        ("# c\n" + row("x", "a", "a", "X"), 2, "invalid ID 'x'"),
        (row("1", "a", "a", "X") + row("3", "b", "b", "X"), 2, "expected ID 2, found 3"),
        (row("1", "a", "a", "X") + "\n" + row("2", "b", "b", "X"), 3, "expected ID 1, found 2"),
        (row("1", "", "a", "X"), 1, "empty FORM"),
        (row("1", "a", "a", "X") + row("2", "b", "b", "_"), 2, "column 4, UPOS"),
        (row("1", "a", "a", "X") + "\n" + row("1", "b\xff", "b", "X"), 3, "not valid UTF-8"),
    ],
)
def test_conllu_errors_name_file_and_line(tmp_path, text, line, message):
    data = text.encode("utf-8").replace("\xff".encode(), b"\xff")
    path = write(tmp_path / "bad.conllu", data)

    with pytest.raises(NmtError, match=message) as caught:
        list(read_conllu(path))
    assert str(caught.value).startswith(f"{path}:{line}: ")


def test_conllu_xpos_underscore_is_an_error_naming_the_column(tmp_path):
    path = write(tmp_path / "bad.conllu", row("1", "a", "a", "X", "_"))
    with pytest.raises(NmtError, match=f"^{path}:1: .*column 5, XPOS"):
        list(read_conllu(path, "xpos"))


def test_column_files_skip_docstart_and_take_token_and_last_column(tmp_path):
    path = write(tmp_path / "train.txt", BIO)

    assert list(read_columns(path)) == [
        TaggedSentence(["EU", "rejects", "German"], ["B-ORG", "O", "B-MISC"], 3),
        TaggedSentence(["Peter", "Blackburn"], ["B-PER", "I-PER"], 8),
    ]
    assert [s.tags for s in read_columns(path, tag_column=1)][1] == ["NNP", "NNP"]


def test_column_files_with_tokens_only_have_no_tags_and_mixed_widths_fail(tmp_path):
    tokens_only = write(tmp_path / "test.txt", "EU\nrejects\n\nPeter\n")
    assert list(read_columns(tokens_only)) == [
        TaggedSentence(["EU", "rejects"], None, 1),
        TaggedSentence(["Peter"], None, 4),
    ]
    mixed = write(tmp_path / "mixed.txt", "EU B-ORG\nrejects O\n\nPeter\n")
    with pytest.raises(NmtError, match=f"^{mixed}:4: found 1 columns, but line 1 has 2"):
        list(read_columns(mixed))


def corpus_rows(corpus: datasets.DatasetDict) -> dict[str, list[tuple[list[str], list[str]]]]:
    return {split: list(zip(data["tokens"], data["tags"])) for split, data in corpus.items()}


def test_load_conllu_corpus_and_reload_after_an_edit(tmp_path):
    train = write(tmp_path / "data" / "en-ud-train.conllu", CONLLU)
    write(tmp_path / "data" / "en-ud-dev.conllu", row("1", "Hi", "hi", "INTJ"))
    splits = {"train": "en-ud-train.conllu", "validation": "en-ud-dev.conllu"}
    cache = str(tmp_path / "cache")

    corpus = load_tagging_corpus("conllu", str(tmp_path / "data"), splits, cache_dir=cache)

    assert corpus_rows(corpus) == {
        "train": [
            (["I", "ca", "n't", "go", "."], ["PRON", "AUX", "PART", "VERB", "PUNCT"]),
            (["Yes", "!"], ["INTJ", "PUNCT"]),
        ],
        "validation": [(["Hi"], ["INTJ"])],
    }
    # same size, new mtime: datasets must not serve the old rows from its cache
    mtime = train.stat().st_mtime_ns
    write(train, CONLLU.replace("INTJ", "NOUN"))
    os.utime(train, ns=(mtime + 10**9, mtime + 10**9))
    corpus = load_tagging_corpus("conllu", str(tmp_path / "data"), splits, cache_dir=cache)
    assert corpus["train"]["tags"][1] == ["NOUN", "PUNCT"]


def test_load_conll_corpus_and_its_errors(tmp_path):
    write(tmp_path / "train.txt", BIO)
    write(tmp_path / "test.txt", "EU\nrejects\n")
    cache = str(tmp_path / "cache")

    corpus = load_tagging_corpus("conll", str(tmp_path), {"train": "train.txt"}, cache_dir=cache)
    assert list(corpus) == ["train"]
    assert corpus["train"]["tags"] == [["B-ORG", "O", "B-MISC"], ["B-PER", "I-PER"]]
    pos = load_tagging_corpus("conll", str(tmp_path), {"train": "train.txt"}, "1", cache_dir=cache)
    assert pos["train"]["tags"][0] == ["NNP", "VBZ", "JJ"]

    with pytest.raises(NmtError, match=r"not found: validation .*dev\.txt"):
        load_tagging_corpus("conll", str(tmp_path), {"validation": "dev.txt"}, cache_dir=cache)
    with pytest.raises(NmtError, match=r"test\.txt:1: no tag column"):
        load_tagging_corpus("conll", str(tmp_path), {"test": "test.txt"}, cache_dir=cache)


def test_load_hub_format_from_a_local_folder_converts_class_labels(tmp_path):
    features = datasets.Features(
        {
            "tokens": datasets.Sequence(datasets.Value("string")),
            "upos": datasets.Sequence(datasets.ClassLabel(names=["NOUN", "VERB", "PUNCT"])),
        }
    )
    folder = tmp_path / "ud"
    folder.mkdir()
    splits = {
        "train": {"tokens": [["Dogs", "bark", "."]], "upos": [[0, 1, 2]]},
        "validation": {"tokens": [["Cats", "sleep"]], "upos": [[0, 1]]},
    }
    for split, columns in splits.items():
        datasets.Dataset.from_dict(columns, features=features).to_parquet(
            folder / f"{split}.parquet"
        )
    cache = str(tmp_path / "cache")

    corpus = load_tagging_corpus("hub", str(folder), {}, tag_column="upos", cache_dir=cache)

    assert corpus_rows(corpus) == {
        "train": [(["Dogs", "bark", "."], ["NOUN", "VERB", "PUNCT"])],
        "validation": [(["Cats", "sleep"], ["NOUN", "VERB"])],
    }
    with pytest.raises(NmtError, match="no column.* ner_tags; its columns are tokens, upos"):
        load_tagging_corpus("hub", str(folder), {}, tag_column="ner_tags", cache_dir=cache)


def test_rewrite_conllu_tags_round_trips_and_keeps_other_lines(tmp_path):
    path = write(tmp_path / "en.conllu", CONLLU.replace("\n", "\r\n"))
    predicted = [["A", "B", "C", "D", "E"], ["F", "G"]]

    text = rewrite_tags(path, predicted, "conllu")

    out = write(tmp_path / "out.conllu", text)
    assert [s.tags for s in read_conllu(out)] == predicted
    assert [s.tags for s in read_conllu(out, "xpos")] == [s.tags for s in read_conllu(path, "xpos")]
    old, new = path.read_bytes().decode().split("\n"), text.split("\n")
    changed = [i for i, (a, b) in enumerate(zip(old, new)) if a != b]
    assert len(old) == len(new) and changed == [2, 4, 5, 6, 8, 11, 12]


def test_rewrite_conll_tags_replaces_or_appends_the_tag_column(tmp_path):
    bio = write(tmp_path / "train.txt", BIO)
    predicted = [["O", "O", "O"], ["B-PER", "O"]]

    text = rewrite_tags(bio, predicted, "conll")

    assert text.splitlines()[:3] == ["-DOCSTART- -X- -X- O", "", "EU NNP B-NP O"]
    out = write(tmp_path / "out.txt", text)
    assert [s.tags for s in read_columns(out)] == predicted
    assert [s.tags for s in read_columns(out, tag_column=1)] == [
        s.tags for s in read_columns(bio, tag_column=1)
    ]
    tokens_only = write(tmp_path / "test.txt", "EU\nrejects\n\nPeter")
    assert (
        rewrite_tags(tokens_only, [["B", "O"], ["B"]], "conll") == "EU\tB\nrejects\tO\n\nPeter\tB"
    )


def test_rewrite_tags_with_mismatched_predictions_fails(tmp_path):
    path = write(tmp_path / "en.conllu", CONLLU)
    with pytest.raises(NmtError, match="2 sentences, but 1 predicted"):
        rewrite_tags(path, [["A"] * 5], "conllu")
    with pytest.raises(NmtError, match=f"^{path}:12: 2 tokens, but 3 predicted tags"):
        rewrite_tags(path, [["A"] * 5, ["A"] * 3], "conllu")
