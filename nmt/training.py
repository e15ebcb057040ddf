"""LightningModule for translation: loss, optimiser and schedule, logging, validation BLEU.

The network is a plain `Seq2Seq` built elsewhere; this module does no tensor math beyond the loss.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

import lightning as L
import sacrebleu
import torch
import torch.distributed as dist
from lightning.pytorch.callbacks import Timer

from nmt.config import OptimConfig
from nmt.data.batching import TranslationBatch
from nmt.data.tokenizer import BOS_ID, EOS_ID, PAD_ID
from nmt.errors import NmtError
from nmt.models.seq2seq import Seq2Seq
from nmt.search import greedy_search


class TokenLoss(NamedTuple):
    loss: torch.Tensor  # label-smoothed cross-entropy per target token (what is optimised)
    nll: torch.Tensor  # plain negative log-likelihood per target token (for perplexity)
    tokens: int  # non-padding target tokens


def smoothed_cross_entropy(
    logits: torch.Tensor, target: torch.Tensor, label_smoothing: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed label-smoothed loss and summed NLL of logits `[N, V]` against target `[N]`.

    The smoothing mass is spread uniformly over the whole vocabulary, as in
    `torch.nn.functional.cross_entropy(label_smoothing=...)`; one log-softmax serves both sums.
    """
    log_probs = torch.log_softmax(logits.float(), dim=-1)
    nll_sum = -log_probs.gather(1, target[:, None]).sum()
    if label_smoothing == 0.0:
        # The mean's backward would add a full [N, V] division and sum for a zero weight.
        return nll_sum, nll_sum
    uniform_sum = -log_probs.mean(dim=-1).sum()
    return (1.0 - label_smoothing) * nll_sum + label_smoothing * uniform_sum, nll_sum


class LitSeq2Seq(L.LightningModule):
    def __init__(
        self,
        model: Seq2Seq,
        optim: OptimConfig,
        detokenize: Callable[[list[list[int]]], list[str]],
        validation_references: Sequence[str],
        max_length_a: float = 1.5,
        max_length_b: int = 10,
    ) -> None:
        super().__init__()
        self.model = model
        self.optim = optim
        self.detokenize = detokenize
        self.validation_references = list(validation_references)
        self.max_length_a = max_length_a
        self.max_length_b = max_length_b
        self._throughput = TokenRate()
        self.last_validated_step: int | None = None
        self._reset_validation()

    # ----- loss -----
    def token_loss(self, batch: TranslationBatch) -> TokenLoss:
        features = self.model.features(batch.src, batch.src_lengths, batch.tgt_in)  # [B, T, O]
        non_pad = batch.tgt_out != PAD_ID
        # Only real target positions go through the output layer, the largest matrix product.
        logits = self.model.generator(features[non_pad])  # [N, V]
        loss_sum, nll_sum = smoothed_cross_entropy(
            logits, batch.tgt_out[non_pad], self.optim.label_smoothing
        )
        tokens = int(non_pad.sum())
        return TokenLoss(loss_sum / tokens, nll_sum / tokens, tokens)

    # ----- training -----
    def training_step(self, batch: TranslationBatch, batch_idx: int) -> torch.Tensor:
        parts = self.token_loss(batch)
        self._throughput.add(parts.tokens, int(batch.src_lengths.sum()))
        self.log("train/loss", parts.loss, prog_bar=True, batch_size=parts.tokens)
        self.log("train/ppl", torch.exp(parts.nll.detach()), batch_size=parts.tokens)
        self.log("lr", self.optimizers().param_groups[0]["lr"], batch_size=parts.tokens)
        rate = self._throughput.rate()
        if rate is not None:
            self.log("tok/s", rate.tgt, prog_bar=True, batch_size=parts.tokens)
            self.log("train/src_tok_per_s", rate.src, batch_size=parts.tokens)
        return parts.loss

    def on_train_batch_end(self, outputs, batch, batch_idx: int) -> None:
        self._throughput.tick()

    def on_validation_start(self) -> None:
        self._throughput.pause()  # validation time does not count towards training speed

    # ----- validation -----
    def _reset_validation(self) -> None:
        self._val_sums = torch.zeros(3, dtype=torch.float64)  # loss sum, nll sum, tokens
        self._val_hypotheses: list[tuple[int, str]] = []

    def validation_step(self, batch: TranslationBatch, batch_idx: int) -> None:
        parts = self.token_loss(batch)
        self._val_sums += torch.tensor(
            [float(parts.loss) * parts.tokens, float(parts.nll) * parts.tokens, parts.tokens],
            dtype=torch.float64,
        )
        found = greedy_search(
            self.model,
            batch.src,
            batch.src_lengths,
            BOS_ID,
            EOS_ID,
            PAD_ID,
            self.max_length_a,
            self.max_length_b,
        )
        texts = self.detokenize(found.tokens.tolist())
        self._val_hypotheses.extend(zip(batch.index.tolist(), texts))

    def on_validation_epoch_end(self) -> None:
        sums, hypotheses = self._val_sums, self._val_hypotheses
        if dist.is_available() and dist.is_initialized():
            sums = self.all_gather(sums.to(self.device)).reshape(-1, 3).sum(0).cpu()
            gathered: list = [None] * dist.get_world_size()
            dist.all_gather_object(gathered, hypotheses)
            hypotheses = [pair for part in gathered for pair in part]
        self._reset_validation()
        if not hypotheses or self.trainer.sanity_checking:
            return
        self.last_validated_step = self.trainer.global_step
        by_index = dict(hypotheses)
        references = [self.validation_references[i] for i in sorted(by_index)]
        bleu = sacrebleu.corpus_bleu([by_index[i] for i in sorted(by_index)], [references])
        loss, nll, tokens = sums.tolist()
        self.log("val/loss", loss / tokens, sync_dist=False)
        self.log("val/ppl", math.exp(min(nll / tokens, 50.0)), sync_dist=False)
        self.log("val/bleu", bleu.score, prog_bar=True, sync_dist=False)

    # ----- optimisation -----
    def configure_optimizers(self):
        return configure_optimization(self, self.optim, monitor="val/bleu")

    def configure_callbacks(self) -> list[L.Callback]:
        return schedule_callbacks(self.optim)


def configure_optimization(module: L.LightningModule, optim: OptimConfig, monitor: str) -> dict:
    """`build_optimization` for a module's configure_optimizers, fit for mixed precision.

    Lightning refuses to clip the gradients of an optimiser that says it unscales them itself
    (fused Adam does). Under mixed precision the optimiser says it does not: Lightning then
    unscales before clipping (16-mixed) or has nothing to unscale (bf16-mixed), and the fused
    kernel steps on the true gradients."""
    optimization = build_optimization(module.parameters(), optim, monitor)
    if "mixed" in str(module.trainer.precision):
        optimization["optimizer"]._step_supports_amp_scaling = False
    return optimization


def build_optimization(parameters, optim: OptimConfig, monitor: str) -> dict:
    """Optimiser and learning-rate schedule as Lightning wants them from configure_optimizers;
    the plateau schedule watches `monitor` (higher is better)."""
    optimizer_class = torch.optim.AdamW if optim.optimizer == "adamw" else torch.optim.Adam
    parameters = list(parameters)
    # The fused kernel updates each tensor in one pass instead of one pass per arithmetic op.
    fused = all(p.device.type in ("cpu", "cuda") and p.is_floating_point() for p in parameters)
    optimizer = optimizer_class(
        parameters, lr=optim.lr, betas=tuple(optim.betas), weight_decay=optim.weight_decay,
        fused=fused or None,
    )  # fmt: skip
    if optim.schedule in ("constant", "budget"):  # budget: see BudgetDecay
        return {"optimizer": optimizer}
    if optim.schedule == "plateau":
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer,
            mode="max",
            factor=optim.plateau_factor,
            patience=optim.plateau_patience,
            min_lr=optim.min_lr,
        )
        return {
            "optimizer": optimizer,
            # strict=False: an epoch cut short by a time budget may end before any validation
            "lr_scheduler": {
                "scheduler": scheduler,
                "monitor": monitor,
                "interval": "epoch",
                "strict": False,
            },
        }
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, inverse_sqrt_schedule(optim.warmup_steps)
    )
    return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}


def schedule_callbacks(optim: OptimConfig) -> list[L.Callback]:
    """Callbacks a module's `configure_callbacks` returns for its learning-rate schedule."""
    if optim.schedule == "budget":
        return [BudgetDecay(optim.lr, optim.min_lr, optim.decay_fraction)]
    return []


class BudgetDecay(L.Callback):
    """Learning rate over a wall-clock budget (trainer.max_minutes): the base rate, then a linear
    decay to min_lr over the budget's last `decay_fraction`, read from the clock that stops
    training (Lightning's Timer), so the run ends on small steps whatever its step count."""

    def __init__(self, base_lr: float, min_lr: float, decay_fraction: float) -> None:
        if not 0.0 < decay_fraction <= 1.0:
            raise NmtError(f"optim.decay_fraction must be in (0, 1], got {decay_fraction}")
        self.base_lr = base_lr
        self.min_lr = min_lr
        self.decay_fraction = decay_fraction
        self.timer: Timer | None = None

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.timer = next((c for c in trainer.callbacks if isinstance(c, Timer)), None)
        if self.timer is None:
            raise NmtError(
                "optim.schedule=budget decays over a time budget: set trainer.max_minutes"
            )

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx: int) -> None:
        elapsed = self.timer.time_elapsed("train")
        remaining = self.timer.time_remaining("train") or 0.0
        self.set(trainer, self.rate(remaining / max(elapsed + remaining, 1e-9)))

    def rate(self, fraction_left: float) -> float:
        if fraction_left >= self.decay_fraction:
            return self.base_lr
        share = max(0.0, fraction_left) / self.decay_fraction
        return self.min_lr + (self.base_lr - self.min_lr) * share

    @staticmethod
    def set(trainer: L.Trainer, lr: float) -> None:
        for optimizer in trainer.optimizers:
            for group in optimizer.param_groups:
                group["lr"] = lr


def inverse_sqrt_schedule(warmup_steps: int) -> Callable[[int], float]:
    """Linear warm-up to the base rate, then decay with the inverse square root of the step."""
    warmup = max(1, warmup_steps)

    def factor(step: int) -> float:
        step = step + 1
        return min(step / warmup, math.sqrt(warmup / step))

    return factor


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
