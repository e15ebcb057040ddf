"""Typed configuration of a forecasting run: the series (a table with a time column, target
columns and covariates), how they are split in time and cut into windows, the forecaster, and
its own optimiser and trainer defaults (the best checkpoint has the lowest validation error)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, ClassVar, Literal

from nmt.engine.config import (
    PROBABILITY,
    Count,
    NonNegative,
    OptimConfig,
    Range,
    RunConfig,
    TrainerConfig,
    load_config,
)  # fmt: skip
from nmt.errors import NmtError

TRAIN_COMMAND = "nmt forecast train"
# The classical forecasts evaluate can score beside the model (nmt.forecast.baselines).
BASELINES = ("naive", "seasonal_naive", "ets", "arima", "mstl_arima")


@dataclass
class ForecastDataConfig:
    """Where the series are, which columns they are in, how time is split and windows are cut."""

    format: Literal["csv", "tsv", "jsonl", "hub"] = "csv"
    path: str = "data/series.csv"  # a file, or a hub dataset name / local dataset folder (hub)
    hub_config: str | None = None
    hub_split: str = "train"
    time_column: str | None = None  # dates or numbers, increasing; None: the rows' order
    # Each target column is one series; a single (global) model learns from all of them, each
    # scaled by its own statistics.
    target_columns: list[str] = field(default_factory=lambda: ["value"])
    covariate_columns: list[str] = field(default_factory=list)  # observed inputs, not forecast
    # A pandas offset alias ("30min", "D", "W-SAT", "MS", "QS-OCT"); None: inferred from dates.
    frequency: str | None = None
    season_length: Count | None = None  # None: from the frequency (48 for half-hours, 12 months)
    # Longer seasons besides season_length (a week of half-hours: 336): each gets a seasonal
    # naive baseline, and together they make the double-seasonal baseline (mstl_arima).
    extra_seasons: list[Count] = field(default_factory=list)
    # interpolate: linear between observed neighbours; mask: the model sees a zero and an
    # "observed" flag and the loss skips missing targets; error: stop at the first missing value
    missing: Literal["interpolate", "mask", "error"] = "interpolate"
    scaling: Literal["standard", "none"] = "standard"  # per series, training part only
    input_length: Count = 96  # past steps a window shows the model
    horizon: Count = 24  # steps forecast at once
    stride: Count = 1  # steps between the starts of training windows
    test_size: Count | None = None  # the last steps, held out for evaluate; None: one horizon
    validation_size: Count | None = None  # the steps before the test part; None: one horizon
    batch_size: Count = 64
    num_workers: NonNegative = 0

    @property
    def test_steps(self) -> int:
        return self.test_size or self.horizon

    @property
    def validation_steps(self) -> int:
        return self.validation_size or self.horizon


@dataclass
class ForecasterModelConfig:
    """The encoder of a window, the output head and the loss."""

    encoder: Literal["mlp", "rnn", "gru", "lstm", "conv"] = "lstm"
    hidden_size: Count = 64  # mlp/rnn: units; conv: channels
    layers: Count = 2  # mlp: hidden layers; rnn: stacked layers
    # conv: dilation levels (dilations 1, 2, ..., 2**(levels-1)); None: the fewest whose
    # receptive field covers the whole window
    levels: Count | None = None
    kernel_size: Annotated[int, Range(2)] = 2  # conv
    gated: bool = False  # conv: tanh * sigmoid activations (WaveNet) instead of ReLU
    dropout: Annotated[float, PROBABILITY] = 0.1
    # direct: one head gives all `horizon` steps; recursive: a one-step model whose forecasts
    # are fed back as inputs `horizon` times
    output: Literal["direct", "recursive"] = "direct"
    # Levels subtracted from each window (and added back to its forecast), so a trend beyond
    # the training range is followed: none, the window's last observed value, or its mean.
    level: Literal["none", "last", "mean"] = "mean"
    # A linear map from the window's values to the forecast, added to the encoder's: the
    # network learns what a linear autoregression (which can copy last season) misses.
    linear_skip: bool = True
    # Quantiles to forecast (e.g. [0.1, 0.5, 0.9], pinball loss, the median is the point
    # forecast); empty: a point forecast trained with `loss`.
    quantiles: list[Annotated[float, Range(0, 1, open_low=True, open_high=True)]] = field(
        default_factory=list
    )
    loss: Literal["mae", "mse"] = "mae"


@dataclass
class ForecastConfig(RunConfig):
    """A whole forecasting run."""

    task: Literal["forecast"] = "forecast"
    name: str = "forecaster"
    data: ForecastDataConfig = field(default_factory=ForecastDataConfig)
    model: ForecasterModelConfig = field(default_factory=ForecasterModelConfig)
    optim: OptimConfig = field(
        default_factory=lambda: OptimConfig(lr=0.001, label_smoothing=0.0, plateau_patience=3)
    )
    trainer: TrainerConfig = field(
        default_factory=lambda: TrainerConfig(
            max_epochs=100, early_stopping_patience=10, gradient_clip_val=1.0
        )
    )

    # The scaling statistics are the saved run's (scaling.json).
    fixed_on_resume: ClassVar[tuple[str, ...]] = (
        "model.", "data.target_columns", "data.covariate_columns", "data.input_length",
        "data.horizon", "data.missing", "data.scaling",
    )  # fmt: skip
    changeable_on_resume: ClassVar[tuple[str, ...]] = ("model.dropout",)


def load(name_or_path: str | None, overrides: Sequence[str] = ()) -> ForecastConfig:
    """A forecasting recipe (packaged name or YAML file) with `key.sub=value` overrides."""
    config = load_config(name_or_path, overrides, ForecastConfig)
    check(config)
    return config


def check(config: ForecastConfig) -> None:
    """What the fields' types cannot say: settings that contradict each other."""
    data, model = config.data, config.model
    if not data.target_columns:
        raise NmtError("data.target_columns: name at least one column to forecast")
    columns = [data.time_column, *data.target_columns, *data.covariate_columns]
    named = [c for c in columns if c is not None]
    repeated = sorted({c for c in named if named.count(c) > 1})
    if repeated:
        raise NmtError(f"data: column(s) {', '.join(repeated)} named twice (time, targets and "
                       "covariates must be different columns)")  # fmt: skip
    if model.output == "recursive" and data.covariate_columns:
        raise NmtError("model.output=recursive feeds forecasts back as inputs, but covariates "
                       "have no future values to feed; use model.output=direct")  # fmt: skip
    if model.quantiles and 0.5 not in model.quantiles:
        raise NmtError(f"model.quantiles {model.quantiles}: include 0.5, the median is the "
                       "point forecast")  # fmt: skip
