"""`nmt forecast train | predict | evaluate`: time series forecasting, each verb one library
call."""

from __future__ import annotations

import argparse

from nmt.engine.commands import add_train_verb, print_report_location, write_output
from nmt.engine.rundir import check_output_file
from nmt.forecast.config import BASELINES

VERBS = ("train", "predict", "evaluate")


def add_commands(verbs: argparse._SubParsersAction) -> None:
    add_train_verb(
        verbs, "nmt.forecast", help="train a forecaster from a recipe",
        description="Train a forecaster: nmt forecast train -c electricity_halfhourly "
        "data.path=path/to/taylor_electricity_halfhourly.csv model.encoder=conv",
        example="model.encoder=gru",
    )  # fmt: skip

    predict = verbs.add_parser(
        "predict", help="forecast the steps after the last observation",
        description="Forecast the horizon after the last row of a series file (default: the "
        "one the model was trained on; another needs the same columns) as CSV: the time, each "
        "series' forecast and, for a model with quantiles, SERIES_qLEVEL columns.",
    )  # fmt: skip
    predict.add_argument("-m", "--model", required=True, metavar="DIR", help="forecaster")
    predict.add_argument("--data", metavar="FILE", help="series file (default: the training one)")
    predict.add_argument("-o", "--output", help="CSV file, written atomically (default: stdout)")
    predict.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    predict.set_defaults(command=_predict)

    evaluate = verbs.add_parser(
        "evaluate", help="score the model and classical baselines on the test part",
        description="Forecast the test part of the series (the last data.test_size steps, one "
        "horizon at a time from the true history) with the model and the baselines (naive, "
        "seasonal naive, ETS, ARIMA, and MSTL+ARIMA with several seasons) and score them: MAE, "
        "RMSE, sMAPE, MAPE, MASE per series and averaged. --report DIR writes report.json, "
        "report.md, forecasts.csv and forecast.png.",
    )  # fmt: skip
    evaluate.add_argument("-m", "--model", required=True, metavar="DIR", help="forecaster")
    evaluate.add_argument("--data", metavar="FILE", help="series file (default: the training one)")
    evaluate.add_argument("--report", metavar="DIR", help="write the report files here")
    evaluate.add_argument(
        "--baselines",
        default=",".join(BASELINES),
        help="comma-separated, or 'none' (default: all)",
    )
    evaluate.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    evaluate.set_defaults(command=_evaluate)


def _predict(args: argparse.Namespace) -> int:
    from nmt.forecast.predict import Forecaster

    if args.output:
        check_output_file(args.output)
    forecaster = Forecaster.load(args.model, args.device)
    write_output(args.output, forecaster.future_csv(forecaster.read(args.data)))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from nmt.forecast.evaluate import evaluate_forecaster
    from nmt.forecast.report import format_scores

    names = [] if args.baselines == "none" else [n.strip() for n in args.baselines.split(",")]
    result = evaluate_forecaster(args.model, args.data, args.report, names, args.device)
    print(format_scores(result))
    print_report_location(args.report)
    return 0
