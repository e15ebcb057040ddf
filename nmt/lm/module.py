"""LightningModule for language models: next-token cross-entropy, with truncated
backpropagation through time in stream mode (the state is carried from one chunk to the next,
detached, so gradients stop at chunk boundaries); validation loss over every token of the
validation text (nats per token, perplexity, bits). The best checkpoint has the lowest loss."""

from __future__ import annotations

import math
from collections.abc import Callable

import lightning as L
import torch

from nmt.data.special import PAD_ID
from nmt.engine.config import OptimConfig
from nmt.engine.optim import configure_optimization, schedule_callbacks
from nmt.engine.throughput import TrainingLog
from nmt.engine.validation import ValidationTally
from nmt.lm.batch import LmBatch
from nmt.models.language_model import LmState, NextTokenModel


class LitLanguageModel(L.LightningModule):
    """Training and validation of a NextTokenModel (a TaskModule: see nmt.engine.fit)."""

    monitor = "val/loss"
    monitor_mode = "min"

    def __init__(
        self, build_model: Callable[[], NextTokenModel], optim: OptimConfig
    ) -> None:
        super().__init__()
        self.build_model = build_model
        self.model: NextTokenModel | None = None
        self.optim = optim
        self.training_log = TrainingLog()
        self._tally = ValidationTally(2)  # nll sum, tokens
        self._state: dict[str, LmState | None] = {"train": None, "validation": None}
        self.last_validated_step: int | None = None

    def configure_model(self) -> None:
        if self.model is None:
            self.model = self.build_model()

    def _nll(self, batch: LmBatch, stage: str) -> tuple[torch.Tensor, int]:
        """Summed negative log-likelihood of the batch's targets and their count; in stream mode
        the state runs on from the previous chunk of the same streams."""
        state = self._state[stage]
        if batch.starts or state is None or state.hidden.size(0) != batch.inputs.size(0):
            state = self.model.initial_state(batch.inputs.size(0), batch.inputs.device)
        features, state = self.model.features(batch.inputs, self.model.detach(state))
        self._state[stage] = state
        real = batch.targets != PAD_ID
        logits = self.model.output(features[real])  # [N, V]: only real targets
        nll = torch.nn.functional.cross_entropy(
            logits.float(), batch.targets[real], reduction="sum"
        )
        return nll, int(real.sum())

    def training_step(self, batch: LmBatch, batch_idx: int) -> torch.Tensor:
        nll, tokens = self._nll(batch, "train")
        loss = nll / max(tokens, 1)
        self.training_log.step(self, loss, tokens)
        return loss

    def on_validation_start(self) -> None:
        self._state["validation"] = None

    def validation_step(self, batch: LmBatch, batch_idx: int) -> None:
        nll, tokens = self._nll(batch, "validation")
        self._tally.add([float(nll), tokens])

    def on_validation_epoch_end(self) -> None:
        (nll, tokens), _ = self._tally.collect(self)
        if not tokens or self.trainer.sanity_checking:
            return
        self.last_validated_step = self.trainer.global_step
        loss = nll / tokens
        self.log("val/loss", loss, prog_bar=True, sync_dist=False)
        self.log("val/ppl", math.exp(min(loss, 50.0)), sync_dist=False)
        self.log("val/bits", loss / math.log(2), sync_dist=False)

    def configure_optimizers(self):
        return configure_optimization(self, self.optim)

    def configure_callbacks(self) -> list[L.Callback]:
        return [self.training_log, *schedule_callbacks(self.optim)]
