"""Forecasting with a trained model: windows of a series (read with the model's own columns and
scaling) in, forecasts in the series' units out: after the last observation (`nmt forecast
predict`, a CSV), or from chosen origins inside the series (evaluate)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from nmt.errors import NmtError
from nmt.forecast.batch import SeriesWindows
from nmt.forecast.corpus import SeriesTable
from nmt.forecast.datamodule import build_windows, load_table
from nmt.forecast.run import LoadedForecaster, load_forecaster_dir
from nmt.models.forecaster import roll_forward


class Forecaster:
    """A loaded forecaster."""

    def __init__(self, loaded: LoadedForecaster, device: str | torch.device = "cpu") -> None:
        self.model = loaded.model
        self.scaling = loaded.scaling
        self.config = loaded.config
        self.device = torch.device(device)
        self.quantiles = sorted(self.config.model.quantiles)
        self.point = self.quantiles.index(0.5) if self.quantiles else 0

    @classmethod
    def load(cls, run_dir: str | Path, device: str = "cpu") -> Forecaster:
        return cls(load_forecaster_dir(run_dir, device), device)

    @property
    def horizon(self) -> int:
        return self.config.data.horizon

    def read(self, path: str | None = None) -> SeriesTable:
        """A table of series with the columns, frequency and missing-value handling the model
        was trained with (default: its training file)."""
        table = load_table(self.config.data, path)
        if table.target_names != self.scaling.target_names:
            raise NmtError(f"{table.source}: series {table.target_names} are not the model's "
                           f"{self.scaling.target_names}")  # fmt: skip
        return table

    @torch.inference_mode()
    def forecast_at(self, table: SeriesTable, origins: list[int]) -> np.ndarray:
        """Forecasts `[S, len(origins), horizon, Q]` in the series' units, each made from the
        `input_length` steps before its origin."""
        data = self.config.data
        short = [o for o in origins if o < data.input_length]
        if short:
            raise NmtError(f"{table.source}: a forecast at step {short[0]} needs "
                           f"{data.input_length} steps before it")  # fmt: skip
        windows = self._windows(table)
        count = len(table.target_names)
        inputs = torch.cat([windows.inputs_before(s, o) for s in range(count) for o in origins])
        inputs = inputs.to(self.device)
        if self.config.model.output == "recursive":
            outputs = roll_forward(self.model, inputs, self.horizon, self.point)
        else:
            outputs = self.model(inputs)
        scaled = outputs.float().cpu().numpy().reshape(count, len(origins), self.horizon, -1)
        return self.scaling.unscale_targets(scaled, list(range(count)))

    def future(self, table: SeriesTable) -> np.ndarray:
        """Forecasts `[S, horizon, Q]` of the steps after the table's last row."""
        return self.forecast_at(table, [table.length])[:, 0]

    def future_csv(self, table: SeriesTable) -> str:
        """The forecast after the last observation as CSV: the time, then each series' point
        forecast and its quantiles (SERIES_q0.1, ...)."""
        forecasts = self.future(table)
        header = ["time" if self.config.data.time_column is None else self.config.data.time_column]
        for name in table.target_names:
            header.append(name)
            header += [f"{name}_q{q:g}" for q in self.quantiles]
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(header)
        times = _time_texts(table.future_times(self.horizon), table.frequency)
        for step, time in enumerate(times):
            row = [time]
            for series in range(len(table.target_names)):
                row.append(f"{forecasts[series, step, self.point]:.6g}")
                row += [f"{forecasts[series, step, q]:.6g}" for q in range(len(self.quantiles))]
            writer.writerow(row)
        return text.getvalue()

    def _windows(self, table: SeriesTable) -> SeriesWindows:
        data = self.config.data
        return build_windows(table, self.scaling, data.input_length, data.missing == "mask")


def _time_texts(times: list, frequency: str | None) -> list[str]:
    """Times as text: dates with the clock for steps shorter than a day, without it otherwise."""
    if frequency is None:
        return [str(time) for time in times]
    try:
        clock = pd.Timedelta(pd.tseries.frequencies.to_offset(frequency)) < pd.Timedelta("1D")
    except ValueError:  # months, quarters, years
        clock = False
    return [time.strftime("%Y-%m-%d %H:%M:%S" if clock else "%Y-%m-%d") for time in times]
