"""Rows of tabular files, each with the line it starts on, so that errors can name it: delimited
files (TSV, CSV) whose first line names the columns, and JSON Lines."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

from nmt.data.textfile import numbered_lines
from nmt.errors import NmtError


def table_rows(path: Path, delimiter: str) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, {column: value}) of a delimited file whose first line names the columns."""
    lines = numbered_lines(path)
    reader = csv.reader((text for _, text, _ in lines), delimiter=delimiter)
    header = next(reader, None)
    if header is None:
        return
    header = [name.strip() for name in header]
    for fields in reader:
        line = reader.line_num
        if not fields or not any(field.strip() for field in fields):
            continue
        if len(fields) != len(header):
            raise NmtError(f"{path}:{line}: {len(fields)} fields, but the header names "
                           f"{len(header)} ({', '.join(header)})")  # fmt: skip
        yield line, dict(zip(header, fields))


def jsonl_rows(path: Path) -> Iterator[tuple[int, dict]]:
    for line, text, _ in numbered_lines(path):
        if not text.strip():
            continue
        try:
            row = json.loads(text)
        except json.JSONDecodeError as error:
            raise NmtError(f"{path}:{line}: not valid JSON ({error.msg})") from None
        if not isinstance(row, dict):
            raise NmtError(f"{path}:{line}: expected a JSON object, got {type(row).__name__}")
        yield line, row


def file_rows(path: Path, file_format: str) -> Iterator[tuple[int, dict]]:
    """(line, row) of a local tsv, csv or jsonl file; a missing file or an unknown format is an
    error naming the file."""
    if not path.is_file():
        raise NmtError(f"{path}: no such file")
    if file_format == "jsonl":
        return jsonl_rows(path)
    if file_format in ("tsv", "csv"):
        return table_rows(path, "\t" if file_format == "tsv" else ",")
    raise NmtError(f"{path}: unknown format {file_format!r}; choose one of tsv, csv, jsonl")
