"""Associative recall, the classic test of a memory: a sequence of key -> value pairs, then one of
the keys again; the answer is its value. Keys are distinct within an example."""

from __future__ import annotations

from typing import NamedTuple

import torch


class RecallBatch(NamedTuple):
    keys: torch.Tensor  # [N, P] key symbols 0..num_keys-1, distinct within a row
    values: torch.Tensor  # [N, P] value symbols 0..num_values-1
    query: torch.Tensor  # [N] one of the row's keys
    answer: torch.Tensor  # [N] its value


def make_recall(count: int, pairs: int, num_keys: int, num_values: int, seed: int) -> RecallBatch:
    if pairs > num_keys:
        raise ValueError(f"{pairs} distinct keys need num_keys >= {pairs}, got {num_keys}")
    generator = torch.Generator().manual_seed(seed)
    keys = torch.rand(count, num_keys, generator=generator).argsort(dim=1)[:, :pairs]
    values = torch.randint(num_values, (count, pairs), generator=generator)
    asked = torch.randint(pairs, (count,), generator=generator)
    rows = torch.arange(count)
    return RecallBatch(keys, values, keys[rows, asked], values[rows, asked])


def as_sequence(batch: RecallBatch, num_keys: int, num_values: int) -> torch.Tensor:
    """The same examples as one token sequence for a sequence model, `k1 v1 ... kP vP ? q`:
    values are shifted past the keys and "?" is symbol num_keys + num_values."""
    count = batch.keys.size(0)
    interleaved = torch.stack([batch.keys, batch.values + num_keys], dim=2).reshape(count, -1)
    separator = torch.full((count, 1), num_keys + num_values)
    return torch.cat([interleaved, separator, batch.query[:, None]], dim=1)
