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
    # Built as lists and made tensors once: writing tensors slot by slot took about 2.5 of the
    # 6 ms that fetching and collating a training batch took.
    pieces = [[pad_id] * slots for _ in range(batch)]
    first = [[False] * slots for _ in range(batch)]
    mask = [[False] * slots for _ in range(batch)]
    predecessor = [list(range(slots)) for _ in range(batch)]
    span_rows, span_slots, span_starts, span_ends = [], [], [], []
    for row, sentence_entries in enumerate(entries):
        slot = 0
        for start, end, ids in sentence_entries:
            if not start < end <= source_length or not ids:
                raise ValueError(f"entry span [{start}, {end}) with {len(ids)} pieces does not "
                                 f"fit a source of {source_length}")  # fmt: skip
            for position, piece in enumerate(ids):
                span_rows.append(row)
                span_slots.append(slot)
                span_starts.append(start)
                span_ends.append(end)
                pieces[row][slot] = piece
                first[row][slot] = position == 0
                mask[row][slot] = True
                if position:
                    predecessor[row][slot] = slot - 1
                slot += 1
    positions = torch.arange(source_length)
    starts, ends = torch.tensor(span_starts), torch.tensor(span_ends)
    on_span = (positions >= starts[:, None]) & (positions < ends[:, None])  # [slots, S]
    span = torch.zeros(batch, slots, source_length)
    span[torch.tensor(span_rows, dtype=torch.long), torch.tensor(span_slots, dtype=torch.long)] = (
        on_span / (ends - starts)[:, None]
    )
    return GlossarySlots(
        span,
        torch.tensor(pieces, dtype=torch.long).reshape(batch, slots),
        torch.tensor(first, dtype=torch.bool).reshape(batch, slots),
        torch.tensor(mask, dtype=torch.bool).reshape(batch, slots),
        torch.tensor(predecessor, dtype=torch.long).reshape(batch, slots),
    )
