"""Optimiser and learning-rate schedules, as every task's LightningModule returns them from
`configure_optimizers` and `configure_callbacks`: Adam/AdamW (fused where the device allows),
constant, plateau (on the monitored validation score), step (every optim.step_epochs epochs),
inverse square root with warm-up, or a linear decay over the end of a wall-clock budget."""

from __future__ import annotations

import math
from collections.abc import Callable

import lightning as L
import torch
from lightning.pytorch.callbacks import Timer

from nmt.engine.config import OptimConfig
from nmt.errors import NmtError


def configure_optimization(module: L.LightningModule, optim: OptimConfig) -> dict:
    """`build_optimization` for a task module's configure_optimizers (its `monitor` and
    `monitor_mode` drive the plateau schedule), fit for mixed precision.

    Lightning refuses to clip the gradients of an optimiser that says it unscales them itself
    (fused Adam does). Under mixed precision the optimiser says it does not: Lightning then
    unscales before clipping (16-mixed) or has nothing to unscale (bf16-mixed), and the fused
    kernel steps on the true gradients."""
    optimization = build_optimization(
        module.parameters(), optim, module.monitor, module.monitor_mode
    )
    if "mixed" in str(module.trainer.precision):
        optimization["optimizer"]._step_supports_amp_scaling = False
    return optimization


def build_optimization(
    parameters, optim: OptimConfig, monitor: str, mode: str = "max"
) -> dict:
    """Optimiser and learning-rate schedule as Lightning wants them from configure_optimizers;
    the plateau schedule watches `monitor` (higher is better, or lower with mode "min")."""
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
            mode=mode,
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
    if optim.schedule == "step":
        scheduler = torch.optim.lr_scheduler.StepLR(
            optimizer, optim.step_epochs, optim.plateau_factor
        )
        return {"optimizer": optimizer,
                "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"}}  # fmt: skip
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


