"""Generated series for tests and demos: sine waves (one column per phase) with an optional trend
and noise, on a half-hourly or row-numbered time axis, written as CSV. A forecaster must learn a
clean sine almost exactly; the seasonal naive forecast is exact on it, so it is the bar."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd


def sine_values(
    steps: int, period: int, phase: float = 0.0, trend: float = 0.0, noise: float = 0.0,
    seed: int = 0,
) -> np.ndarray:  # fmt: skip
    """sin(2 pi t / period + phase) + trend * t, plus Gaussian noise of std `noise`."""
    t = np.arange(steps)
    values = np.sin(2 * math.pi * t / period + phase) + trend * t
    if noise:
        values = values + np.random.default_rng(seed).normal(0.0, noise, steps)
    return values


def write_sine_series(
    path: str | Path, steps: int = 600, period: int = 24, columns: int = 1, trend: float = 0.0,
    noise: float = 0.0, dates: bool = True, seed: int = 0,
) -> Path:  # fmt: skip
    """A CSV with a `time` column (hourly dates from 2024-01-01, or row numbers) and columns
    value, value2, ... (sines of different phases)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = {"time": pd.date_range("2024-01-01", periods=steps, freq="h").strftime(
        "%Y-%m-%d %H:%M") if dates else np.arange(steps)}  # fmt: skip
    for column in range(columns):
        name = "value" if column == 0 else f"value{column + 1}"
        table[name] = np.round(sine_values(steps, period, column * 0.7, trend, noise,
                                           seed + column), 6)  # fmt: skip
    pd.DataFrame(table).to_csv(path, index=False)
    return path
