"""Forecast reports: a table of every method's average scores for the terminal, report.md (the
averages, then each series), and forecast.png (for each series: the end of the history, the
truth over the test part, the model's forecast with its interval, and the baselines)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from nmt.forecast.metrics import METRICS

FORECAST_PLOT = "forecast.png"
PLOTTED_SERIES = 4  # the first few series get a panel each


def format_scores(result: dict[str, Any]) -> str:
    """Average scores of every method, best MASE first."""
    lines = [f"{len(result['series'])} series, test steps {result['test_start']}-"
             f"{result['steps'] - 1} ({result['forecast_origins']} forecasts of "
             f"{result['horizon']} steps), season {result['season_length']}",
             f"{'method':<20}" + "".join(f"{name:>10}" for name in METRICS)]  # fmt: skip
    for method in result["ranking_by_mase"]:
        average = result["scores"][method]["average"]
        lines.append(f"{method:<20}" + "".join(f"{average[name]:>10.4g}" for name in METRICS))
    interval = result.get("interval")
    if interval:
        mean_coverage = np.mean(list(interval["coverage"].values()))
        lines.append(f"model interval {interval['quantiles'][0]:g}-{interval['quantiles'][1]:g} "
                     f"(nominal {interval['nominal']:g}%): covers {mean_coverage:.1f}% of the "
                     "true values")  # fmt: skip
    return "\n".join(lines)


def _table(rows: dict[str, dict[str, float]], order: list[str]) -> list[str]:
    lines = ["| method | " + " | ".join(METRICS) + " |", "|---|" + "---:|" * len(METRICS)]
    for method in order:
        lines.append(f"| {method} | " + " | ".join(f"{rows[method][m]:.4g}" for m in METRICS)
                     + " |")  # fmt: skip
    return lines


def markdown_report(result: dict[str, Any]) -> str:
    order = result["ranking_by_mase"]
    parts = [f"# Forecast report: {Path(result['data']).name}", "",
             f"Model: `{result['model']}`. Test part: the last {result['test_steps']} of "
             f"{result['steps']} steps, forecast {result['forecast_origins']} times, "
             f"{result['horizon']} steps at a time, each from the true history before it. "
             f"MASE is scaled by the in-sample seasonal naive error (season "
             f"{result['season_length']}); sMAPE and MAPE are percentages.", "",
             f"![forecasts]({FORECAST_PLOT})", "",
             "## Averages over the series (best MASE first)", ""]  # fmt: skip
    parts += _table({m: result["scores"][m]["average"] for m in order}, order)
    if len(result["series"]) > 1:
        for name in result["series"]:
            parts += ["", f"## {name}", ""]
            parts += _table({m: result["scores"][m]["per_series"][name] for m in order},
                            sorted(order, key=lambda m: result["scores"][m]["per_series"][name]
                                   ["mase"]))  # fmt: skip
    interval = result.get("interval")
    if interval:
        parts += ["", "## Interval", "",
                  f"Quantiles {interval['quantiles'][0]:g} to {interval['quantiles'][1]:g} "
                  f"(nominal {interval['nominal']:g}%) cover: "
                  + ", ".join(f"{name} {value:.1f}%" for name, value
                              in interval["coverage"].items())]  # fmt: skip
    return "\n".join(parts) + "\n"


def plot_forecasts(
    table: Any, forecasts: dict[str, dict[str, np.ndarray]], test_start: int,
    result: dict[str, Any],
) -> Figure:  # fmt: skip
    """One panel per series (the first PLOTTED_SERIES): history, truth, forecasts."""
    names = result["series"][:PLOTTED_SERIES]
    figure = Figure(figsize=(10, 3.6 * len(names)))
    test_steps = table.length - test_start
    shown_from = max(0, test_start - max(2 * test_steps, 2 * table.season_length))
    steps = np.arange(table.length)
    future = steps[test_start:]
    for panel, name in enumerate(names, start=1):
        s = result["series"].index(name)
        axes = figure.add_subplot(len(names), 1, panel)
        series = forecasts[name]
        for method, values in series.items():  # the baselines first, under the model
            if method not in ("model", "low", "high"):
                axes.plot(future, values, linewidth=0.8, alpha=0.7, label=method)
        truth = np.where(table.observed[:, s], table.targets[:, s], np.nan)
        axes.plot(steps[shown_from : test_start + 1], truth[shown_from : test_start + 1],
                  color="black", linewidth=1, label="history")  # fmt: skip
        axes.plot(future, truth[test_start:], color="black", linewidth=1.4, label="truth",
                  zorder=3)  # fmt: skip
        if "low" in series:
            axes.fill_between(future, series["low"], series["high"], color="tab:blue", alpha=0.25,
                              label="model interval", zorder=2)  # fmt: skip
        axes.plot(future, series["model"], color="tab:blue", linewidth=1.8, label="model",
                  zorder=4)  # fmt: skip
        axes.axvline(test_start, color="grey", linewidth=0.8)
        axes.set_title(f"{name}: the test part after the grey line")
        axes.set_xlabel("step")
        axes.legend(fontsize=7, ncol=5, loc="upper center", bbox_to_anchor=(0.5, -0.18))
    figure.tight_layout()
    return figure
