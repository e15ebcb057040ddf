"""Window forecaster: a window of past steps `[B, L, F]` -> a summary vector (an MLP over the
flattened window, the last state of a recurrent encoder, or the last position of a dilated
causal convolution) -> a linear head giving `horizon` steps x quantiles.

Each window is shifted by its own level (channel 0, the series itself: its last observed value
or its mean) before the encoder sees it, and the forecast is shifted back: the network learns
shapes, not levels, so a trend that leaves the training range is still followed.
"""

from __future__ import annotations

import torch
from torch import nn


class MlpSummary(nn.Module):
    """The whole window, flattened, through `layers` hidden layers: no memory beyond it."""

    def __init__(
        self, input_length: int, feature_size: int, hidden_size: int, layers: int,
        dropout: float = 0.0,
    ) -> None:  # fmt: skip
        super().__init__()
        blocks: list[nn.Module] = []
        size = input_length * feature_size
        for _ in range(layers):
            blocks += [nn.Linear(size, hidden_size), nn.ReLU(), nn.Dropout(dropout)]
            size = hidden_size
        self.net = nn.Sequential(*blocks)
        self.output_size = size

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.net(inputs.flatten(1))


class RecurrentSummary(nn.Module):
    """The top layer's output at the window's last step."""

    def __init__(self, rnn: nn.RNNBase) -> None:
        super().__init__()
        self.rnn = rnn
        self.output_size = rnn.hidden_size

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        outputs, _ = self.rnn(inputs)
        return outputs[:, -1]


class ConvSummary(nn.Module):
    """The output of a causal convolution (nmt.models.conv) at the window's last step: it sees
    the last `receptive_field` steps of the window."""

    def __init__(self, conv: nn.Module) -> None:
        super().__init__()
        self.conv = conv
        self.output_size = conv.output_size

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.conv(inputs)[:, -1]


class WindowForecaster(nn.Module):
    """Forecasts `[B, horizon, quantiles]` (scaled units) of windows `[B, L, F]`.

    level: "none", "last" or "mean" of the observed values of channel 0; `observed_channel`
    is the input channel that flags observed steps (masked missing values), or None;
    `skip_length`: the window length, for a linear map from the window's series values to the
    forecast added to the encoder's (a linear autoregression the network only corrects: it
    can copy last season's values exactly), or None for none."""

    def __init__(
        self, summary: nn.Module, horizon: int, quantiles: int = 1, level: str = "mean",
        observed_channel: int | None = None, dropout: float = 0.0,
        skip_length: int | None = None,
    ) -> None:  # fmt: skip
        super().__init__()
        if level not in ("none", "last", "mean"):
            raise ValueError(f"level must be none, last or mean, got {level!r}")
        self.summary = summary
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(summary.output_size, horizon * quantiles)
        self.horizon = horizon
        self.quantiles = quantiles
        self.level = level
        self.observed_channel = observed_channel
        self.skip = None if skip_length is None else nn.Linear(skip_length, horizon)

    def window_level(self, inputs: torch.Tensor) -> torch.Tensor:
        """The level `[B]` subtracted from each window's series channel."""
        if self.level == "none":
            return inputs.new_zeros(inputs.size(0))
        values = inputs[:, :, 0]
        if self.observed_channel is None:
            observed = torch.ones_like(values)
        else:
            observed = inputs[:, :, self.observed_channel]
        if self.level == "mean":
            return (values * observed).sum(1) / observed.sum(1).clamp(min=1.0)
        steps = torch.arange(values.size(1), device=values.device)
        last = (observed * (steps + 1)).argmax(1)  # the latest observed step (0 if none)
        return values.gather(1, last[:, None])[:, 0] * observed.amax(1)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        level = self.window_level(inputs)
        shifted = inputs.clone()
        shift = level[:, None]
        if self.observed_channel is not None:  # missing steps stay at 0, flagged
            shift = shift * inputs[:, :, self.observed_channel]
        shifted[:, :, 0] = inputs[:, :, 0] - shift
        summary = self.dropout(self.summary(shifted))
        outputs = self.head(summary).view(-1, self.horizon, self.quantiles)
        if self.skip is not None:
            outputs = outputs + self.skip(shifted[:, :, 0])[:, :, None]
        return outputs + level[:, None, None]


def roll_forward(
    model: WindowForecaster, inputs: torch.Tensor, steps: int, point: int = 0
) -> torch.Tensor:
    """Recursive forecasting with a one-step model: `steps` forecasts `[B, steps, quantiles]`,
    each step's point forecast (quantile index `point`) appended to the window as an observed
    value for the next. Inputs may hold only the series channel and the observed flag."""
    window, forecasts = inputs, []
    for _ in range(steps):
        step = model(window)[:, 0]  # [B, Q]
        forecasts.append(step)
        row = torch.ones_like(window[:, -1:, :])  # an observed step ...
        row[:, 0, 0] = step[:, point]  # ... holding the forecast
        window = torch.cat([window[:, 1:], row], dim=1)
    return torch.stack(forecasts, dim=1)
