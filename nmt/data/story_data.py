"""Story / question examples for the memory-network reader: JSONL files loaded through
`datasets`, a word and answer vocabulary, padding, and a LightningDataModule.

Each JSONL line: {"story": [sentence, ...], "question": str, "answer": str, "type": str, ...};
words are split at whitespace and lowercased.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, NamedTuple

import datasets
import lightning as L
import torch

from nmt.data.batching import token_batch_loader
from nmt.errors import NmtError

REQUIRED = ("story", "question", "answer")


def load_story_files(files: Mapping[str, Path]) -> datasets.DatasetDict:
    """A DatasetDict from one JSONL file per split, each line checked first (file:line errors)."""
    for path in files.values():
        read_story_file(path)
    return datasets.load_dataset("json", data_files={s: str(p) for s, p in files.items()})


def read_story_file(path: Path) -> list[dict[str, Any]]:
    """The examples of a JSONL story file, each line checked (errors name the file and line)."""
    if not Path(path).is_file():
        raise NmtError(f"{path}: no such story file")
    examples = []
    with open(path, encoding="utf-8") as file:
        for number, line in enumerate(file, start=1):
            try:
                example = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError) as error:
                raise NmtError(f"{path}:{number}: not a JSON object ({error})") from None
            missing = [key for key in REQUIRED if key not in example]
            if not isinstance(example, dict) or missing:
                raise NmtError(f"{path}:{number}: needs keys {', '.join(REQUIRED)}")
            if not isinstance(example["story"], list) or not example["story"]:
                raise NmtError(f"{path}:{number}: 'story' must be a non-empty list of sentences")
            examples.append(example)
    return examples


def words(text: str) -> list[str]:
    return text.lower().split()


@dataclass
class StoryVocab:
    words: list[str]  # index 0 is padding, 1 unknown
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
        return cls(["<pad>", "<unk>", *sorted(seen)], sorted(set(train["answer"])), types)

    def ids(self, text: str) -> list[int]:
        return [self._word_index.get(word, 1) for word in words(text)]

    def answer_id(self, answer: str) -> int:
        return self._answer_index.get(answer, -100)  # unseen answers are scored wrong

    def save(self, path: Path) -> None:
        from nmt.checkpoint import write_json

        write_json(path, asdict(self))

    @classmethod
    def load(cls, path: Path) -> StoryVocab:
        return cls(**json.loads(Path(path).read_text("utf-8")))


def encode_story(vocab: StoryVocab, example: Mapping[str, Any], max_sentences: int) -> dict:
    """Ids of an example; only its last `max_sentences` sentences are kept."""
    return {
        "story_ids": [vocab.ids(sentence) for sentence in example["story"][-max_sentences:]],
        "question_ids": vocab.ids(example["question"]),
        "answer_id": vocab.answer_id(example["answer"]),
    }


class StoryBatch(NamedTuple):
    story: torch.Tensor  # [B, S, W]
    story_mask: torch.Tensor  # [B, S]
    question: torch.Tensor  # [B, Q]
    answer: torch.Tensor  # [B], -100 for answers outside the vocabulary
    index: torch.Tensor  # [B]


def collate_stories(examples: Sequence[Mapping[str, Any]]) -> StoryBatch:
    sentences = max(len(e["story_ids"]) for e in examples)
    width = max(len(s) for e in examples for s in e["story_ids"])
    story = torch.zeros(len(examples), sentences, max(width, 1), dtype=torch.long)
    question_width = max(len(e["question_ids"]) for e in examples)
    question = torch.zeros(len(examples), max(question_width, 1), dtype=torch.long)
    for row, example in enumerate(examples):
        for position, ids in enumerate(example["story_ids"]):
            story[row, position, : len(ids)] = torch.as_tensor(ids, dtype=torch.long)
        question[row, : len(example["question_ids"])] = torch.as_tensor(example["question_ids"])
    lengths = torch.tensor([len(e["story_ids"]) for e in examples])
    return StoryBatch(
        story,
        torch.arange(sentences)[None, :] < lengths[:, None],
        question,
        torch.tensor([e["answer_id"] for e in examples]),
        torch.tensor([e.get("index", i) for i, e in enumerate(examples)]),
    )


class StoryDataModule(L.LightningDataModule):
    def __init__(
        self, files: Mapping[str, Path], vocab_path: Path, batch_size: int, max_sentences: int,
        seed: int = 0,
    ) -> None:  # fmt: skip
        super().__init__()
        self.files = dict(files)
        self.vocab_path = Path(vocab_path)
        self.batch_size = batch_size
        self.max_sentences = max_sentences
        self.seed = seed
        self.corpus: datasets.DatasetDict | None = None
        self.vocab: StoryVocab | None = None
        self.encoded: dict[str, datasets.Dataset] = {}

    def setup(self, stage: str | None = None) -> None:
        if self.corpus is not None:
            return
        for split in ("train", "validation"):
            if split not in self.files:
                raise NmtError(f"data.splits must name a {split} file")
        self.corpus = load_story_files({s: self.files[s] for s in ("train", "validation")})
        if self.vocab_path.is_file():
            self.vocab = StoryVocab.load(self.vocab_path)
        else:
            self.vocab = StoryVocab.build(self.corpus["train"])
            self.vocab.save(self.vocab_path)
        vocab, max_sentences = self.vocab, self.max_sentences
        for name, split in self.corpus.items():
            self.encoded[name] = split.map(
                lambda example, index: {**encode_story(vocab, example, max_sentences),
                                        "index": index},
                with_indices=True, remove_columns=split.column_names, desc=f"encoding {name}",
            )  # fmt: skip

    @property
    def validation_types(self) -> list[str]:
        split = self.corpus["validation"]
        return list(split["type"]) if "type" in split.column_names else ["all"] * split.num_rows

    def train_dataloader(self):
        return self._loader("train", shuffle=True)

    def val_dataloader(self):
        return self._loader("validation", shuffle=False)

    def _loader(self, split: str, shuffle: bool):
        dataset = self.encoded[split]
        return token_batch_loader(  # every example counts 1: batches of batch_size examples
            dataset, [1] * dataset.num_rows, self.batch_size, collate_stories, shuffle,
            self.seed, self.trainer,
        )  # fmt: skip
