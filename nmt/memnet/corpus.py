"""Story / question examples: JSONL files or the bAbI tasks' own format, each line checked
(errors name the file and line), loaded through `datasets`.

JSONL, each line: {"story": [sentence, ...], "question": str, "answer": str, "type": str, ...}
("answer" may be left out of files that are only to be answered, and "type" anywhere).

bAbI (Weston et al. 2015), each line numbered from 1 within its story:
    1 Mary moved to the bathroom.
    2 Where is Mary? <TAB> bathroom <TAB> 1
a statement, or a question, its answer (a comma-separated list in tasks 8 and 19, kept whole as
one answer) and the numbers of its supporting statements; a story restarts where the number goes
back to 1. Each question becomes an example whose story is the statements before it.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import datasets

from nmt.data.textfile import numbered_lines
from nmt.errors import NmtError
from nmt.memnet.config import StoryDataConfig

DATA_DIR = "data"  # RUN/data: the generated task, when data.path is null


StoryFormat = Literal["jsonl", "babi"]


def story_files(data: StoryDataConfig, run_dir: Path) -> dict[str, Path]:
    """Each split's story file: in data.path, or in RUN/data for the generated task. With
    data.babi_task N, the bAbI files qaN_*_train.txt and qaN_*_test.txt in data.path."""
    folder = Path(data.path) if data.path else Path(run_dir) / DATA_DIR
    if data.babi_task is not None:
        return {split: babi_file(folder, data.babi_task, split) for split in ("train", "test")}
    return {split: folder / name for split, name in data.splits.items()}


def babi_file(folder: Path, task: int, split: str) -> Path:
    """The one file of bAbI task `task` and `split` in `folder` (qa4_two-arg-relations_train.txt
    for task 4, split train)."""
    found = sorted(folder.glob(f"qa{task}_*_{split}.txt"))
    if len(found) != 1:
        what = "no file" if not found else f"{len(found)} files"
        raise NmtError(f"{folder}: {what} named qa{task}_*_{split}.txt (data.babi_task={task} "
                       "needs the task's train and test files there)")  # fmt: skip
    return found[0]


COLUMNS = ("story", "question", "answer", "type")  # what training reads of each example


def load_story_files(
    files: Mapping[str, Path], story_format: StoryFormat = "jsonl",
    validation_fraction: float = 0.1, seed: int = 0,
) -> datasets.DatasetDict:  # fmt: skip
    """A DatasetDict of the story files' examples (each line checked: file:line errors). Without
    a validation file, a random `validation_fraction` of the training questions is held out."""
    splits = {}
    for split, path in files.items():
        examples = read_story_file(path, story_format=story_format)
        if not examples:
            raise NmtError(f"{path}: holds no stories (the {split} split needs some)")
        rows = [{key: example.get(key, "all") for key in COLUMNS} for example in examples]
        splits[split] = rows
    if "validation" not in splits:
        splits["train"], splits["validation"] = hold_out(splits["train"], validation_fraction,
                                                         seed, files["train"])  # fmt: skip
    return datasets.DatasetDict({k: datasets.Dataset.from_list(v) for k, v in splits.items()})


def hold_out(
    rows: list[dict[str, Any]], fraction: float, seed: int, path: Path
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A random `fraction` of `rows` (at least one) apart from the rest, both in file order."""
    count = max(1, round(len(rows) * fraction))
    if count >= len(rows):
        raise NmtError(f"{path}: {len(rows)} question(s) are too few to hold out "
                       f"data.validation_fraction={fraction} for validation")  # fmt: skip
    held = set(random.Random(seed).sample(range(len(rows)), count))
    return ([row for i, row in enumerate(rows) if i not in held],
            [row for i, row in enumerate(rows) if i in held])  # fmt: skip


def read_story_file(
    path: str | Path, with_answers: bool = True, story_format: StoryFormat = "jsonl"
) -> list[dict[str, Any]]:
    """The examples of a story file. JSONL: one JSON object a line (blank lines are skipped),
    each checked: "story" a non-empty list of sentences, "question" and "answer" strings
    (without `with_answers` no "answer" is needed), "type" a string and "supporting" a list of
    sentence numbers where given. bAbI: see the module's docstring. Errors name the file and
    line."""
    if not Path(path).is_file():
        raise NmtError(f"{path}: no such story file")
    if story_format == "babi":
        return read_babi_file(path, with_answers)
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


BABI_LINE = re.compile(r" *(\d+) ([^\t]*)(?:\t([^\t]*)(?:\t([\d ]*))?)?")


def read_babi_file(path: str | Path, with_answers: bool = True) -> list[dict[str, Any]]:
    """The questions of a file in the bAbI format, each with the statements of its story before
    it (final full stops and question marks dropped) and its supporting statements' positions in
    that story (0-based)."""
    examples: list[dict[str, Any]] = []
    story: list[str] = []
    positions: dict[int, int] = {}  # line number in the story -> position among its statements
    previous = 0
    for number, text, _ in numbered_lines(path):
        if not text.strip():
            continue
        where = f"{path}:{number}"
        match = BABI_LINE.fullmatch(text)
        if match is None:
            raise NmtError(f"{where}: expected 'N sentence' or 'N question<TAB>answer<TAB>"
                           f"supporting numbers' (bAbI format), got {text[:60]!r}")  # fmt: skip
        line_id, sentence, answer, supporting = match.groups()
        line_id = int(line_id)
        if line_id == 1:
            story, positions = [], {}
        elif line_id != previous + 1:
            raise NmtError(f"{where}: line number {line_id} after {previous} (a story counts "
                           "1, 2, 3, ... and restarts at 1)")  # fmt: skip
        previous = line_id
        sentence = sentence.rstrip(" .?!")
        if answer is None:
            positions[line_id] = len(story)
            story.append(sentence)
            continue
        answer = answer.strip()
        if with_answers and not answer:
            raise NmtError(f"{where}: the question has no answer after its tab")
        if not story:
            raise NmtError(f"{where}: a question before any statement of its story")
        facts = [int(n) for n in (supporting or "").split()]
        unknown = [n for n in facts if n not in positions]
        if unknown:
            raise NmtError(f"{where}: supporting number {unknown[0]} is not a statement of this "
                           "story")  # fmt: skip
        examples.append({"story": list(story), "question": sentence, "answer": answer,
                         "supporting": [positions[n] for n in facts]})  # fmt: skip
    return examples
