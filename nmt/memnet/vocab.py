"""The reader's vocabularies: words (lowercased, split at whitespace) and answers, and the
question types, built from the training split and saved as RUN/vocab.json."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import datasets

from nmt.data.special import PAD, UNK, UNK_ID
from nmt.engine.rundir import write_json


def words(text: str) -> list[str]:
    return text.lower().split()


@dataclass
class StoryVocab:
    words: list[str]  # PAD_ID, UNK_ID first
    answers: list[str]
    types: list[str]

    def __post_init__(self) -> None:
        self._word_index = {word: i for i, word in enumerate(self.words)}
        self._answer_index = {answer: i for i, answer in enumerate(self.answers)}

    @classmethod
    def build(cls, train: datasets.Dataset) -> StoryVocab:
        seen = {w for story in train["story"] for sentence in story for w in words(sentence)}
        seen |= {w for question in train["question"] for w in words(question)}
        types = sorted(set(train["type"])) if "type" in train.column_names else []
        return cls([PAD, UNK, *sorted(seen)], sorted(set(train["answer"])), types)

    def ids(self, text: str) -> list[int]:
        return [self._word_index.get(word, UNK_ID) for word in words(text)]

    def answer_id(self, answer: str) -> int:
        return self._answer_index.get(answer, -100)  # unseen answers are scored wrong

    def save(self, path: Path) -> None:
        write_json(path, asdict(self))

    @classmethod
    def load(cls, path: Path) -> StoryVocab:
        return cls(**json.loads(Path(path).read_text("utf-8")))
