"""Text for a language model: UTF-8 files read line by line (invalid UTF-8 names the file and
line) or a hub dataset's text column, as `datasets` splits of one "text" row per line. Without a
validation split, the end of the training text is held out."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import datasets

from nmt.data.textfile import read_lines
from nmt.errors import NmtError

logger = logging.getLogger(__name__)


def load_text_corpus(
    file_format: str, path: str, splits: Mapping[str, str], validation_tail: float,
    hub_config: str | None = None, text_column: str = "text",
) -> datasets.DatasetDict:  # fmt: skip
    """Splits "train" and "validation" of one "text" row per line."""
    if "train" not in splits:
        raise NmtError("data.splits must name a train split")
    corpus = {}
    for split, name in splits.items():
        if split not in ("train", "validation"):
            continue
        lines = _hub_lines(path, hub_config, name, text_column) if file_format == "hub" else \
            _file_lines(Path(path) / name)  # fmt: skip
        if not any(line.strip() for line in lines):
            raise NmtError(f"{path}/{name}: holds no text (the {split} split needs some)")
        corpus[split] = lines
    if "validation" not in corpus:
        corpus["train"], corpus["validation"] = split_tail(corpus["train"], validation_tail)
        logger.info(
            "no validation split: the last %.0f%% of the training text is held out (%d of %d "
            "characters)", 100 * validation_tail, _characters(corpus["validation"]),
            _characters(corpus["train"]) + _characters(corpus["validation"]),
        )  # fmt: skip
    return datasets.DatasetDict(
        {split: datasets.Dataset.from_dict({"text": lines}) for split, lines in corpus.items()}
    )


def split_tail(lines: list[str], fraction: float) -> tuple[list[str], list[str]]:
    """The text's lines cut where its last `fraction` of characters (newlines counted) begins,
    as int(len * (1 - fraction)) does for one string: the line there is split in two."""
    total = _characters(lines)
    cut = int(total * (1 - fraction))
    if cut < 1 or cut >= total:
        raise NmtError(f"too little text ({total} characters) to hold out its end")
    position = 0
    for number, line in enumerate(lines):
        if position + len(line) + 1 > cut:
            offset = cut - position  # the cut falls inside this line, or on its newline
            if offset == len(line):
                return lines[: number + 1], lines[number + 1 :] or [""]
            return [*lines[:number], line[:offset]], [line[offset:], *lines[number + 1 :]]
        position += len(line) + 1
    raise AssertionError("the cut lies inside the text")


def _characters(lines: list[str]) -> int:
    return sum(len(line) + 1 for line in lines)


def _file_lines(path: Path) -> list[str]:
    if not path.is_file():
        raise NmtError(f"{path}: no such text file")
    return read_lines(path)


def _hub_lines(name: str, hub_config: str | None, split: str, column: str) -> list[str]:
    try:
        loaded = datasets.load_dataset(name, hub_config, split=split)
    except (FileNotFoundError, ValueError) as error:
        raise NmtError(f"dataset {name!r}, split {split!r}: {error}") from None
    if column not in loaded.column_names:
        raise NmtError(f"dataset {name!r}: no column {column!r} (it has "
                       f"{', '.join(loaded.column_names)})")  # fmt: skip
    return [line for text in loaded[column] for line in str(text).split("\n")]
