"""Texts as tensors: padded token ids, their characters (words only), lengths and labels."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import torch

from nmt.data.special import PAD_ID


class ClassifyBatch(NamedTuple):
    tokens: torch.Tensor  # [B, T] long, PAD_ID padded
    chars: torch.Tensor | None  # [B, T, C] long (words with a character encoder), else None
    lengths: torch.Tensor  # [B] long
    labels: torch.Tensor | None  # [B] long, None for texts without labels
    index: torch.Tensor | None  # [B] long: each example's "index" field


def collate_texts(examples: Sequence[Mapping[str, object]]) -> ClassifyBatch:
    """Pad examples with "token_ids", optionally "char_ids", "label_id" and "index"."""
    lengths = [len(example["token_ids"]) for example in examples]
    tokens = torch.full((len(examples), max(lengths)), PAD_ID, dtype=torch.long)
    for row, example in enumerate(examples):
        tokens[row, : lengths[row]] = torch.as_tensor(example["token_ids"], dtype=torch.long)
    chars = None
    if examples[0].get("char_ids") is not None:
        width = max((len(word) for e in examples for word in e["char_ids"]), default=1)
        chars = torch.full((len(examples), max(lengths), max(width, 1)), PAD_ID, dtype=torch.long)
        for row, example in enumerate(examples):
            for column, word in enumerate(example["char_ids"]):
                chars[row, column, : len(word)] = torch.as_tensor(word, dtype=torch.long)
    labels = None
    if "label_id" in examples[0]:
        labels = torch.tensor([example["label_id"] for example in examples], dtype=torch.long)
    index = None
    if "index" in examples[0]:
        index = torch.tensor([example["index"] for example in examples], dtype=torch.long)
    return ClassifyBatch(tokens, chars, torch.tensor(lengths), labels, index)
