"""A forecasting run: from a ForecastConfig to a self-contained checkpoint directory, and back.

RUN/config.yaml  RUN/metadata.json  RUN/scaling.json  RUN/model.pt
RUN/lightning/  RUN/logs/
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import torch

from nmt.engine.checkpoint import base_metadata, check_device, load_weights
from nmt.engine.fit import FitParts, TaskRun
from nmt.engine.rundir import CONFIG_FILE, WEIGHTS_FILE, check_run_dir, read_metadata
from nmt.forecast.config import TRAIN_COMMAND, ForecastConfig, check, load
from nmt.forecast.datamodule import ForecastDataModule, feature_size
from nmt.forecast.model import build_forecaster
from nmt.forecast.module import LitForecaster
from nmt.forecast.vocab import SCALING_FILE, SeriesScaling
from nmt.models.forecaster import WindowForecaster


def build_for(config: ForecastConfig, feature_size: int) -> WindowForecaster:
    data = config.data
    return build_forecaster(config.model, data.input_length, feature_size, data.horizon,
                            data.missing == "mask")  # fmt: skip


def fit_parts(config: ForecastConfig, run_dir: Path) -> FitParts:
    """The modules of a forecasting run."""
    check(config)
    recursive = config.model.output == "recursive"
    datamodule = ForecastDataModule(config.data, run_dir, config.trainer.seed,
                                    1 if recursive else config.data.horizon)  # fmt: skip

    def metadata(model: torch.nn.Module) -> dict[str, Any]:
        table, split = datamodule.table, datamodule.split
        return base_metadata(
            model, series=table.target_names, steps=split.length, train_steps=split.train_end,
            validation_steps=split.validation_end - split.train_end,
            test_steps=split.length - split.validation_end, season_length=table.season_length,
            frequency=table.frequency,
        )  # fmt: skip

    module = LitForecaster(
        lambda: build_for(config, feature_size(config.data)), config.optim,
        sorted(config.model.quantiles), config.model.loss, recursive, config.data.horizon,
    )  # fmt: skip
    return FitParts(module, datamodule, metadata)


RUNS = TaskRun(ForecastConfig, TRAIN_COMMAND, fit_parts, (SCALING_FILE,))
train, resume = RUNS.train, RUNS.resume  # a new run from a config; an interrupted one continued


class LoadedForecaster(NamedTuple):
    model: WindowForecaster
    scaling: SeriesScaling
    config: ForecastConfig
    metadata: dict[str, Any]


def load_forecaster_dir(
    run_dir: str | Path, device: str | torch.device = "cpu"
) -> LoadedForecaster:
    """Everything needed to forecast, from a checkpoint directory alone (weights_only loading)."""
    run_dir = check_run_dir(run_dir, (CONFIG_FILE, WEIGHTS_FILE, SCALING_FILE), "forecaster ")
    device = check_device(device)
    config = load(str(run_dir / CONFIG_FILE))
    scaling = SeriesScaling.load(run_dir)
    model = load_weights(build_for(config, feature_size(config.data)), run_dir)
    return LoadedForecaster(model.to(device).eval(), scaling, config, read_metadata(run_dir))
