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

from nmt.errors import NmtError
from nmt.memnet.config import StoryDataConfig

DATA_DIR = "data"  # RUN/data: the generated task, when data.path is null


def story_files(data: StoryDataConfig, run_dir: Path) -> dict[str, Path]:
    """Each split's story file: in data.path, or in RUN/data for the generated task."""
    folder = Path(data.path) if data.path else Path(run_dir) / DATA_DIR
    return {split: folder / name for split, name in data.splits.items()}


REQUIRED = ("story", "question", "answer")


def load_story_files(files: Mapping[str, Path]) -> datasets.DatasetDict:
    """A DatasetDict from one JSONL file per split, each line checked first (file:line errors)."""
    for path in files.values():
        read_story_file(path)
    return datasets.load_dataset("json", data_files={s: str(p) for s, p in files.items()})


def read_story_file(path: Path, with_answers: bool = True) -> list[dict[str, Any]]:
    """The examples of a JSONL story file, each line checked (errors name the file and line);
    without `with_answers` the lines need no "answer"."""
    if not Path(path).is_file():
        raise NmtError(f"{path}: no such story file")
    examples = []
    with open(path, encoding="utf-8") as file:
        for number, line in enumerate(file, start=1):
            try:
                example = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError) as error:
                raise NmtError(f"{path}:{number}: not a JSON object ({error})") from None
            required = REQUIRED if with_answers else REQUIRED[:2]
            missing = [key for key in required if key not in example]
            if not isinstance(example, dict) or missing:
                raise NmtError(f"{path}:{number}: needs keys {', '.join(required)}")
            if not isinstance(example["story"], list) or not example["story"]:
                raise NmtError(f"{path}:{number}: 'story' must be a non-empty list of sentences")
            examples.append(example)
    return examples
