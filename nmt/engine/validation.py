"""What a validation pass collects, gathered from every rank.

The validation loaders shard the data across DDP ranks, so a score computed from one rank's
batches would describe one shard. Each task module adds sums (loss, token counts) and
per-example records keyed by dataset index as batches pass; `collect` returns the sums over all
ranks and every rank's records, so every rank computes the same score over the whole split.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import lightning as L
import torch
import torch.distributed as dist


class ValidationTally:
    def __init__(self, sums: int) -> None:
        self.size = sums
        self.reset()

    def reset(self) -> None:
        self.sums = torch.zeros(self.size, dtype=torch.float64)
        self.records: list[tuple[int, Any]] = []

    def add(self, sums: Sequence[float], records: Iterable[tuple[int, Any]] = ()) -> None:
        """Add this batch's sums and its (dataset index, record) pairs."""
        self.sums += torch.tensor(sums, dtype=torch.float64)
        self.records.extend(records)

    def collect(self, module: L.LightningModule) -> tuple[list[float], dict[int, Any]]:
        """Sums over all ranks and the records of all ranks by dataset index; resets the tally.
        Every rank must call it (it is a collective operation under DDP)."""
        sums, records = self.sums, self.records
        self.reset()
        if dist.is_available() and dist.is_initialized():
            sums = module.all_gather(sums.to(module.device)).reshape(-1, self.size).sum(0).cpu()
            gathered: list = [None] * dist.get_world_size()
            dist.all_gather_object(gathered, records)
            records = [record for part in gathered for record in part]
        return sums.tolist(), dict(records)
