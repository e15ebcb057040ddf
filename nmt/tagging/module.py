"""LightningModule for tagging: loss, validation accuracy / entity F1, and the translator's
optimiser, schedule and throughput logging."""

from __future__ import annotations

from collections.abc import Sequence

import lightning as L
import torch
import torch.distributed as dist

from nmt.config import OptimConfig
from nmt.data.tag_vocab import TaggingVocab
from nmt.data.tagging import TaggingBatch
from nmt.models.tagger import RecurrentTagger
from nmt.tagging.metrics import score_tags
from nmt.training import TokenRate, configure_optimization, schedule_callbacks


def monitored_metric(bio: bool) -> str:
    """What picks the best checkpoint: entity F1 for BIO tags, token accuracy otherwise."""
    return "val/f1" if bio else "val/acc"


class LitTagger(L.LightningModule):
    def __init__(
        self,
        model: RecurrentTagger,
        optim: OptimConfig,
        vocab: TaggingVocab,
        validation_tags: Sequence[Sequence[str]],
        bio: bool,
    ) -> None:
        super().__init__()
        self.model = model
        self.optim = optim
        self.vocab = vocab
        self.validation_tags = [list(tags) for tags in validation_tags]
        self.bio = bio
        self._throughput = TokenRate()
        self.last_validated_step: int | None = None
        self._reset_validation()

    def _loss(self, batch: TaggingBatch, scores: torch.Tensor) -> tuple[torch.Tensor, int]:
        tokens = int(batch.lengths.sum())
        return self.model.loss(scores, batch.lengths, batch.tags) / tokens, tokens

    def _scores(self, batch: TaggingBatch) -> torch.Tensor:
        return self.model.scores(batch.words, batch.chars, batch.lengths)

    def training_step(self, batch: TaggingBatch, batch_idx: int) -> torch.Tensor:
        loss, tokens = self._loss(batch, self._scores(batch))
        self._throughput.add(tokens, tokens)
        self.log("train/loss", loss, prog_bar=True, batch_size=tokens)
        self.log("lr", self.optimizers().param_groups[0]["lr"], batch_size=tokens)
        rate = self._throughput.rate()
        if rate is not None:
            self.log("tok/s", rate.tgt, prog_bar=True, batch_size=tokens)
        return loss

    def on_train_batch_end(self, outputs, batch, batch_idx: int) -> None:
        self._throughput.tick()

    def on_validation_start(self) -> None:
        self._throughput.pause()

    def _reset_validation(self) -> None:
        self._val_sums = torch.zeros(2, dtype=torch.float64)  # loss sum, tokens
        self._val_predictions: list[tuple[int, list[str]]] = []

    def validation_step(self, batch: TaggingBatch, batch_idx: int) -> None:
        scores = self._scores(batch)
        loss, tokens = self._loss(batch, scores)
        self._val_sums += torch.tensor([float(loss) * tokens, tokens], dtype=torch.float64)
        predicted = self.model.decode(scores, batch.lengths).tolist()
        for index, ids, length in zip(batch.index.tolist(), predicted, batch.lengths.tolist()):
            self._val_predictions.append((index, self.vocab.tag_names(ids[:length])))

    def on_validation_epoch_end(self) -> None:
        sums, predictions = self._val_sums, self._val_predictions
        if dist.is_available() and dist.is_initialized():
            sums = self.all_gather(sums.to(self.device)).reshape(-1, 2).sum(0).cpu()
            gathered: list = [None] * dist.get_world_size()
            dist.all_gather_object(gathered, predictions)
            predictions = [pair for part in gathered for pair in part]
        self._reset_validation()
        if not predictions or self.trainer.sanity_checking:
            return
        self.last_validated_step = self.trainer.global_step
        by_index = dict(predictions)
        order = sorted(by_index)
        scores = score_tags(
            [self.validation_tags[i] for i in order], [by_index[i] for i in order], self.bio
        )
        loss, tokens = sums.tolist()
        self.log("val/loss", loss / tokens, sync_dist=False)
        self.log("val/acc", scores["accuracy"], prog_bar=True, sync_dist=False)
        if self.bio:
            self.log("val/f1", scores["entities"]["f1"], prog_bar=True, sync_dist=False)

    def configure_optimizers(self):
        return configure_optimization(self, self.optim, monitored_metric(self.bio))

    def configure_callbacks(self) -> list[L.Callback]:
        return schedule_callbacks(self.optim)
