"""LightningModule for forecasting: the loss of each window's forecast (MAE or MSE of a point
forecast, or the pinball loss of quantiles) over its observed targets, in scaled units;
validation scores every validation window over the whole horizon (a recursive model feeds its
forecasts back), and the best checkpoint has the lowest validation MAE."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import lightning as L
import torch

from nmt.engine.config import OptimConfig
from nmt.engine.optim import configure_optimization, schedule_callbacks
from nmt.engine.throughput import TrainingLog
from nmt.engine.validation import ValidationTally
from nmt.forecast.batch import ForecastBatch
from nmt.models.forecaster import WindowForecaster, roll_forward


def forecast_loss(
    outputs: torch.Tensor, targets: torch.Tensor, observed: torch.Tensor,
    quantiles: Sequence[float], loss: str = "mae",
) -> torch.Tensor:  # fmt: skip
    """Mean loss over the observed targets: pinball loss averaged over `quantiles` when there
    are any (outputs `[B, H, Q]`), else MAE or MSE of the point forecast (`[B, H, 1]`)."""
    weight = observed.float()
    count = weight.sum().clamp(min=1.0)
    error = targets[:, :, None] - outputs.float()  # [B, H, Q]
    if quantiles:
        levels = torch.tensor(quantiles, device=outputs.device)
        pinball = torch.maximum(levels * error, (levels - 1) * error).mean(-1)
        return (pinball * weight).sum() / count
    per_step = error[:, :, 0].abs() if loss == "mae" else error[:, :, 0] ** 2
    return (per_step * weight).sum() / count


class LitForecaster(L.LightningModule):
    """Training and validation of a WindowForecaster (a TaskModule: see nmt.engine.fit).
    `quantiles` are sorted; `recursive`: the network forecasts one step and validation feeds
    its forecasts back over `horizon` steps."""

    monitor = "val/mae"
    monitor_mode = "min"

    def __init__(
        self, build_model: Callable[[], WindowForecaster], optim: OptimConfig,
        quantiles: Sequence[float] = (), loss: str = "mae", recursive: bool = False,
        horizon: int = 1,
    ) -> None:  # fmt: skip
        super().__init__()
        self.build_model = build_model
        self.model: WindowForecaster | None = None
        self.optim = optim
        self.quantiles = list(quantiles)
        self.point = self.quantiles.index(0.5) if self.quantiles else 0
        self.loss_kind = loss
        self.recursive = recursive
        self.horizon = horizon
        self.training_log = TrainingLog()
        self._tally = ValidationTally(3)  # loss sum, absolute error sum, observed targets
        self.last_validated_step: int | None = None

    def configure_model(self) -> None:
        if self.model is None:
            self.model = self.build_model()

    def forecast(self, inputs: torch.Tensor) -> torch.Tensor:
        """`[B, horizon, Q]` forecasts of windows, fed back step by step if recursive."""
        if self.recursive:
            return roll_forward(self.model, inputs, self.horizon, self.point)
        return self.model(inputs)

    def training_step(self, batch: ForecastBatch, batch_idx: int) -> torch.Tensor:
        outputs = self.model(batch.inputs)
        loss = forecast_loss(outputs, batch.targets, batch.observed, self.quantiles,
                             self.loss_kind)  # fmt: skip
        self.training_log.step(self, loss, int(batch.observed.sum()),
                               batch_size=batch.targets.size(0))  # fmt: skip
        return loss

    def validation_step(self, batch: ForecastBatch, batch_idx: int) -> None:
        outputs = self.forecast(batch.inputs)
        count = float(batch.observed.sum())
        loss = forecast_loss(outputs, batch.targets, batch.observed, self.quantiles,
                             self.loss_kind)  # fmt: skip
        error = (outputs[:, :, self.point].float() - batch.targets).abs() * batch.observed
        self._tally.add([float(loss) * count, float(error.sum()), count])

    def on_validation_epoch_end(self) -> None:
        (loss, error, count), _ = self._tally.collect(self)
        if not count or self.trainer.sanity_checking:
            return
        self.last_validated_step = self.trainer.global_step
        self.log("val/loss", loss / count, sync_dist=False)
        self.log("val/mae", error / count, prog_bar=True, sync_dist=False)

    def configure_optimizers(self):
        return configure_optimization(self, self.optim)

    def configure_callbacks(self) -> list[L.Callback]:
        return [self.training_log, *schedule_callbacks(self.optim)]
