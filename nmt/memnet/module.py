"""LightningModule for the memory-network reader: answer cross-entropy and validation accuracy
overall and per question type."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import lightning as L
import torch

from nmt.config import OptimConfig
from nmt.data.story_data import StoryBatch
from nmt.models.memnet import MemoryNetworkReader
from nmt.training import configure_optimization, schedule_callbacks


def accuracy_by_type(
    correct: Sequence[bool], types: Sequence[str]
) -> tuple[float, dict[str, float]]:
    """Overall and per-type accuracy, in percent."""
    by_type: dict[str, list[bool]] = defaultdict(list)
    for hit, kind in zip(correct, types):
        by_type[kind].append(hit)
    overall = 100 * sum(correct) / max(1, len(correct))
    return overall, {k: 100 * sum(v) / len(v) for k, v in sorted(by_type.items())}


class LitMemNet(L.LightningModule):
    def __init__(
        self, model: MemoryNetworkReader, optim: OptimConfig, validation_types: Sequence[str]
    ) -> None:
        super().__init__()
        self.model = model
        self.optim = optim
        self.validation_types = list(validation_types)
        self.last_validated_step: int | None = None
        self._hits: dict[int, bool] = {}

    def _loss(self, batch: StoryBatch) -> tuple[torch.Tensor, torch.Tensor]:
        logits = self.model(batch.story, batch.story_mask, batch.question).logits
        return torch.nn.functional.cross_entropy(logits.float(), batch.answer), logits

    def training_step(self, batch: StoryBatch, batch_idx: int) -> torch.Tensor:
        loss, _ = self._loss(batch)
        self.log("train/loss", loss, prog_bar=True, batch_size=batch.answer.numel())
        return loss

    def validation_step(self, batch: StoryBatch, batch_idx: int) -> None:
        loss, logits = self._loss(batch)
        self.log("val/loss", loss, batch_size=batch.answer.numel())
        hits = (logits.argmax(-1) == batch.answer).tolist()
        self._hits.update(zip(batch.index.tolist(), hits))

    def on_validation_epoch_end(self) -> None:
        hits, self._hits = self._hits, {}
        if not hits or self.trainer.sanity_checking:
            return
        self.last_validated_step = self.trainer.global_step
        order = sorted(hits)
        overall, by_type = accuracy_by_type(
            [hits[i] for i in order], [self.validation_types[i] for i in order]
        )
        self.log("val/acc", overall, prog_bar=True)
        for kind, accuracy in by_type.items():
            self.log(f"val/acc_{kind}", accuracy)

    def configure_optimizers(self):
        return configure_optimization(self, self.optim, "val/acc")

    def configure_callbacks(self) -> list[L.Callback]:
        return schedule_callbacks(self.optim)
