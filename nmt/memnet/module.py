"""LightningModule for the memory-network reader: answer cross-entropy, and validation loss and
accuracy overall and per question type, gathered over every rank's share of the questions."""

from __future__ import annotations

import logging
from collections.abc import Callable

import lightning as L
import torch

from nmt.engine.config import OptimConfig
from nmt.engine.optim import configure_optimization, schedule_callbacks
from nmt.engine.throughput import TrainingLog
from nmt.engine.validation import ValidationTally
from nmt.memnet.batch import StoryBatch
from nmt.memnet.metrics import accuracy_by_type
from nmt.memnet.model import AnyReader

logger = logging.getLogger(__name__)


class LitMemNet(L.LightningModule):
    """Training and validation of a reader, either kind (a TaskModule: see nmt.engine.fit). The
    data module gives the validation questions' types."""

    monitor = "val/acc"
    monitor_mode = "max"

    def __init__(
        self, build_model: Callable[[], AnyReader], optim: OptimConfig,
        linear_start_epochs: int = 0,
    ) -> None:  # fmt: skip
        super().__init__()
        self.build_model = build_model
        self.linear_start_epochs = linear_start_epochs
        self.model: AnyReader | None = None
        self.optim = optim
        self.training_log = TrainingLog()  # "tokens" here: questions
        self._tally = ValidationTally(2)  # loss sum, questions; records: (index, correct)
        self.last_validated_step: int | None = None

    def configure_model(self) -> None:
        if self.model is None:
            self.model = self.build_model()
            self.model.linear_start = self.linear_start_epochs > 0  # (a resumed run: its own)

    def _loss(self, batch: StoryBatch) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean answer cross-entropy of the batch, and the answer logits."""
        logits = self.model(batch.story, batch.story_mask, batch.question).logits
        return torch.nn.functional.cross_entropy(logits.float(), batch.answer), logits

    def training_step(self, batch: StoryBatch, batch_idx: int) -> torch.Tensor:
        loss, _ = self._loss(batch)
        self.training_log.step(self, loss, batch.answer.numel())
        return loss

    def validation_step(self, batch: StoryBatch, batch_idx: int) -> None:
        loss, logits = self._loss(batch)
        questions = batch.answer.numel()
        hits = (logits.argmax(-1) == batch.answer).tolist()
        self._tally.add([float(loss) * questions, questions], zip(batch.index.tolist(), hits))

    def on_validation_epoch_end(self) -> None:
        (loss, questions), hits = self._tally.collect(self)
        if not hits or self.trainer.sanity_checking:
            return
        self.last_validated_step = self.trainer.global_step
        types = self.trainer.datamodule.validation_types
        order = sorted(hits)
        overall, by_type = accuracy_by_type([hits[i] for i in order], [types[i] for i in order])
        self.log("val/loss", loss / questions, sync_dist=False)
        self.log("val/acc", overall, prog_bar=True, sync_dist=False)
        for kind, accuracy in by_type.items():
            self.log(f"val/acc_{kind}", accuracy, sync_dist=False)

    def on_train_epoch_start(self) -> None:
        if self.model.linear_start and self.current_epoch >= self.linear_start_epochs:
            self.model.linear_start = False
            logger.info("linear start ends after %d epochs (step %d): the memory's softmax is "
                        "back", self.current_epoch, self.trainer.global_step)  # fmt: skip

    def configure_optimizers(self):
        return configure_optimization(self, self.optim)

    def configure_callbacks(self) -> list[L.Callback]:
        return [self.training_log, *schedule_callbacks(self.optim)]
