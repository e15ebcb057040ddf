"""Memory-network reader (end-to-end memory networks, Sukhbaatar et al. 2015): a story's
sentences become the keys and values of a `KeyValueMemory`, the question is the query, and after
several hops the updated query picks the answer word.

Sentences are bags of word embeddings weighted by position (so "mary went to the kitchen" and
"the kitchen went to mary" differ), plus a learned embedding of how recent the sentence is.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import torch
from torch import nn

from nmt.data.special import PAD_ID
from nmt.models.memory import KeyValueMemory


def position_weights(length: int, size: int) -> torch.Tensor:
    """The position encoding of end-to-end memory networks: `[length, size]`, word j of J gets
    weights (1 - j/J) - (k/d)(1 - 2j/J) over dimensions k (both counted from 1)."""
    j = torch.arange(1, length + 1, dtype=torch.float32)[:, None] / length
    k = torch.arange(1, size + 1, dtype=torch.float32)[None, :] / size
    return (1 - j) - k * (1 - 2 * j)


class SentenceEncoder(nn.Module):
    """Word ids `[..., W]` -> position-weighted sum of their embeddings `[..., E]`."""

    def __init__(self, vocab_size: int, embedding_size: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_size, padding_idx=PAD_ID)

    def forward(self, words: torch.Tensor) -> torch.Tensor:
        weights = position_weights(words.size(-1), self.embedding.embedding_dim)
        return (self.embedding(words) * weights.to(self.embedding.weight.device)).sum(-2)


class ReaderOutput(NamedTuple):
    logits: torch.Tensor  # [B, A] answer scores
    weights: torch.Tensor  # [B, hops, S] addressing weights over the story's sentences


class MemoryNetworkReader(nn.Module):
    def __init__(
        self,
        vocab_size: int,
        num_answers: int,
        embedding_size: int = 64,
        hops: int = 3,
        max_sentences: int = 50,
        addressing: Literal["dot", "additive"] = "dot",
        top_k: int | None = None,
    ) -> None:
        super().__init__()
        self.key_encoder = SentenceEncoder(vocab_size, embedding_size)
        self.value_encoder = SentenceEncoder(vocab_size, embedding_size)
        self.question_encoder = SentenceEncoder(vocab_size, embedding_size)
        self.key_time = nn.Embedding(max_sentences, embedding_size)
        self.value_time = nn.Embedding(max_sentences, embedding_size)
        self.memory = KeyValueMemory(
            embedding_size, embedding_size, embedding_size, addressing, hops, top_k
        )
        self.answer = nn.Linear(embedding_size, num_answers)

    def forward(
        self, story: torch.Tensor, story_mask: torch.Tensor, question: torch.Tensor
    ) -> ReaderOutput:
        """story `[B, S, W]` word ids (sentences in order), story_mask `[B, S]` True on real
        sentences (a prefix), question `[B, Q]`."""
        count = story_mask.sum(1, keepdim=True)  # [B, 1]
        positions = torch.arange(story.size(1), device=story.device)[None, :]
        age = (count - 1 - positions).clamp(min=0)  # 0 = the latest sentence
        keys = self.key_encoder(story) + self.key_time(age)
        values = self.value_encoder(story) + self.value_time(age)
        read = self.memory(self.question_encoder(question), keys, values, story_mask)
        return ReaderOutput(self.answer(read.output), read.weights)
