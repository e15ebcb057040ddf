"""Forecasting benchmark over the five shared series: train each series' recipe once per encoder
within a wall-clock budget, evaluate every run on the test part beside the classical baselines
(naive, seasonal naive, ETS, ARIMA, and MSTL+ARIMA where a second season is given), and print
the MASE table. The `nmt` figure of a series is the encoder with the best VALIDATION score
(chosen without looking at the test part); every encoder's test MASE is printed too.

    python benchmarks/forecast.py --data ../shared/data/series --minutes 3
    python benchmarks/forecast.py --series electricity_halfhourly --encoders lstm,conv

Runs go one after another: run it on an otherwise idle machine. Not part of the tests.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from nmt.forecast.config import BASELINES
from nmt.forecast.evaluate import evaluate_forecaster

SERIES = {  # recipe -> file in the shared data folder
    "electricity_halfhourly": "taylor_electricity_halfhourly.csv",
    "sunspots_monthly": "sunspots_monthly.csv",
    "co2_weekly": "co2_weekly.csv",
    "elec_equip_monthly": "elec_equip_monthly.csv",
    "us_macro_quarterly": "us_macro_quarterly.csv",
}
CLASSICAL = ("seasonal_naive", "ets", "arima")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/series")
    parser.add_argument("--out", default="checkpoints/bench/forecast")
    parser.add_argument("--minutes", type=float, default=3.0, help="training budget per run")
    parser.add_argument("--series", default=",".join(SERIES), help="recipes, comma-separated")
    parser.add_argument("--encoders", default="mlp,lstm,conv", help="comma-separated")
    parser.add_argument("--override", action="append", default=[], help="for every run")
    args = parser.parse_args()
    results = {}
    for recipe in args.series.split(","):
        results[recipe] = run_series(args, recipe)
        print(table({recipe: results[recipe]}), flush=True)
    print(table(results))
    out = Path(args.out) / f"results-{args.minutes:g}min.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"figures: {out}")


def run_series(args: argparse.Namespace, recipe: str) -> dict:
    path = Path(args.data) / SERIES[recipe]
    runs, baselines = {}, None
    for encoder in args.encoders.split(","):
        name = f"{recipe}-{encoder}-{args.minutes:g}min"
        command = [
            sys.executable, "-m", "nmt.cli", "forecast", "train", "-c", recipe,
            f"data.path={path}", f"output_dir={args.out}", f"name={name}",
            f"trainer.max_minutes={args.minutes:g}", "trainer.progress_bar=false",
            f"model.encoder={encoder}", *args.override,
        ]  # fmt: skip
        print("$", " ".join(["nmt", *command[3:]]), flush=True)
        started = time.perf_counter()
        subprocess.run(command, check=True)
        minutes = (time.perf_counter() - started) / 60
        run_dir = Path(args.out) / name
        metadata = json.loads((run_dir / "metadata.json").read_text())
        names = [] if baselines else list(BASELINES)
        started = time.perf_counter()
        result = evaluate_forecaster(run_dir, baselines=names)
        if baselines is None:
            baselines = {m: s["average"] for m, s in result["scores"].items() if m != "model"}
            baselines_seconds = time.perf_counter() - started
        runs[encoder] = {
            "command": " ".join(["nmt", *command[3:]]), "train_minutes": round(minutes, 1),
            "validation_mae": metadata["best"]["val_mae"], "parameters": metadata["parameters"],
            "test": result["scores"]["model"]["average"],
        }  # fmt: skip
    chosen = min(runs, key=lambda e: runs[e]["validation_mae"])
    return {"runs": runs, "chosen": chosen, "baselines": baselines,
            "baselines_seconds": round(baselines_seconds, 1)}  # fmt: skip


def table(results: dict) -> str:
    lines = ["| series | nmt (chosen by validation) | MASE | " + " | ".join(CLASSICAL)
             + " | other baselines | every encoder's MASE | nmt MAPE |",
             "|---|---|---:|" + "---:|" * len(CLASSICAL) + "---|---|---:|"]  # fmt: skip
    for recipe, result in results.items():
        chosen = result["runs"][result["chosen"]]["test"]
        baselines = result["baselines"]
        others = ", ".join(f"{m} {s['mase']:.3f}" for m, s in baselines.items()
                           if m not in CLASSICAL)  # fmt: skip
        encoders = ", ".join(f"{e} {r['test']['mase']:.3f}" for e, r in result["runs"].items())
        lines.append(f"| {recipe} | {result['chosen']} | {chosen['mase']:.3f} | "
                     + " | ".join(f"{baselines[m]['mase']:.3f}" for m in CLASSICAL)
                     + f" | {others} | {encoders} | {chosen['mape']:.2f}% |")  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    main()
