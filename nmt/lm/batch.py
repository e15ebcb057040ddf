"""Text as training batches. Stream mode: the whole split as one sequence of ids, cut into
parallel streams read `bptt` positions at a time (each position's target is the next id; every id
but the very first is a target exactly once). Sentence mode: each line on its own, between two
separators, in padded batches."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
import torch

from nmt.data.special import PAD_ID


class LmBatch(NamedTuple):
    inputs: torch.Tensor  # [B, T] long, PAD_ID padded
    targets: torch.Tensor  # [B, T] long: the next id of each input, PAD_ID where there is none
    starts: bool  # stream mode: the first chunk of the streams (the state starts from zero)


def stream_ids(lines: Sequence[Sequence[int]], separator: int) -> np.ndarray:
    """One id sequence: every line followed by the separator."""
    total = sum(len(line) + 1 for line in lines)
    ids = np.empty(total, dtype=np.int64)
    position = 0
    for line in lines:
        ids[position : position + len(line)] = line
        ids[position + len(line)] = separator
        position += len(line) + 1
    return ids


def parallel_streams(ids: np.ndarray, streams: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs and targets `[streams, L]`: stream k reads a contiguous stretch of `ids` and
    predicts each next id; the stretches meet so that ids[1:] are all targets, once each.
    Shorter streams are padded at the end (PAD_ID inputs and targets)."""
    targets_total = len(ids) - 1
    if targets_total < streams:
        raise ValueError(f"{len(ids)} tokens cannot fill {streams} streams")
    bounds = np.linspace(0, targets_total, streams + 1).round().astype(np.int64)
    width = int(np.diff(bounds).max())
    inputs = torch.full((streams, width), PAD_ID, dtype=torch.long)
    targets = torch.full((streams, width), PAD_ID, dtype=torch.long)
    for k in range(streams):
        start, end = int(bounds[k]), int(bounds[k + 1])
        inputs[k, : end - start] = torch.from_numpy(ids[start:end])
        targets[k, : end - start] = torch.from_numpy(ids[start + 1 : end + 1])
    return inputs, targets


class StreamChunks(torch.utils.data.Dataset):
    """Chunk i: positions [i * bptt, (i + 1) * bptt) of every stream, as one LmBatch."""

    def __init__(self, inputs: torch.Tensor, targets: torch.Tensor, bptt: int) -> None:
        self.inputs, self.targets, self.bptt = inputs, targets, bptt

    def __len__(self) -> int:
        return -(-self.inputs.size(1) // self.bptt)

    def __getitem__(self, chunk: int) -> LmBatch:
        window = slice(chunk * self.bptt, (chunk + 1) * self.bptt)
        return LmBatch(self.inputs[:, window], self.targets[:, window], chunk == 0)


def collate_lines(examples: Sequence[Mapping[str, Sequence[int]]], separator: int) -> LmBatch:
    """Sentence mode: each line's ids between separators, inputs [sep, ids] and targets
    [ids, sep], padded."""
    width = max(len(example["ids"]) for example in examples) + 1
    inputs = torch.full((len(examples), width), PAD_ID, dtype=torch.long)
    targets = torch.full((len(examples), width), PAD_ID, dtype=torch.long)
    for row, example in enumerate(examples):
        ids = torch.as_tensor(list(example["ids"]), dtype=torch.long)
        inputs[row, 0] = separator
        inputs[row, 1 : len(ids) + 1] = ids
        targets[row, : len(ids)] = ids
        targets[row, len(ids)] = separator
    return LmBatch(inputs, targets, True)
