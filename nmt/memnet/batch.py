"""Story examples as tensors: word ids of each sentence, the sentence mask, question, answer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import torch

from nmt.data.batching import RandomCollate
from nmt.data.special import PAD_ID
from nmt.memnet.vocab import StoryVocab


def encode_story(vocab: StoryVocab, example: Mapping[str, Any], max_sentences: int) -> dict:
    """Ids of an example; only its last `max_sentences` sentences are kept."""
    return {
        "story_ids": [vocab.ids(sentence) for sentence in example["story"][-max_sentences:]],
        "question_ids": vocab.ids(example["question"]),
        "answer_id": vocab.answer_id(example.get("answer", "")),  # -100 when there is none
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
    story = torch.full((len(examples), sentences, max(width, 1)), PAD_ID, dtype=torch.long)
    question_width = max(len(e["question_ids"]) for e in examples)
    question = torch.full((len(examples), max(question_width, 1)), PAD_ID, dtype=torch.long)
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


class NoisyStories(RandomCollate):
    """Training's collate with random noise: about `share` of each story's length in empty
    sentences (no words, so only their age embedding) inserted at random places before the
    batch is made, keeping the last `max_sentences`."""

    def __init__(self, share: float, max_sentences: int, seed: int) -> None:
        super().__init__(seed)
        self.share = share
        self.max_sentences = max_sentences

    def __call__(self, examples: Sequence[Mapping[str, Any]]) -> StoryBatch:
        return collate_stories([self.with_empty_sentences(e) for e in examples])

    def with_empty_sentences(self, example: Mapping[str, Any]) -> dict[str, Any]:
        story = list(example["story_ids"])
        wanted = self.share * len(story)
        empty = int(wanted) + (self.random.random() < wanted - int(wanted))
        for _ in range(empty):
            story.insert(self.random.randint(0, len(story)), [])
        return {**example, "story_ids": story[-self.max_sentences :]}
