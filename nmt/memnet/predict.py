"""Answering with a trained reader: story examples in, one answer word each (and each hop's
addressing weights over the story's sentences) out, in input order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import torch

from nmt.memnet.batch import collate_stories, encode_story
from nmt.memnet.run import LoadedReader, load_reader_dir


class Answer(NamedTuple):
    answer: str
    weights: list[list[float]]  # [hops][sentences read]: the addressing weights


class Reader:
    """A loaded memory-network reader."""

    def __init__(self, loaded: LoadedReader, device: str | torch.device = "cpu") -> None:
        self.model = loaded.model
        self.vocab = loaded.vocab
        self.config = loaded.config
        self.device = torch.device(device)

    @classmethod
    def load(cls, run_dir: str | Path, device: str = "cpu") -> Reader:
        return cls(load_reader_dir(run_dir, device), device)

    @torch.inference_mode()
    def answer(
        self, examples: Sequence[Mapping[str, Any]], batch_size: int = 256
    ) -> list[Answer]:
        """One answer per example (its "story" and "question"; an "answer" is not needed)."""
        max_sentences = self.config.data.max_sentences
        answers = []
        for start in range(0, len(examples), batch_size):
            chunk = examples[start : start + batch_size]
            batch = collate_stories([encode_story(self.vocab, e, max_sentences) for e in chunk])
            output = self.model(
                batch.story.to(self.device), batch.story_mask.to(self.device),
                batch.question.to(self.device),
            )  # fmt: skip
            for ids, weights, mask in zip(
                output.logits.argmax(-1).tolist(), output.weights, batch.story_mask
            ):
                read = weights[:, : int(mask.sum())].tolist()  # [hops][sentences]
                answers.append(Answer(self.vocab.answers[ids], read))
        return answers
