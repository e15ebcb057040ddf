"""`nmt forecast evaluate`: forecast the test part of the series (the last `test_size` steps,
one horizon after another, each forecast made from the true history before it) with the model
and with the classical baselines on the same origins, and score them all: MAE, RMSE, sMAPE, MAPE
and MASE per series and averaged; optionally report.json, report.md, forecasts.csv and
forecast.png (history, truth, forecasts, and the model's interval when it has quantiles)."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nmt.engine.rundir import atomic_write, check_output_dir, write_report_files, write_text
from nmt.forecast.baselines import baseline_forecast, check_baselines
from nmt.forecast.batch import split_points
from nmt.forecast.config import BASELINES
from nmt.forecast.corpus import SeriesTable, interpolate_gaps
from nmt.forecast.metrics import (
    average_scores,
    forecast_scores,
    interval_coverage,
    seasonal_naive_scale,
)  # fmt: skip
from nmt.forecast.predict import Forecaster
from nmt.forecast.report import FORECAST_PLOT, markdown_report, plot_forecasts

logger = logging.getLogger(__name__)

MODEL = "model"
FORECASTS_CSV = "forecasts.csv"


def evaluate_forecaster(
    model_dir: str | Path,
    data_path: str | None = None,
    report_dir: str | Path | None = None,
    baselines: Sequence[str] = BASELINES,
    device: str = "cpu",
) -> dict[str, Any]:
    """Scores of the model and of each baseline on the test part of `data_path` (default: the
    file the model was trained on; other files need the same columns)."""
    if report_dir is not None:
        check_output_dir(report_dir)
    baselines = check_baselines(baselines)
    forecaster = Forecaster.load(model_dir, device)
    table = forecaster.read(data_path)
    data, horizon = forecaster.config.data, forecaster.horizon
    split = split_points(table.length, data.validation_steps, data.test_steps,
                         data.input_length, horizon)  # fmt: skip
    test_start = split.validation_end
    origins = list(range(test_start, table.length, horizon))
    seasons = [table.season_length, *data.extra_seasons]
    methods = _method_names(baselines, seasons)
    outputs = forecaster.forecast_at(table, origins)  # [S, O, H, Q]
    filled = interpolate_gaps(table.targets)  # the classical methods take no gaps
    scores: dict[str, dict[str, dict[str, float]]] = {m: {} for m in [MODEL, *methods]}
    series_forecasts: dict[str, dict[str, np.ndarray]] = {}
    coverage: dict[str, float] = {}
    for s, name in enumerate(table.target_names):
        truth = np.where(table.observed[:, s], table.targets[:, s], np.nan)[test_start:]
        scale = seasonal_naive_scale(np.where(table.observed[:test_start, s],
                                              table.targets[:test_start, s], np.nan),
                                     table.season_length)  # fmt: skip
        forecasts = {MODEL: _joined(outputs[s, :, :, forecaster.point], len(truth))}
        for method, (baseline, method_seasons) in methods.items():
            blocks = [baseline_forecast(baseline, filled[:origin, s], horizon, method_seasons)
                      for origin in origins]  # fmt: skip
            forecasts[method] = _joined(np.stack(blocks), len(truth))
            logger.info("%s: %s done", name, method)
        for method, forecast in forecasts.items():
            scores[method][name] = forecast_scores(truth, forecast, scale)
        if forecaster.quantiles:
            low = _joined(outputs[s, :, :, 0], len(truth))
            high = _joined(outputs[s, :, :, -1], len(truth))
            forecasts["low"], forecasts["high"] = low, high
            coverage[name] = interval_coverage(truth, low, high)
        series_forecasts[name] = forecasts
    summary = {
        method: {"per_series": per_series, "average": average_scores(list(per_series.values()))}
        for method, per_series in scores.items()
    }
    result = {
        "model": str(model_dir), "data": table.source, "series": table.target_names,
        "steps": table.length, "test_start": test_start, "test_steps": table.length - test_start,
        "horizon": horizon, "forecast_origins": len(origins), "season_length": table.season_length,
        "extra_seasons": list(data.extra_seasons), "scores": summary,
        "ranking_by_mase": sorted(summary, key=lambda m: summary[m]["average"]["mase"]),
    }  # fmt: skip
    if forecaster.quantiles:
        q = forecaster.quantiles
        result["interval"] = {"quantiles": [q[0], q[-1]], "nominal": round(100 * (q[-1] - q[0]), 1),
                              "coverage": coverage}  # fmt: skip
    if report_dir is not None:
        _write_report(Path(report_dir), result, table, series_forecasts, test_start)
    return result


def _method_names(baselines: Sequence[str], seasons: list[int]) -> dict[str, tuple[str, list[int]]]:
    """Reported name -> (baseline, the seasons it uses); seasonal naive once per season."""
    methods: dict[str, tuple[str, list[int]]] = {}
    for baseline in baselines:
        if baseline == "seasonal_naive":
            for season in seasons:
                suffix = "" if season == seasons[0] else f"_{season}"
                methods[f"seasonal_naive{suffix}"] = (baseline, [season])
        elif baseline == "mstl_arima" and len(seasons) < 2:
            continue  # a single season: that is `arima`
        else:
            methods[baseline] = (baseline, seasons)
    return methods


def _joined(blocks: np.ndarray, length: int) -> np.ndarray:
    """Forecast blocks `[O, H]` one after another, cut to the test part's `length`."""
    return np.asarray(blocks).reshape(-1)[:length]


def _write_report(
    folder: Path, result: dict[str, Any], table: SeriesTable,
    forecasts: dict[str, dict[str, np.ndarray]], test_start: int,
) -> None:  # fmt: skip
    write_report_files(folder, result, markdown_report(result))
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    methods = list(next(iter(forecasts.values())))
    writer.writerow(["series", "time", "truth", *methods])
    for s, name in enumerate(table.target_names):
        for offset, time in enumerate(table.times[test_start:]):
            step = test_start + offset
            truth = table.targets[step, s] if table.observed[step, s] else ""
            row = [name, str(time), truth]
            row += [f"{forecasts[name][m][offset]:.6g}" for m in methods]
            writer.writerow(row)
    write_text(folder / FORECASTS_CSV, text.getvalue())
    figure = plot_forecasts(table, forecasts, test_start, result)
    atomic_write(folder / FORECAST_PLOT, lambda tmp: figure.savefig(tmp, format="png", dpi=100))
