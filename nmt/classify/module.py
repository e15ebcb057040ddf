"""LightningModule for classification: the (optionally class-weighted) cross-entropy, and
validation loss, accuracy and macro-F1. The network is a plain `SequenceClassifier`, built in
`configure_model` once the data module has the vocabulary."""

from __future__ import annotations

from collections.abc import Callable

import lightning as L
import torch

from nmt.classify.batch import ClassifyBatch
from nmt.classify.metrics import classification_scores
from nmt.engine.config import OptimConfig
from nmt.engine.optim import configure_optimization, schedule_callbacks
from nmt.engine.throughput import TrainingLog
from nmt.engine.validation import ValidationTally
from nmt.models.classifier import SequenceClassifier


class LitClassifier(L.LightningModule):
    """Training and validation of a SequenceClassifier (a TaskModule: see nmt.engine.fit). The
    data module gives the vocabulary and the validation labels; `class_weights` (built with
    the network) weighs each class's share of the loss, or is None."""

    monitor = "val/acc"
    monitor_mode = "max"

    def __init__(
        self,
        build_model: Callable[[], SequenceClassifier],
        optim: OptimConfig,
        class_weights: Callable[[], torch.Tensor | None] = lambda: None,
    ) -> None:
        super().__init__()
        self.build_model = build_model
        self.build_class_weights = class_weights
        self.model: SequenceClassifier | None = None
        self.optim = optim
        self.training_log = TrainingLog()
        self._tally = ValidationTally(2)  # loss sum, texts; records: (index, predicted label id)
        self.last_validated_step: int | None = None

    def configure_model(self) -> None:
        if self.model is None:
            self.model = self.build_model()
            weights = self.build_class_weights()
            self.register_buffer("class_weights", weights, persistent=False)

    def _loss(self, batch: ClassifyBatch) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean cross-entropy of the batch's labels, and the class scores `[B, C]`."""
        logits = self.model(batch.tokens, batch.chars, batch.lengths).logits
        loss = torch.nn.functional.cross_entropy(
            logits.float(), batch.labels, weight=self.class_weights
        )
        return loss, logits

    def training_step(self, batch: ClassifyBatch, batch_idx: int) -> torch.Tensor:
        loss, _ = self._loss(batch)
        self.training_log.step(
            self, loss, int(batch.lengths.sum()), batch_size=batch.labels.numel()
        )
        return loss

    def validation_step(self, batch: ClassifyBatch, batch_idx: int) -> None:
        loss, logits = self._loss(batch)
        texts = batch.labels.numel()
        predicted = logits.argmax(-1).tolist()
        self._tally.add([float(loss) * texts, texts], zip(batch.index.tolist(), predicted))

    def on_validation_epoch_end(self) -> None:
        (loss, texts), predicted = self._tally.collect(self)
        if not predicted or self.trainer.sanity_checking:
            return
        self.last_validated_step = self.trainer.global_step
        labels = self.trainer.datamodule.vocab.labels
        gold = self.trainer.datamodule.validation_labels
        order = sorted(predicted)
        scores = classification_scores(
            [gold[i] for i in order], [labels[predicted[i]] for i in order], labels
        )
        self.log("val/loss", loss / texts, sync_dist=False)
        self.log("val/acc", scores["accuracy"], prog_bar=True, sync_dist=False)
        self.log("val/macro_f1", scores["macro_f1"], sync_dist=False)

    def configure_optimizers(self):
        return configure_optimization(self, self.optim)

    def configure_callbacks(self) -> list[L.Callback]:
        return [self.training_log, *schedule_callbacks(self.optim)]
