"""Labelled texts: TSV or CSV files with a header naming the columns, JSONL files, or a hub
dataset, each row a text and its label. Local files are read and checked line by line (a missing
column, an empty text or label names the file and line) and become `datasets` splits with the
columns "text" and "label"; hub datasets load through `datasets` itself."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

import datasets

from nmt.data.tables import file_rows
from nmt.errors import NmtError

logger = logging.getLogger(__name__)


class LabelledText(NamedTuple):
    text: str
    label: str | None  # None where the file gives no labels (texts to classify)
    line: int  # where the row starts in its file (1-based)


def guess_format(path: str | Path) -> str:
    """tsv, csv or jsonl from a file name (tsv when the suffix says nothing)."""
    suffix = Path(path).suffix.lower().lstrip(".")
    return {"csv": "csv", "jsonl": "jsonl", "json": "jsonl"}.get(suffix, "tsv")


def read_labelled_file(
    path: str | Path, file_format: str, text_column: str, label_column: str,
    with_labels: bool = True,
) -> list[LabelledText]:  # fmt: skip
    """The rows of a local file (errors name the file and line). Without `with_labels` a label
    column may be missing (its rows get label None)."""
    path = Path(path)
    texts = []
    for line, row in file_rows(path, file_format):
        where = f"{path}:{line}"
        text = _field(row, text_column, where)
        label = _field(row, label_column, where, required=with_labels)
        if not text.strip():
            raise NmtError(f"{where}: the text ({text_column}) is empty")
        if label is not None and not label.strip():
            raise NmtError(f"{where}: the label ({label_column}) is empty")
        texts.append(LabelledText(text.strip(), None if label is None else label.strip(), line))
    return texts


def _field(row: Mapping[str, object], column: str, where: str, required: bool = True):
    if column not in row:
        if not required:
            return None
        raise NmtError(f"{where}: no '{column}' column (it has {', '.join(map(str, row))})")
    value = row[column]
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise NmtError(f"{where}: '{column}' must be text or a number, got {value!r}")
    return str(value)


def load_labelled_corpus(
    file_format: str, path: str, splits: Mapping[str, str], text_column: str, label_column: str,
    hub_config: str | None = None,
) -> datasets.DatasetDict:  # fmt: skip
    """Splits with the columns "text" and "label" (labels as strings)."""
    if file_format == "hub":
        return _load_hub(path, hub_config, splits, text_column, label_column)
    corpus = {}
    for split, name in splits.items():
        rows = read_labelled_file(Path(path) / name, file_format, text_column, label_column)
        if not rows:
            raise NmtError(f"{Path(path) / name}: holds no texts (the {split} split needs some)")
        corpus[split] = datasets.Dataset.from_dict(
            {"text": [row.text for row in rows], "label": [row.label for row in rows]}
        )
    logger.info("loaded %s", ", ".join(f"{s}: {d.num_rows} texts" for s, d in corpus.items()))
    return datasets.DatasetDict(corpus)


def _load_hub(
    name: str, hub_config: str | None, splits: Mapping[str, str], text_column: str,
    label_column: str,
) -> datasets.DatasetDict:  # fmt: skip
    corpus = {}
    for split, hub_split in splits.items():
        try:
            loaded = datasets.load_dataset(name, hub_config, split=hub_split)
        except (FileNotFoundError, ValueError) as error:
            raise NmtError(f"dataset {name!r}, split {hub_split!r}: {error}") from None
        for column in (text_column, label_column):
            if column not in loaded.column_names:
                raise NmtError(f"dataset {name!r}: no column {column!r} (it has "
                               f"{', '.join(loaded.column_names)})")  # fmt: skip
        feature = loaded.features[label_column]
        names = feature.names if isinstance(feature, datasets.ClassLabel) else None

        def as_strings(batch, names=names):
            labels = [names[i] if names else str(i) for i in batch[label_column]]
            return {"text": [str(t).strip() for t in batch[text_column]], "label": labels}

        corpus[split] = loaded.map(as_strings, batched=True, remove_columns=loaded.column_names)
    return datasets.DatasetDict(corpus)
