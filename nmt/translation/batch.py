"""Translation examples as tensors: padded source and shifted target batches."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
import torch

from nmt.data.special import BOS_ID, EOS_ID, PAD_ID
from nmt.errors import NmtError


def example_lengths(src_ids_lengths: Sequence[int], tgt_ids_lengths: Sequence[int]) -> list[int]:
    """Padded row width each example needs: max(src, tgt + 1), as tgt_in/tgt_out add BOS/EOS."""
    if len(src_ids_lengths) != len(tgt_ids_lengths):
        raise NmtError(
            f"{len(src_ids_lengths)} source lengths but {len(tgt_ids_lengths)} target lengths"
        )
    src = np.asarray(src_ids_lengths, dtype=np.int64)
    tgt = np.asarray(tgt_ids_lengths, dtype=np.int64)
    return np.maximum(src, tgt + 1).tolist()


class TranslationBatch(NamedTuple):
    """A padded batch, in dataset order within the batch (packing uses enforce_sorted=False)."""

    src: torch.Tensor  # [B, S] long, PAD_ID padded; ends with EOS (from encode_src)
    src_lengths: torch.Tensor  # [B] long
    tgt_in: torch.Tensor  # [B, T] long: BOS + tgt_ids, PAD_ID padded
    tgt_out: torch.Tensor  # [B, T] long: tgt_ids + EOS, PAD_ID padded
    index: torch.Tensor | None = None  # [B] long: each example's "index" field, when it has one


def collate_translation(examples: Sequence[Mapping[str, Sequence[int]]]) -> TranslationBatch:
    """Pad examples with "src_ids" and "tgt_ids" into a TranslationBatch.

    An optional "index" field (e.g. added with `dataset.map(..., with_indices=True)`) is carried
    along so that outputs can be matched to their reference text.
    """
    src, src_lengths = pad_sources([example["src_ids"] for example in examples])
    tgt = [torch.as_tensor(example["tgt_ids"], dtype=torch.long) for example in examples]
    bos, eos = torch.tensor([BOS_ID]), torch.tensor([EOS_ID])
    pad = torch.nn.utils.rnn.pad_sequence
    index = None
    if examples and "index" in examples[0]:
        index = torch.tensor([example["index"] for example in examples], dtype=torch.long)
    return TranslationBatch(
        src=src,  # [B, S]
        src_lengths=src_lengths,  # [B]
        tgt_in=pad([torch.cat([bos, ids]) for ids in tgt], batch_first=True, padding_value=PAD_ID),
        tgt_out=pad([torch.cat([ids, eos]) for ids in tgt], batch_first=True, padding_value=PAD_ID),
        index=index,
    )




def pad_sources(rows: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Source id rows (each ending with EOS) -> src `[B, S]` PAD_ID padded, src_lengths `[B]`."""
    src = [torch.as_tensor(row, dtype=torch.long) for row in rows]
    lengths = torch.tensor([len(row) for row in src], dtype=torch.long)
    return torch.nn.utils.rnn.pad_sequence(src, batch_first=True, padding_value=PAD_ID), lengths
