"""Training tokens per second, as the progress bar and the metrics log show them."""

from __future__ import annotations

import time
from typing import NamedTuple

import lightning as L
import torch


class Rate(NamedTuple):
    tgt: float
    src: float


class TokenRate:
    """Training tokens per second over recent steps, measured wall-clock from one step's end to
    the next (so data loading counts), with validation and the first step left out."""

    def __init__(self, window: int = 50) -> None:
        self.window = window
        self._last_tick: float | None = None
        self._pending = (0, 0)
        self._history: list[tuple[float, int, int]] = []

    def add(self, tgt_tokens: int, src_tokens: int) -> None:
        self._pending = (tgt_tokens, src_tokens)

    def tick(self) -> None:
        now = time.perf_counter()
        if self._last_tick is not None:
            self._history.append((now - self._last_tick, *self._pending))
            self._history = self._history[-self.window :]
        self._last_tick = now

    def pause(self) -> None:
        self._last_tick = None

    def rate(self) -> Rate | None:
        if not self._history:
            return None
        seconds = sum(h[0] for h in self._history)
        return Rate(
            sum(h[1] for h in self._history) / seconds, sum(h[2] for h in self._history) / seconds
        )


class TrainingLog(L.Callback):
    """What every task module logs at a training step: the loss (on the progress bar), the
    learning rate, and tokens per second. The module calls `step` from training_step; as a
    callback (the module's configure_callbacks returns it) it times the steps, leaving
    validation out."""

    def __init__(self) -> None:
        self.rate = TokenRate()

    def step(
        self, module: L.LightningModule, loss: torch.Tensor, tokens: int,
        src_tokens: int | None = None, batch_size: int | None = None,
    ) -> None:  # fmt: skip
        """Log this step's loss and lr, and the rate of `tokens` (also of `src_tokens`, when a
        task reads one text and writes another) per second over recent steps."""
        size = batch_size or tokens
        self.rate.add(tokens, tokens if src_tokens is None else src_tokens)
        module.log("train/loss", loss, prog_bar=True, batch_size=size)
        module.log("lr", module.optimizers().param_groups[0]["lr"], batch_size=size)
        rate = self.rate.rate()
        if rate is not None:
            module.log("tok/s", rate.tgt, prog_bar=True, batch_size=size)
            if src_tokens is not None:
                module.log("train/src_tok_per_s", rate.src, batch_size=size)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        self.rate.tick()

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.rate.pause()  # validation time does not count towards training speed
