"""Forecast accuracy: MAE, RMSE, sMAPE and MAPE (percent), and MASE, the M4 competition's scaled
error: the forecast's MAE over the in-sample MAE of the seasonal naive forecast (each value
predicted by the one a season before), so 1.0 means "as good as copying last season within the
history". Missing true values are left out, never counted as zeros."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nmt.errors import NmtError

METRICS = ("mae", "rmse", "smape", "mape", "mase")


def seasonal_naive_scale(history: np.ndarray, season_length: int) -> float:
    """Mean absolute difference between each in-sample value and the one `season_length`
    steps before it (missing values skipped): the denominator of MASE."""
    if len(history) <= season_length:
        raise NmtError(f"MASE needs more than one season ({season_length} steps) of history, "
                       f"the series has {len(history)}")  # fmt: skip
    differences = np.abs(history[season_length:] - history[:-season_length])
    differences = differences[~np.isnan(differences)]
    if differences.size == 0 or differences.mean() == 0:
        raise NmtError("MASE is undefined: the history repeats itself exactly (or has no "
                       "observed pairs a season apart)")  # fmt: skip
    return float(differences.mean())


def forecast_scores(truth: np.ndarray, forecast: np.ndarray, scale: float) -> dict[str, float]:
    """Scores of `forecast` against `truth` (same shape; NaN truth left out); `scale` from
    seasonal_naive_scale."""
    observed = ~np.isnan(truth)
    if not observed.any():
        raise NmtError("no observed true values to score the forecast against")
    y, f = truth[observed], forecast[observed]
    error = np.abs(y - f)
    denominator = np.abs(y) + np.abs(f)
    smape = 2 * error / np.where(denominator > 0, denominator, 1.0)  # 0 only where y = f = 0
    nonzero = y != 0
    return {
        "mae": float(error.mean()),
        "rmse": float(np.sqrt(((y - f) ** 2).mean())),
        "smape": float(100 * smape.mean()),
        "mape": float(100 * (error[nonzero] / np.abs(y[nonzero])).mean()) if nonzero.any()
        else float("nan"),
        "mase": float(error.mean() / scale),
    }  # fmt: skip


def interval_coverage(truth: np.ndarray, low: np.ndarray, high: np.ndarray) -> float:
    """Share (percent) of observed true values inside [low, high]."""
    observed = ~np.isnan(truth)
    inside = (truth[observed] >= low[observed]) & (truth[observed] <= high[observed])
    return float(100 * inside.mean())


def average_scores(per_series: Sequence[dict[str, float]]) -> dict[str, float]:
    """The mean of each metric over the series (each series weighs the same)."""
    return {name: float(np.mean([scores[name] for scores in per_series])) for name in per_series[0]}
