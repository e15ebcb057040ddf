"""LightningDataModule for forecasting: a table of series -> regular grid, missing values handled
-> scaling fitted on the training part -> windows of the training and validation parts.

`prepare_data` fits the scaling once and saves it in the run directory (a resumed run reuses
it); `setup` loads it on every process and cuts the windows. Under DDP each rank reads its own
share of the windows. Both are idempotent.
"""

from __future__ import annotations

import logging
from pathlib import Path

import lightning as L
import torch
from torch.utils.data import DataLoader, Subset

from nmt.forecast.batch import SeriesWindows, SplitPoints, WindowIndex, split_points, window_origins
from nmt.forecast.config import ForecastDataConfig
from nmt.forecast.corpus import SeriesTable, handle_missing, read_series
from nmt.forecast.vocab import SCALING_FILE, SeriesScaling

logger = logging.getLogger(__name__)


def load_table(data: ForecastDataConfig, path: str | None = None) -> SeriesTable:
    """The series of `path` (default: the config's) read with the config's columns, frequency
    and missing-value handling."""
    table = read_series(
        data.format, path or data.path, data.time_column, data.target_columns,
        data.covariate_columns, data.frequency, data.season_length, data.hub_config,
        data.hub_split,
    )  # fmt: skip
    return handle_missing(table, data.missing)


def feature_size(data: ForecastDataConfig) -> int:
    """Inputs per step: the series, each covariate, and the observed flag when masking."""
    return 1 + len(data.covariate_columns) + (data.missing == "mask")


def build_windows(
    table: SeriesTable, scaling: SeriesScaling, input_length: int, observed_flag: bool
) -> SeriesWindows:
    """The table's series, scaled, as model inputs."""
    values = scaling.scale_targets(table.targets).T
    covariates = scaling.scale_covariates(table.covariates)
    return SeriesWindows(values, covariates, input_length, observed_flag)


class ForecastDataModule(L.LightningDataModule):
    """`train_horizon`: the targets a training window holds (the horizon, or 1 for a model that
    forecasts one step and feeds it back)."""

    def __init__(
        self, data: ForecastDataConfig, run_dir: Path, seed: int = 0, train_horizon: int = 1
    ) -> None:
        super().__init__()
        self.data_config = data
        self.run_dir = Path(run_dir)
        self.seed = seed
        self.train_horizon = train_horizon
        self.table: SeriesTable | None = None
        self.scaling: SeriesScaling | None = None
        self.windows: SeriesWindows | None = None
        self.split: SplitPoints | None = None

    def prepare_data(self) -> None:
        if self.scaling is None and not (self.run_dir / SCALING_FILE).is_file():
            table, split = self._require_table()
            self.scaling = SeriesScaling.fit(
                table.targets[: split.train_end], table.covariates[: split.train_end],
                table.target_names, table.covariate_names, self.data_config.scaling,
            )  # fmt: skip
            self.scaling.save(self.run_dir)

    def setup(self, stage: str | None = None) -> None:
        if self.windows is not None:
            return
        if self.scaling is None:
            if not (self.run_dir / SCALING_FILE).is_file():
                raise RuntimeError("call prepare_data() first: there is no scaling yet")
            self.scaling = SeriesScaling.load(self.run_dir)
        table, split = self._require_table()
        data = self.data_config
        self.windows = build_windows(table, self.scaling, data.input_length,
                                     data.missing == "mask")  # fmt: skip
        logger.info(
            "%d series of %d steps (season %d): training steps 0-%d (%d windows per series), "
            "validation %d-%d, test %d-%d", len(table.target_names), split.length,
            table.season_length, split.train_end - 1, len(self._origins("train")),
            split.train_end, split.validation_end - 1, split.validation_end, split.length - 1,
        )  # fmt: skip

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", self.data_config.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("validation", self.data_config.batch_size * 4, shuffle=False)

    def _origins(self, part: str) -> list[int]:
        data, split = self.data_config, self.split
        if part == "train":
            return window_origins(0, split.train_end, data.input_length, self.train_horizon,
                                  data.stride)  # fmt: skip
        return window_origins(split.train_end, split.validation_end, data.input_length,
                              data.horizon)  # fmt: skip

    def _loader(self, part: str, batch_size: int, shuffle: bool) -> DataLoader:
        horizon = self.train_horizon if part == "train" else self.data_config.horizon
        index = WindowIndex(self.windows, self._origins(part), horizon)
        dataset: torch.utils.data.Dataset = index
        if self.trainer is not None and self.trainer.world_size > 1:
            rank, world = self.trainer.global_rank, self.trainer.world_size
            dataset = Subset(index, range(rank, len(index), world))
        generator = torch.Generator().manual_seed(self.seed)
        return DataLoader(
            dataset, batch_size=batch_size, shuffle=shuffle, collate_fn=index.collate,
            generator=generator, num_workers=self.data_config.num_workers,
        )  # fmt: skip

    def _require_table(self) -> tuple[SeriesTable, SplitPoints]:
        if self.table is None:
            data = self.data_config
            self.table = load_table(data)
            self.split = split_points(self.table.length, data.validation_steps, data.test_steps,
                                      data.input_length, data.horizon)  # fmt: skip
        return self.table, self.split
