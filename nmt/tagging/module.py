"""LightningModule for tagging: the loss, and validation loss, token accuracy and (for BIO tags)
entity F1. The network is a plain `RecurrentTagger`, built in `configure_model` once the data
module has the vocabularies."""

from __future__ import annotations

from collections.abc import Callable

import lightning as L
import torch

from nmt.engine.config import OptimConfig
from nmt.engine.optim import configure_optimization, schedule_callbacks
from nmt.engine.throughput import TrainingLog
from nmt.engine.validation import ValidationTally
from nmt.models.tagger import RecurrentTagger
from nmt.tagging.batch import TaggingBatch
from nmt.tagging.metrics import score_tags


def monitored_metric(bio: bool) -> str:
    """What picks the best checkpoint: entity F1 for BIO tags, token accuracy otherwise."""
    return "val/f1" if bio else "val/acc"


class LitTagger(L.LightningModule):
    """Training and validation of a RecurrentTagger (a TaskModule: see nmt.engine.fit). The data
    module gives the vocabulary and the validation split's gold tags."""

    def __init__(
        self, build_model: Callable[[], RecurrentTagger], optim: OptimConfig, bio: bool
    ) -> None:
        super().__init__()
        self.build_model = build_model
        self.model: RecurrentTagger | None = None
        self.optim = optim
        self.bio = bio
        self.monitor = monitored_metric(bio)
        self.monitor_mode = "max"
        self.training_log = TrainingLog()
        self._tally = ValidationTally(2)  # loss sum, tokens; records: (index, predicted tags)
        self.last_validated_step: int | None = None

    def configure_model(self) -> None:
        if self.model is None:
            self.model = self.build_model()

    def _loss(self, batch: TaggingBatch, scores: torch.Tensor) -> tuple[torch.Tensor, int]:
        """Mean loss per token of the network's `scores` (the output layer's: softmax
        cross-entropy or CRF negative log-likelihood), and the token count."""
        tokens = int(batch.lengths.sum())
        return self.model.loss(scores, batch.lengths, batch.tags) / tokens, tokens

    def _scores(self, batch: TaggingBatch) -> torch.Tensor:
        return self.model.scores(batch.words, batch.chars, batch.lengths)

    def training_step(self, batch: TaggingBatch, batch_idx: int) -> torch.Tensor:
        loss, tokens = self._loss(batch, self._scores(batch))
        self.training_log.step(self, loss, tokens)
        return loss

    def validation_step(self, batch: TaggingBatch, batch_idx: int) -> None:
        scores = self._scores(batch)
        loss, tokens = self._loss(batch, scores)
        predicted = self.model.decode(scores, batch.lengths).tolist()
        names = self.trainer.datamodule.vocab.tag_names
        tags = [names(ids[:length]) for ids, length in zip(predicted, batch.lengths.tolist())]
        self._tally.add([float(loss) * tokens, tokens], zip(batch.index.tolist(), tags))

    def on_validation_epoch_end(self) -> None:
        (loss, tokens), predictions = self._tally.collect(self)
        if not predictions or self.trainer.sanity_checking:
            return
        self.last_validated_step = self.trainer.global_step
        gold = self.trainer.datamodule.validation_tags
        order = sorted(predictions)
        scores = score_tags([gold[i] for i in order], [predictions[i] for i in order], self.bio)
        self.log("val/loss", loss / tokens, sync_dist=False)
        self.log("val/acc", scores["accuracy"], prog_bar=True, sync_dist=False)
        if self.bio:
            self.log("val/f1", scores["entities"]["f1"], prog_bar=True, sync_dist=False)

    def configure_optimizers(self):
        return configure_optimization(self, self.optim)

    def configure_callbacks(self) -> list[L.Callback]:
        return [self.training_log, *schedule_callbacks(self.optim)]
