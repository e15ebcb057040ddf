"""Tests for nmt.data.corpus: every source through the real `datasets` builders, on local files."""

import json
from pathlib import Path

import datasets
import pytest

from nmt.errors import NmtError
from nmt.translation.corpus import CleaningStats, clean_corpus, load_parallel_corpus

EN = ['He said "hello" .', "The café is open .", "Where is the street ?"]
DE = ["Er sagte „hallo“ .", 'Das Café ist "offen" .', "Wo ist die Straße ?"]


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def load(format: str, path: Path, **kwargs) -> datasets.DatasetDict:
    return load_parallel_corpus(format, path, "en", "de", cache_dir=str(path / "cache"), **kwargs)


def rows(dataset: datasets.Dataset) -> list[tuple[str, str]]:
    return list(zip(dataset["src"], dataset["tgt"]))


def write_jsonl(path: Path, records: list[dict]) -> None:
    write(path, "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records))


def test_text_pairs_keep_empty_lines_aligned_until_cleaning(tmp_path):
    write(tmp_path / "train.en", "Hello .\n\nThe café is open .\n")
    write(tmp_path / "train.de", "Hallo .\nnur Deutsch\nDas Café ist offen .")  # no final newline

    corpus = load("text", tmp_path)

    assert list(corpus) == ["train"]
    assert rows(corpus["train"]) == [
        ("Hello .", "Hallo ."),
        ("", "nur Deutsch"),
        ("The café is open .", "Das Café ist offen ."),
    ]
    cleaned, stats = clean_corpus(corpus)
    assert rows(cleaned["train"]) == [
        ("Hello .", "Hallo ."),
        ("The café is open .", "Das Café ist offen ."),
    ]
    assert stats["train"] == CleaningStats(
        kept=2, dropped_empty=1, dropped_too_long=0, dropped_ratio=0
    )


def test_text_split_files_name_the_stems_and_absent_splits_are_skipped(tmp_path):
    for stem in ("train", "val"):
        write(tmp_path / f"{stem}.en", "\n".join(EN) + "\n")
        write(tmp_path / f"{stem}.de", "\r\n".join(DE) + "\r\n")  # Windows line ends

    corpus = load("text", tmp_path, split_files={"validation": "val", "test": "test2016"})

    assert list(corpus) == ["train", "validation"]
    assert rows(corpus["validation"]) == list(zip(EN, DE))


def test_file_rewritten_in_place_is_read_again(tmp_path):
    write(tmp_path / "train.en", "one\n")
    write(tmp_path / "train.de", "eins\n")
    assert rows(load("text", tmp_path)["train"]) == [("one", "eins")]

    write(tmp_path / "train.en", "one\ntwo\n")
    write(tmp_path / "train.de", "eins\nzwei\n")
    assert rows(load("text", tmp_path)["train"]) == [("one", "eins"), ("two", "zwei")]


def test_half_of_an_optional_pair_is_an_error(tmp_path):
    write(tmp_path / "train.en", "one\n")
    write(tmp_path / "train.de", "eins\n")
    write(tmp_path / "test.de", "eins\n")

    with pytest.raises(NmtError, match=r"test corpus file\(s\) not found: .*test\.en$"):
        load("text", tmp_path)


def test_text_line_count_mismatch_names_both_files_and_counts(tmp_path):
    write(tmp_path / "train.en", "one\ntwo\nthree\n")
    write(tmp_path / "train.de", "eins\nzwei\n")

    with pytest.raises(NmtError) as error:
        load("text", tmp_path)

    message = str(error.value)
    assert "train.en has 3 lines" in message
    assert "train.de has 2 lines" in message


def test_text_invalid_utf8_names_file_and_line(tmp_path):
    write(tmp_path / "train.en", b"ok\n\xff\xfe bad\n")
    write(tmp_path / "train.de", "gut\nschlecht\n")

    with pytest.raises(NmtError, match=r"train\.en:2: not valid UTF-8"):
        load("text", tmp_path)


def test_text_carriage_return_inside_a_line_is_an_error(tmp_path):
    write(tmp_path / "train.en", "one\ntwo\rhalf\n")
    write(tmp_path / "train.de", "eins\nzwei\n")

    with pytest.raises(NmtError, match=r"train\.en:2: carriage return"):
        load("text", tmp_path)


def test_missing_train_file_names_the_expected_path(tmp_path):
    write(tmp_path / "train.en", "Hello .\n")

    with pytest.raises(NmtError, match=r"train corpus file\(s\) not found: .*train\.de"):
        load("text", tmp_path)
    with pytest.raises(NmtError, match=r"not found: .*train\.tsv"):
        load("tsv", tmp_path)


def test_unknown_format_lists_the_formats(tmp_path):
    with pytest.raises(NmtError, match="text, tsv, jsonl, hub"):
        load("xml", tmp_path)


@pytest.mark.parametrize("header", ["en\tde\n", "\ufeffen\tde\n", "\ufeff", ""])
def test_tsv_with_or_without_header_keeps_quotes(tmp_path, header):
    lines = "".join(f"{en}\t{de}\n" for en, de in zip(EN, DE))
    write(tmp_path / "train.tsv", header + lines + "NA\t\n")

    corpus = load("tsv", tmp_path)

    assert rows(corpus["train"]) == list(zip(EN, DE)) + [("NA", "")]


def test_tsv_line_with_wrong_field_count_names_file_and_line(tmp_path):
    write(tmp_path / "train.tsv", "en\tde\nHello .\tHallo .\na\tb\tc\n")

    with pytest.raises(NmtError, match=r"train\.tsv:3: expected 2 tab-separated fields .* found 3"):
        load("tsv", tmp_path)


@pytest.mark.parametrize("nested", [False, True])
def test_jsonl_flat_and_translation_layouts(tmp_path, nested):
    pairs = [{"en": en, "de": de} for en, de in zip(EN, DE)]
    records = [{"id": i, "translation": pair} if nested else pair for i, pair in enumerate(pairs)]
    write_jsonl(tmp_path / "train.jsonl", records)
    write_jsonl(tmp_path / "test.jsonl", records[:1])

    corpus = load("jsonl", tmp_path)

    assert list(corpus) == ["train", "test"]
    assert rows(corpus["train"]) == list(zip(EN, DE))
    assert rows(corpus["test"]) == [(EN[0], DE[0])]
    assert corpus["train"].features == datasets.Features(
        {"src": datasets.Value("string"), "tgt": datasets.Value("string")}
    )


def test_jsonl_bad_json_and_missing_language_name_file_and_line(tmp_path):
    write(tmp_path / "train.jsonl", '{"en": "Hello .", "de": "Hallo ."}\n{"en": "broken",\n')
    with pytest.raises(NmtError, match=r"train\.jsonl:2: invalid JSON"):
        load("jsonl", tmp_path)

    write(tmp_path / "train.jsonl", '{"en": "Hello .", "de": "Hallo ."}\n\n{"en": "English"}\n')
    with pytest.raises(NmtError, match=r"train\.jsonl:3: no 'de' sentence"):
        load("jsonl", tmp_path)


@pytest.mark.parametrize("nested", [False, True])
def test_hub_path_on_a_local_folder_in_both_layouts(tmp_path, nested):
    pairs = [{"en": en, "de": de} for en, de in zip(EN, DE)]
    records = [{"translation": pair} if nested else pair for pair in pairs]
    hub_dir = tmp_path / "hub"
    write_jsonl(hub_dir / "train.jsonl", records)
    write_jsonl(hub_dir / "validation.jsonl", records[1:])

    corpus = load_parallel_corpus("hub", hub_dir, "de", "en", cache_dir=str(tmp_path / "cache"))

    assert list(corpus) == ["train", "validation"]
    assert rows(corpus["train"]) == list(zip(DE, EN))
    assert rows(corpus["validation"]) == list(zip(DE[1:], EN[1:]))


def test_hub_split_files_map_back_to_hub_split_names(tmp_path):
    hub_dir = tmp_path / "hub"
    write(
        hub_dir / "README.md",
        (
            "---\nconfigs:\n- config_name: default\n  data_files:\n"
            "  - split: train\n    path: train.csv\n  - split: test2016\n    path: news.csv\n---\n"
        ),
    )
    write(hub_dir / "train.csv", 'en,de\n"Hello, world .","Hallo, Welt ."\n')
    write(hub_dir / "news.csv", "en,de\nThe café .,Das Café .\n")

    corpus = load_parallel_corpus(
        "hub", hub_dir, "en", "de", split_files={"test": "test2016"}, cache_dir=str(tmp_path / "c")
    )

    assert list(corpus) == ["train", "test"]
    assert rows(corpus["train"]) == [("Hello, world .", "Hallo, Welt .")]
    assert rows(corpus["test"]) == [("The café .", "Das Café .")]


def test_hub_missing_language_lists_what_is_there(tmp_path):
    hub_dir = tmp_path / "hub"
    write_jsonl(hub_dir / "train.jsonl", [{"translation": {"en": "Hello .", "fr": "Bonjour ."}}])

    with pytest.raises(NmtError, match="no de; its translation languages are en, fr"):
        load_parallel_corpus("hub", hub_dir, "en", "de", cache_dir=str(tmp_path / "cache"))


def test_clean_corpus_counts_each_drop_reason_and_spares_validation():
    pairs = {
        # kept, empty, empty, too long (and over the ratio: counted once, as too long),
        # over the ratio, and two pairs exactly at the limits
        "src": ["  a b  ", "", "a b", "one two three four five six", "a", "a", "a b c d e"],
        "tgt": ["x y", "x", "   ", "x", "w x y z", "x y z", "v w x y z"],
    }
    corpus = datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_dict(pairs),
            "validation": datasets.Dataset.from_dict(pairs),
        }
    )

    cleaned, stats = clean_corpus(corpus, max_length=5, max_ratio=3.0)

    kept = [("a b", "x y"), ("a", "x y z"), ("a b c d e", "v w x y z")]  # at the limits: kept
    assert rows(cleaned["train"]) == kept
    assert stats["train"] == CleaningStats(
        kept=3, dropped_empty=2, dropped_too_long=1, dropped_ratio=1
    )
    assert stats["validation"] == CleaningStats(
        kept=5, dropped_empty=2, dropped_too_long=0, dropped_ratio=0
    )
    assert rows(cleaned["validation"]) == [
        ("a b", "x y"),
        ("one two three four five six", "x"),
        ("a", "w x y z"),
        ("a", "x y z"),
        ("a b c d e", "v w x y z"),
    ]
    assert cleaned["validation"].column_names == ["src", "tgt"]


def test_clean_corpus_without_limits_drops_only_empty_pairs():
    corpus = datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_dict(
                {"src": ["a", " ", "a b c d"], "tgt": ["w x y z", "x", "y"]}
            )
        }
    )

    cleaned, stats = clean_corpus(corpus, max_length=None, max_ratio=None)

    assert rows(cleaned["train"]) == [("a", "w x y z"), ("a b c d", "y")]
    assert stats["train"] == CleaningStats(
        kept=2, dropped_empty=1, dropped_too_long=0, dropped_ratio=0
    )
