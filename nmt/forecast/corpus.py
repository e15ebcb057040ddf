"""Time series as users hand them over: a table (CSV, TSV, JSON Lines, or a dataset that
`datasets` loads) with a time column, one column per series to forecast and optional covariate
columns. Rows are checked as they are read (a missing column, a value that is not a number, a
time that does not increase name the file and line); the time axis is put on its regular grid
(the frequency given, or inferred from the dates and said so), gaps become missing values, and
missing values are handled as the config says: interpolated, masked, or refused. Never dropped
or turned into zeros silently."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from nmt.data.tables import file_rows
from nmt.errors import NmtError

logger = logging.getLogger(__name__)

MISSING_TEXT = {"", "na", "n/a", "nan", "null", "none", "?"}
# Seasons of the common frequencies (pandas offset names without their anchor): the period
# whose repetition a seasonal naive forecast copies, and that MASE scales by.
SEASONS = {"D": 7, "B": 5, "W": 52, "M": 12, "MS": 12, "ME": 12, "Q": 4, "QS": 4, "QE": 4}


@dataclass
class SeriesTable:
    """Aligned series on a regular time grid: row t of `targets` and `covariates` is time
    `times[t]`; NaN marks a missing value."""

    source: str  # the file or dataset, for messages
    times: list[Any]  # pandas Timestamps, numbers, or row numbers (no time column)
    places: list[str | None]  # where each row was read ("file:line"); None for an inserted gap
    targets: np.ndarray  # [T, S] float64
    covariates: np.ndarray  # [T, C] float64
    target_names: list[str]
    covariate_names: list[str]
    frequency: str | None  # the pandas offset alias of date times
    step: float  # between number times (1 for row numbers)
    season_length: int
    observed: np.ndarray  # [T, S] bool: the target values the table gave (before filling)

    @property
    def length(self) -> int:
        return len(self.times)

    def future_times(self, count: int) -> list[Any]:
        """The `count` times after the last row, on the same grid."""
        last = self.times[-1]
        if self.frequency is not None:
            return list(pd.date_range(last, periods=count + 1, freq=self.frequency)[1:])
        return [_plain_number(last + self.step * k) for k in range(1, count + 1)]


def read_series(
    file_format: str, path: str, time_column: str | None, target_columns: Sequence[str],
    covariate_columns: Sequence[str] = (), frequency: str | None = None,
    season_length: int | None = None, hub_config: str | None = None, hub_split: str = "train",
) -> SeriesTable:  # fmt: skip
    """The series of a table, on a regular grid, missing values as NaN."""
    rows = list(_rows(file_format, path, hub_config, hub_split))
    if len(rows) < 2:
        raise NmtError(f"{path}: holds {len(rows)} row(s); a series needs at least 2")
    wanted = [c for c in (time_column, *target_columns, *covariate_columns) if c is not None]
    place, first = rows[0]
    for column in wanted:
        if column not in first:
            raise NmtError(f"{place}: no '{column}' column (it has {', '.join(map(str, first))})")
    places = [where for where, _ in rows]
    targets = _numbers(rows, target_columns)
    covariates = _numbers(rows, covariate_columns)
    times, kind = _times(rows, time_column)
    _check_increasing(times, places, time_column)
    step, grid_frequency = 1.0, None
    if kind == "dates":
        grid_frequency = frequency or _infer_frequency(times, path, time_column)
        positions, grid = _date_grid(times, places, grid_frequency, time_column)
    elif kind == "numbers":
        step = _number_step(times)
        positions = [round((t - times[0]) / step) for t in times]
        for t, position, where in zip(times, positions, places):
            if not math.isclose(times[0] + position * step, t, rel_tol=1e-9, abs_tol=1e-9):
                raise NmtError(f"{where}: time {t} is off the grid of steps of {step:g} from "
                               f"{times[0]} ({time_column})")  # fmt: skip
        grid = [_plain_number(times[0] + k * step) for k in range(positions[-1] + 1)]
    else:
        positions, grid = list(range(len(times))), list(range(len(times)))
    if len(grid) > len(times):
        logger.warning("%s: %d time steps have no row; they are missing values",
                       path, len(grid) - len(times))  # fmt: skip
    full_places: list[str | None] = [None] * len(grid)
    full_targets = np.full((len(grid), targets.shape[1]), np.nan)
    full_covariates = np.full((len(grid), covariates.shape[1]), np.nan)
    for row, position in enumerate(positions):
        full_places[position] = places[row]
        full_targets[position] = targets[row]
        full_covariates[position] = covariates[row]
    season = season_length or season_from_frequency(grid_frequency)
    if season_length is None:
        logger.info("season length %d (from the frequency %s; data.season_length sets it)",
                    season, grid_frequency)  # fmt: skip
    table = SeriesTable(
        str(path), grid, full_places, full_targets, full_covariates, list(target_columns),
        list(covariate_columns), grid_frequency, step, season, ~np.isnan(full_targets),
    )  # fmt: skip
    for column, name in enumerate(target_columns):
        if np.isnan(table.targets[:, column]).all():
            raise NmtError(f"{path}: column '{name}' holds no values")
    return table


def season_from_frequency(frequency: str | None) -> int:
    """The customary season of a pandas frequency: a day of sub-daily steps, a week of days, a
    year of weeks, months or quarters; 1 (no season) otherwise."""
    if frequency is None:
        return 1
    offset = to_offset(frequency)
    try:
        seconds = pd.Timedelta(offset).total_seconds()
    except ValueError:  # months, quarters, years have no fixed length
        seconds = None
    if seconds is not None and seconds < 86400 and 86400 % seconds == 0:
        return int(86400 // seconds)
    if seconds in (86400, 7 * 86400):  # a week of days, a year of weeks
        return 7 if seconds == 86400 else 52
    base = offset.name.split("-")[0]
    return SEASONS.get(base, 1) if offset.n == 1 else 1


def handle_missing(table: SeriesTable, how: str) -> SeriesTable:
    """The table with its missing target and covariate values interpolated (linearly between
    observed neighbours, the nearest observed value at either end), left as NaN for masking, or
    refused ('error', naming the first)."""
    names = table.target_names + table.covariate_names
    values = np.concatenate([table.targets, table.covariates], axis=1)
    counts = np.isnan(values).sum(axis=0)
    if not counts.any():
        return table
    summary = ", ".join(f"{name}: {int(n)}" for name, n in zip(names, counts) if n)
    if how == "error":
        column = int(np.flatnonzero(counts)[0])
        row = int(np.flatnonzero(np.isnan(values[:, column]))[0])
        where = table.places[row] or f"{table.source}: time {table.times[row]} (no row)"
        raise NmtError(f"{where}: no value for '{names[column]}' (missing values: {summary}); "
                       "set data.missing=interpolate or data.missing=mask")  # fmt: skip
    if how == "mask":
        logger.info("missing values masked (the model sees a flag, the loss skips them): %s",
                    summary)  # fmt: skip
        if np.isnan(table.covariates).any():  # covariates are inputs only: they get filled
            table.covariates = interpolate_gaps(table.covariates)
        return table
    logger.info("missing values interpolated: %s", summary)
    table.targets = interpolate_gaps(table.targets)
    table.covariates = interpolate_gaps(table.covariates)
    return table


def interpolate_gaps(values: np.ndarray) -> np.ndarray:
    """Columns `[T, C]` with their NaNs filled linearly between observed neighbours (the nearest
    observed value at either end)."""
    filled = values.copy()
    steps = np.arange(len(values))
    for column in range(values.shape[1]):
        observed = ~np.isnan(values[:, column])
        if observed.any() and not observed.all():
            filled[:, column] = np.interp(steps, steps[observed], values[observed, column])
    return filled


def _rows(
    file_format: str, path: str, hub_config: str | None, hub_split: str
) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(where, {column: value}) of every row, `where` naming the file and line."""
    if file_format == "hub":
        yield from _hub_rows(path, hub_config, hub_split)
        return
    source = Path(path)
    for line, row in file_rows(source, file_format):
        yield f"{source}:{line}", row


def _hub_rows(
    name: str, hub_config: str | None, split: str
) -> Iterator[tuple[str, Mapping[str, Any]]]:
    import datasets

    try:
        loaded = datasets.load_dataset(name, hub_config, split=split)
    except (FileNotFoundError, ValueError) as error:
        raise NmtError(f"dataset {name!r}, split {split!r}: {error}") from None
    for number, row in enumerate(loaded, start=1):
        yield f"dataset {name!r} row {number}", row


def _numbers(rows: list[tuple[str, Mapping[str, Any]]], columns: Sequence[str]) -> np.ndarray:
    values = np.full((len(rows), len(columns)), np.nan)
    for row_number, (where, row) in enumerate(rows):
        for column_number, column in enumerate(columns):
            values[row_number, column_number] = _number(row.get(column), where, column)
    return values


def _number(value: Any, where: str, column: str) -> float:
    """A cell as a float: NaN for an empty or NA cell; anything else that is not a number is an
    error naming the place."""
    if value is None:
        return math.nan
    if isinstance(value, bool):
        raise NmtError(f"{where}: '{column}' must be a number, got {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    if text.lower() in MISSING_TEXT:
        return math.nan
    try:
        return float(text)
    except ValueError:
        raise NmtError(f"{where}: '{column}' must be a number, got {text!r}") from None


def _times(rows: list[tuple[str, Mapping[str, Any]]], column: str | None) -> tuple[list, str]:
    """The time of each row, and their kind: "dates", "numbers" or "index" (no time column)."""
    if column is None:
        return list(range(len(rows))), "index"
    raw = []
    for where, row in rows:
        value = row.get(column)
        if value is None or str(value).strip() == "":
            raise NmtError(f"{where}: the time ('{column}') is empty")
        raw.append(value)
    numbers = [_as_number(value) for value in raw]
    if all(number is not None for number in numbers):
        return numbers, "numbers"
    dates = pd.to_datetime(pd.Series([str(v).strip() for v in raw]), errors="coerce",
                           format="ISO8601")  # fmt: skip
    if dates.isna().any():
        row = int(np.flatnonzero(dates.isna().to_numpy())[0])
        raise NmtError(f"{rows[row][0]}: time {raw[row]!r} ('{column}') is neither a number nor "
                       "an ISO date (YYYY-MM-DD, YYYY-MM, YYYY-MM-DD HH:MM)")  # fmt: skip
    return list(dates), "dates"


def _as_number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return None


def _check_increasing(times: list, places: list[str], column: str | None) -> None:
    for before, after, where in zip(times, times[1:], places[1:]):
        if not after > before:
            raise NmtError(f"{where}: time {after} ('{column}') does not come after the row "
                           f"before it ({before}); rows must be in time order, each time "
                           "once")  # fmt: skip


def _infer_frequency(times: list, path: str, column: str | None) -> str:
    index = pd.DatetimeIndex(times)
    frequency = pd.infer_freq(index) if len(index) >= 3 else None
    if frequency is None:  # gaps: the most common step, if every step is a multiple of it
        steps = pd.Series(index[1:] - index[:-1])
        common = steps.mode().iloc[0]
        if (steps % common == pd.Timedelta(0)).all():
            days = common / pd.Timedelta(days=1)
            frequency = f"{days:g}D" if days.is_integer() else to_offset(common).freqstr
            frequency = frequency.removeprefix("1D") or "D"
    if frequency is None:
        raise NmtError(f"{path}: cannot infer the frequency of '{column}' from its dates; set "
                       "data.frequency (a pandas alias: 30min, D, W-SAT, MS, QS)")  # fmt: skip
    logger.info("frequency %s inferred from the dates in '%s'", frequency, column)
    return frequency


def _date_grid(
    times: list, places: list[str], frequency: str, column: str | None
) -> tuple[list[int], list]:
    """Each row's position on the regular grid of `frequency` from the first time to the last,
    and the grid; a time off the grid is an error."""
    try:
        grid = pd.date_range(times[0], times[-1], freq=frequency)
    except ValueError as error:
        raise NmtError(f"data.frequency {frequency!r}: {error}") from None
    index = {time: position for position, time in enumerate(grid)}
    positions = []
    for time, where in zip(times, places):
        if time not in index:
            raise NmtError(f"{where}: time {time} ('{column}') is not on the {frequency} grid "
                           f"that starts at {times[0]}")  # fmt: skip
        positions.append(index[time])
    return positions, list(grid)


def _number_step(times: list[float]) -> float:
    steps = np.diff(np.asarray(times, dtype=float))
    return float(steps.min())


def _plain_number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value
