"""Glossary entries as the memory slots of a batch: one slot per target piece of each entry, with
the source span it was found at (for nmt.models.glossary, which computes keys and values)."""

from __future__ import annotations

from typing import NamedTuple

import torch


class GlossarySlots(NamedTuple):
    """One batch's glossary entries as memory slots, M per sentence at most (padded)."""

    span: torch.Tensor  # [B, M, S] float: the source positions of the slot's term, averaged
    pieces: torch.Tensor  # [B, M] long: the target piece the slot emits
    first: torch.Tensor  # [B, M] bool: the first piece of its term
    mask: torch.Tensor  # [B, M] bool: a real slot (False: padding)
    predecessor: torch.Tensor  # [B, M] long: the slot of the piece before it (itself if first)


def collate_slots(
    entries: list[list[tuple[int, int, list[int]]]], source_length: int, pad_id: int
) -> GlossarySlots:
    """Per sentence, its entries as (source piece start, end, target piece ids) -> the padded
    slots of the batch; sentences without entries get none."""
    batch = len(entries)
    slots = max((sum(len(ids) for _, _, ids in row) for row in entries), default=0)
    span = torch.zeros(batch, slots, source_length)
    pieces = torch.full((batch, slots), pad_id, dtype=torch.long)
    first = torch.zeros(batch, slots, dtype=torch.bool)
    mask = torch.zeros(batch, slots, dtype=torch.bool)
    predecessor = torch.arange(slots).repeat(batch, 1)
    for row, sentence_entries in enumerate(entries):
        slot = 0
        for start, end, ids in sentence_entries:
            if not start < end <= source_length or not ids:
                raise ValueError(f"entry span [{start}, {end}) with {len(ids)} pieces does not "
                                 f"fit a source of {source_length}")  # fmt: skip
            for position, piece in enumerate(ids):
                span[row, slot, start:end] = 1.0 / (end - start)
                pieces[row, slot] = piece
                first[row, slot] = position == 0
                mask[row, slot] = True
                if position:
                    predecessor[row, slot] = slot - 1
                slot += 1
    return GlossarySlots(span, pieces, first, mask, predecessor)
