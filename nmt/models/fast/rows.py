"""Packed rows for the hand-written step loops: a padded batch's real positions laid out step by
step, longest sentence first, so that step t holds a prefix of step t-1's sentences (as in
`torch.nn.utils.rnn.PackedSequence`) and padding costs nothing."""

from __future__ import annotations

from typing import NamedTuple

import torch


class Packing(NamedTuple):
    """Step t holds the first `counts[t]` sentences of `order` (longest first), at rows
    `starts[t]:starts[t] + counts[t]`; `positions` maps each row to its place in a flattened
    `[B * T]` view of the padded batch."""

    order: torch.Tensor  # [B]
    lengths: list[int]  # in `order`
    counts: list[int]
    starts: list[int]
    positions: torch.Tensor  # [N]

    def rows(self, t: int) -> slice:
        """Step t's rows."""
        return slice(self.starts[t], self.starts[t] + self.counts[t])

    def before(self, t: int) -> slice:
        """Step t-1's rows of the sentences still going at step t (a prefix of them), t > 0."""
        return slice(self.starts[t - 1], self.starts[t - 1] + self.counts[t])

    def reversed_positions(self, steps: int) -> torch.Tensor:
        """Like `positions`, but step t of each sentence reads its position length - 1 - t: the
        rows of a backward-running direction."""
        lengths = torch.tensor(self.lengths, device=self.order.device)
        return torch.cat(
            [self.order[:count] * steps + (lengths[:count] - 1 - t)
             for t, count in enumerate(self.counts)]
        )  # fmt: skip

    def last_rows(self) -> torch.Tensor:
        """Each sentence's row at its last step, in `order`."""
        return torch.tensor(
            [self.starts[length - 1] + rank for rank, length in enumerate(self.lengths)],
            device=self.order.device,
        )

    def previous_rows(self) -> torch.Tensor:
        """For every row after the first step, the same sentence's row at the step before."""
        if len(self.counts) < 2:
            return self.positions.new_zeros(0)
        return torch.cat(
            [torch.arange(self.starts[t - 1], self.starts[t - 1] + count,
                          device=self.order.device)
             for t, count in enumerate(self.counts) if t > 0]
        )  # fmt: skip


def pack(lengths: torch.Tensor, steps: int) -> Packing:
    """The packing of sentences of `lengths` `[B]` (each at least 1) in a batch `steps` wide."""
    order = torch.argsort(lengths, descending=True, stable=True)
    sorted_lengths = lengths.index_select(0, order).tolist()
    if sorted_lengths[-1] < 1:
        raise ValueError("every sequence needs at least one position")
    counts = [sum(length > t for length in sorted_lengths) for t in range(sorted_lengths[0])]
    starts = [0]
    for count in counts[:-1]:
        starts.append(starts[-1] + count)
    positions = torch.cat([order[:count] * steps + t for t, count in enumerate(counts)])
    return Packing(order, sorted_lengths, counts, starts, positions)


def previous_rows_of(
    first: torch.Tensor, rows: torch.Tensor, packing: Packing, t: int
) -> torch.Tensor:
    """The rows of step t-1 `[counts[t], ...]` of the sentences still going at step t (a prefix
    of step t-1's rows), or `first` `[B, ...]`'s prefix at step 0."""
    if t == 0:
        return first[: packing.counts[0]]
    return rows[packing.before(t)]


def unpack(packed: torch.Tensor, positions: torch.Tensor, batch: int, steps: int) -> torch.Tensor:
    """Packed rows `[N, ...]` -> `[B, T, ...]`, zero where no row went."""
    flat = packed.new_zeros(batch * steps, *packed.shape[1:])
    return flat.index_copy_(0, positions, packed).view(batch, steps, *packed.shape[1:])


def unsort(sorted_rows: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
    """Rows in length order -> rows in batch order."""
    return torch.empty_like(sorted_rows).index_copy_(0, order, sorted_rows)
