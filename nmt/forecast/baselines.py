"""Classical forecasts, scored beside every model on the same test windows: naive (the last value
again), seasonal naive (the last season again), statsmodels' exponential smoothing (additive
Holt-Winters with a damped trend: ETS) and ARIMA (on the seasonally adjusted series, STL, when
there is a season), and with a second season (half-hours: a day and a week) the double-seasonal
MSTL + ARIMA. Each is fitted anew at every forecast origin on the history before it."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Sequence

import numpy as np

from nmt.errors import NmtError
from nmt.forecast.config import BASELINES

logger = logging.getLogger(__name__)

ARIMA_ORDER = (2, 1, 1)


def naive(history: np.ndarray, horizon: int, seasons: Sequence[int]) -> np.ndarray:
    return np.repeat(history[-1], horizon)


def seasonal_naive(history: np.ndarray, horizon: int, seasons: Sequence[int]) -> np.ndarray:
    """The last season (`seasons[0]` steps) repeated."""
    season = seasons[0]
    if len(history) < season:
        return naive(history, horizon, seasons)
    return np.resize(history[-season:], horizon)


def ets(history: np.ndarray, horizon: int, seasons: Sequence[int]) -> np.ndarray:
    """Additive Holt-Winters with a damped trend and the first season (if two full seasons of
    history exist)."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    season = seasons[0]
    seasonal = season > 1 and len(history) >= 2 * season
    model = ExponentialSmoothing(
        history, trend="add", damped_trend=True, seasonal="add" if seasonal else None,
        seasonal_periods=season if seasonal else None, initialization_method="estimated",
    )  # fmt: skip
    return np.asarray(model.fit().forecast(horizon))


def arima(history: np.ndarray, horizon: int, seasons: Sequence[int]) -> np.ndarray:
    """ARIMA(2,1,1); with a season, on the series less its STL seasonal part, which is then
    added back (statsmodels' STLForecast)."""
    from statsmodels.tsa.arima.model import ARIMA

    season = seasons[0]
    if season > 1 and len(history) >= 2 * season:
        from statsmodels.tsa.forecasting.stl import STLForecast

        fitted = STLForecast(history, ARIMA, model_kwargs={"order": ARIMA_ORDER},
                             period=season).fit()  # fmt: skip
        return np.asarray(fitted.forecast(horizon))
    return np.asarray(ARIMA(history, order=ARIMA_ORDER).fit().forecast(horizon))


def mstl_arima(history: np.ndarray, horizon: int, seasons: Sequence[int]) -> np.ndarray:
    """Several seasons at once: MSTL splits off each seasonal part, each is repeated from its
    last cycle, and ARIMA forecasts the rest (trend and remainder)."""
    from statsmodels.tsa.arima.model import ARIMA
    from statsmodels.tsa.seasonal import MSTL

    periods = [s for s in seasons if s > 1 and len(history) >= 2 * s]
    if len(periods) < 2:
        return arima(history, horizon, seasons)
    parts = MSTL(history, periods=periods).fit()
    seasonal = np.asarray(parts.seasonal).reshape(len(history), -1)
    adjusted = history - seasonal.sum(axis=1)
    forecast = np.asarray(ARIMA(adjusted, order=ARIMA_ORDER).fit().forecast(horizon))
    for column, period in enumerate(periods):
        forecast = forecast + np.resize(seasonal[-period:, column], horizon)
    return forecast


FORECASTS: dict[str, Callable[[np.ndarray, int, Sequence[int]], np.ndarray]] = {
    "naive": naive, "seasonal_naive": seasonal_naive, "ets": ets, "arima": arima,
    "mstl_arima": mstl_arima,
}  # fmt: skip


def check_baselines(names: Sequence[str]) -> list[str]:
    unknown = [name for name in names if name not in FORECASTS]
    if unknown:
        raise NmtError(f"unknown baseline(s) {', '.join(unknown)}; choose from "
                       f"{', '.join(BASELINES)}")  # fmt: skip
    return list(names)


def baseline_forecast(
    name: str, history: np.ndarray, horizon: int, seasons: Sequence[int]
) -> np.ndarray:
    """`horizon` values after `history` (no missing values) by baseline `name`."""
    with warnings.catch_warnings():
        # statsmodels warns about convergence and frequencies of plain arrays at every fit
        warnings.simplefilter("ignore")
        forecast = FORECASTS[name](np.asarray(history, dtype=float), horizon, seasons)
    if not np.isfinite(forecast).all():
        logger.warning("%s diverged on a history of %d steps; its forecast there is naive",
                       name, len(history))  # fmt: skip
        return np.repeat(history[-1], horizon)
    return forecast
