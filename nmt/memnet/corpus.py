"""Story / question examples: JSONL files, each line checked (errors name the file and line),
loaded through `datasets`.

Each line: {"story": [sentence, ...], "question": str, "answer": str, "type": str, ...}
("answer" may be left out of files that are only to be answered, and "type" anywhere).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import datasets

from nmt.data.textfile import numbered_lines
from nmt.errors import NmtError
from nmt.memnet.config import StoryDataConfig

DATA_DIR = "data"  # RUN/data: the generated task, when data.path is null


def story_files(data: StoryDataConfig, run_dir: Path) -> dict[str, Path]:
    """Each split's story file: in data.path, or in RUN/data for the generated task."""
    folder = Path(data.path) if data.path else Path(run_dir) / DATA_DIR
    return {split: folder / name for split, name in data.splits.items()}


COLUMNS = ("story", "question", "answer", "type")  # what training reads of each example


def load_story_files(files: Mapping[str, Path]) -> datasets.DatasetDict:
    """A DatasetDict of the story files' examples (each line checked: file:line errors)."""
    splits = {}
    for split, path in files.items():
        examples = read_story_file(path)
        if not examples:
            raise NmtError(f"{path}: holds no stories (the {split} split needs some)")
        rows = [{key: example.get(key, "all") for key in COLUMNS} for example in examples]
        splits[split] = datasets.Dataset.from_list(rows)
    return datasets.DatasetDict(splits)


def read_story_file(path: str | Path, with_answers: bool = True) -> list[dict[str, Any]]:
    """The examples of a JSONL story file, one JSON object a line (blank lines are skipped),
    each checked: "story" a non-empty list of sentences, "question" and "answer" strings
    (without `with_answers` no "answer" is needed), "type" a string and "supporting" a list of
    sentence numbers where given. Errors name the file and line."""
    if not Path(path).is_file():
        raise NmtError(f"{path}: no such story file")
    examples = []
    for number, text, _ in numbered_lines(path):
        if text.strip():
            examples.append(_checked_example(text, f"{path}:{number}", with_answers))
    return examples


def _checked_example(text: str, where: str, with_answers: bool) -> dict[str, Any]:
    try:
        example = json.loads(text)
    except json.JSONDecodeError as error:
        raise NmtError(f"{where}: not valid JSON ({error.msg} at column {error.colno})") from None
    if not isinstance(example, dict):
        raise NmtError(f"{where}: expected a JSON object, got {type(example).__name__}")
    required = ("story", "question", "answer") if with_answers else ("story", "question")
    missing = [key for key in required if key not in example]
    if missing:
        raise NmtError(f"{where}: needs the keys {', '.join(required)} ({missing[0]} is missing)")
    story = example["story"]
    if not isinstance(story, list) or not story or not all(isinstance(s, str) for s in story):
        raise NmtError(f"{where}: 'story' must be a non-empty list of sentences (strings)")
    for key in ("question", "answer", "type"):
        if key in example and not isinstance(example[key], str):
            raise NmtError(f"{where}: '{key}' must be a string, got {example[key]!r}")
    supporting = example.get("supporting", [])
    if not isinstance(supporting, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in supporting
    ):
        raise NmtError(f"{where}: 'supporting' must be a list of sentence numbers")
    return example
