"""Tagged sentences as tensors: word ids, character ids, lengths and tag ids, padded."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import torch

from nmt.data.special import PAD_ID
from nmt.tagging.vocab import TaggingVocab


class TaggingBatch(NamedTuple):
    """Padded sentences in dataset order."""

    words: torch.Tensor  # [B, T] long
    chars: torch.Tensor  # [B, T, C] long: each word's characters, PAD_ID padded
    lengths: torch.Tensor  # [B] long
    tags: torch.Tensor | None  # [B, T] long (0 on padding), None when the input has no tags
    index: torch.Tensor | None  # [B] long: each example's "index" field


def encode_tokens(vocab: TaggingVocab, tokens: Sequence[str]) -> dict[str, list]:
    """A sentence's word and character ids, as `collate_tagging` wants them."""
    return {"word_ids": vocab.word_ids(tokens), "char_ids": vocab.char_ids(tokens)}


def encode_sentences(
    vocab: TaggingVocab, sentences: Sequence[Sequence[str]]
) -> list[dict[str, list]]:
    """Examples for `collate_tagging` from token lists (no tags), with their position as index."""
    return [{**encode_tokens(vocab, tokens), "index": i} for i, tokens in enumerate(sentences)]


def collate_tagging(examples: Sequence[Mapping[str, list]]) -> TaggingBatch:
    """Pad examples with "word_ids", "char_ids" and optionally "tag_ids" and "index"."""
    lengths = [len(example["word_ids"]) for example in examples]
    longest = max(lengths)
    longest_word = max(len(chars) for example in examples for chars in example["char_ids"])
    words = torch.full((len(examples), longest), PAD_ID, dtype=torch.long)
    chars = torch.full((len(examples), longest, max(longest_word, 1)), PAD_ID, dtype=torch.long)
    has_tags = "tag_ids" in examples[0]
    tags = torch.zeros((len(examples), longest), dtype=torch.long) if has_tags else None
    for row, example in enumerate(examples):
        words[row, : lengths[row]] = torch.as_tensor(example["word_ids"])
        for column, word_chars in enumerate(example["char_ids"]):
            chars[row, column, : len(word_chars)] = torch.as_tensor(word_chars)
        if tags is not None:
            tags[row, : lengths[row]] = torch.as_tensor(example["tag_ids"])
    index = None
    if "index" in examples[0]:
        index = torch.tensor([example["index"] for example in examples], dtype=torch.long)
    return TaggingBatch(words, chars, torch.tensor(lengths), tags, index)
