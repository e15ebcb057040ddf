"""Forecasting end to end: windows and splits on hand-made series (counts, alignment, no
leakage), missing values, MASE by hand, tiny models that learn a sine wave through `nmt
forecast` and beat the naive baselines, predict's CSV, and bad input naming file and row."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from nmt.cli import main
from nmt.errors import NmtError
from nmt.forecast.batch import SeriesWindows, split_points, window_origins
from nmt.forecast.config import load
from nmt.forecast.corpus import handle_missing, read_series, season_from_frequency
from nmt.forecast.datamodule import ForecastDataModule
from nmt.forecast.metrics import forecast_scores, seasonal_naive_scale
from nmt.forecast.synthetic import write_sine_series
from nmt.forecast.vocab import SeriesScaling

SMALL = [
    "data.time_column=time", "data.target_columns=[value]", "data.season_length=24",
    "data.extra_seasons=[]", "data.input_length=48", "data.horizon=12", "data.test_size=24",
    "data.validation_size=24", "data.batch_size=32", "model.hidden_size=32", "model.layers=1",
    "model.dropout=0.0", "optim.lr=0.01", "optim.schedule=constant", "trainer.max_minutes=null",
    "trainer.early_stopping_patience=null", "trainer.progress_bar=false",
]  # fmt: skip


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def train(series: Path, out: Path, name: str, *overrides: str) -> Path:
    assert main(["forecast", "train", "-c", "electricity_halfhourly", f"data.path={series}",
                 f"output_dir={out}", f"name={name}", *SMALL, *overrides]) == 0  # fmt: skip
    return out / name


@pytest.fixture(scope="module")
def sine(tmp_path_factory) -> Path:
    """Hourly sine of period 24 with a slow trend and a little noise."""
    folder = tmp_path_factory.mktemp("sine")
    return write_sine_series(folder / "sine.csv", steps=600, period=24, trend=0.004, noise=0.02)


@pytest.fixture(scope="module")
def lstm_run(sine, tmp_path_factory) -> Path:
    """An LSTM forecaster of the sine (~5 s)."""
    return train(sine, tmp_path_factory.mktemp("forecasters"), "lstm", "model.encoder=lstm",
                 "trainer.max_epochs=25")  # fmt: skip


# --- windows and splits ---------------------------------------------------------------------


def test_windows_hold_the_steps_before_and_after_their_origin():
    values = np.arange(20, dtype=float)[None]  # one series whose value is its step
    windows = SeriesWindows(values, np.zeros((20, 0)), input_length=3)
    split = split_points(20, validation_steps=4, test_steps=4, input_length=3, horizon=2)
    assert split == (12, 16, 20)
    origins = window_origins(0, split.train_end, 3, 2, stride=1)
    assert origins == list(range(3, 11))  # targets of the last window: steps 10 and 11
    assert window_origins(0, split.train_end, 3, 2, stride=3) == [3, 6, 9]
    batch = windows.batch(torch.tensor([0, 0]), torch.tensor([3, 10]), horizon=2)
    assert batch.inputs[:, :, 0].tolist() == [[0, 1, 2], [7, 8, 9]]
    assert batch.targets.tolist() == [[3, 4], [10, 11]]
    # validation windows own targets 12-15 and may read training steps as their past
    assert window_origins(split.train_end, split.validation_end, 3, 2) == [12, 13, 14]


def test_too_short_a_series_says_what_to_shorten():
    with pytest.raises(NmtError, match="fewer than one window"):
        split_points(30, validation_steps=10, test_steps=10, input_length=8, horizon=4)


def test_nothing_of_the_validation_or_test_part_reaches_training(sine, tmp_path):
    """The scaling and every training window are the same when the values after the training
    part change wildly; validation windows do see them (their targets are there)."""
    config = load("electricity_halfhourly", [f"data.path={sine}", *SMALL])
    original = read_series("csv", str(sine), "time", ["value"])
    rows = list(csv.reader(sine.open()))
    train_end = original.length - 24 - 24
    for row in rows[1 + train_end :]:
        row[1] = "1000000"
    leaked = write_csv(tmp_path / "leaked.csv", rows[0], rows[1:])

    def training_windows(path: Path, run_dir: Path):
        config.data.path = str(path)
        run_dir.mkdir()
        module = ForecastDataModule(config.data, run_dir, train_horizon=12)
        module.prepare_data()
        module.setup()
        batches = list(module.train_dataloader())
        inputs = torch.cat([b.inputs for b in batches])
        targets = torch.cat([b.targets for b in batches])
        valid = torch.cat([b.targets for b in module.val_dataloader()])
        return SeriesScaling.load(run_dir), inputs, targets, valid

    scaling, inputs, targets, valid = training_windows(sine, tmp_path / "a")
    leaked_scaling, leaked_inputs, leaked_targets, leaked_valid = training_windows(
        leaked, tmp_path / "b"
    )
    assert leaked_scaling == scaling
    assert torch.equal(leaked_inputs, inputs) and torch.equal(leaked_targets, targets)
    assert max(inputs.abs().max(), targets.abs().max()) < 10
    assert leaked_valid.max() > 1000 > valid.abs().max()  # the changed values are validation's


# --- reading series and missing values ------------------------------------------------------


def test_gaps_and_empty_cells_become_missing_values_and_are_interpolated(tmp_path, nmt_log):
    rows = [["2024-01-01", 1], ["2024-01-02", ""], ["2024-01-03", 3], ["2024-01-05", 5],
            ["2024-01-06", 6]]  # fmt: skip
    path = write_csv(tmp_path / "daily.csv", ["day", "sales"], rows)
    table = read_series("csv", str(path), "day", ["sales"])
    assert table.frequency == "D" and table.season_length == 7 and table.length == 6
    assert np.isnan(table.targets[[1, 3], 0]).all()  # the empty cell and the missing day
    assert table.places[1] == f"{path}:3" and table.places[3] is None  # None: no row there
    assert "frequency D inferred" in nmt_log.text
    filled = handle_missing(read_series("csv", str(path), "day", ["sales"]), "interpolate")
    assert filled.targets[:, 0].tolist() == [1, 2, 3, 4, 5, 6]
    assert filled.observed[:, 0].tolist() == [True, False, True, False, True, True]
    masked = handle_missing(read_series("csv", str(path), "day", ["sales"]), "mask")
    assert np.isnan(masked.targets[1, 0])
    windows = SeriesWindows(masked.targets.T, masked.covariates, 2, observed_flag=True)
    batch = windows.batch(torch.tensor([0]), torch.tensor([3]), horizon=2)
    assert batch.inputs[0].tolist() == [[0.0, 0.0], [3.0, 1.0]]  # value, observed flag
    assert batch.observed[0].tolist() == [False, True]
    with pytest.raises(NmtError, match=rf"{path}:3: no value for 'sales'.*data.missing"):
        handle_missing(read_series("csv", str(path), "day", ["sales"]), "error")


def test_seasons_follow_the_frequency():
    assert [season_from_frequency(f) for f in ("30min", "h", "D", "W-SAT", "MS", "QS-OCT")] == [
        48, 24, 7, 52, 12, 4,
    ]  # fmt: skip
    assert season_from_frequency(None) == 1


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([["1", "5"], ["3", "6"], ["2", "7"]], r"bad\.csv:4: time 2 \('t'\) does not come after"),
        ([["1", "5"], ["2", "lots"], ["3", "7"]], r"bad\.csv:3: 'y' must be a number, got 'lots'"),
        ([["2024-01-01", "5"], ["soon", "6"]], r"bad\.csv:3: time 'soon' \('t'\) is neither"),
        ([["1", "5"], ["1", "6"]], r"bad\.csv:3: time 1 \('t'\) does not come after"),
    ],
)
def test_bad_rows_are_named_by_file_and_line(tmp_path, rows, message):
    path = write_csv(tmp_path / "bad.csv", ["t", "y"], rows)
    with pytest.raises(NmtError, match=message):
        read_series("csv", str(path), "t", ["y"])


def test_the_command_line_names_a_missing_column_and_a_time_out_of_order(sine, tmp_path, capsys):
    code = main(["forecast", "train", "-c", "electricity_halfhourly", f"data.path={sine}",
                 f"output_dir={tmp_path}", *SMALL, "data.target_columns=[load]"])  # fmt: skip
    assert code == 2
    assert f"{sine}:2: no 'load' column (it has time, value)" in capsys.readouterr().err
    rows = list(csv.reader(sine.open()))
    rows[10], rows[11] = rows[11], rows[10]
    shuffled = write_csv(tmp_path / "shuffled.csv", rows[0], rows[1:])
    code = main(["forecast", "train", "-c", "electricity_halfhourly", f"data.path={shuffled}",
                 f"output_dir={tmp_path}", *SMALL])  # fmt: skip
    assert code == 2
    assert f"{shuffled}:12: time 2024-01-01 09:00:00 ('time') does not come after" in (
        capsys.readouterr().err
    )


# --- metrics --------------------------------------------------------------------------------


def test_mase_and_the_percentage_errors_match_a_hand_computation():
    history = np.array([1.0, 3.0, 2.0, 4.0, 3.0, 5.0])  # season 2: |2-1|,|4-3|,|3-2|,|5-4| -> 1
    scale = seasonal_naive_scale(history, 2)
    assert scale == 1.0
    truth, forecast = np.array([4.0, np.nan, 8.0]), np.array([5.0, 100.0, 6.0])
    scores = forecast_scores(truth, forecast, scale)  # the missing truth is left out
    assert scores["mae"] == pytest.approx(1.5) and scores["mase"] == pytest.approx(1.5)
    assert scores["rmse"] == pytest.approx(np.sqrt((1 + 4) / 2))
    assert scores["smape"] == pytest.approx(100 * (2 * 1 / 9 + 2 * 2 / 14) / 2)
    assert scores["mape"] == pytest.approx(100 * (1 / 4 + 2 / 8) / 2)
    with pytest.raises(NmtError, match="more than one season"):
        seasonal_naive_scale(history[:2], 2)


# --- training, evaluation, prediction -------------------------------------------------------


def test_an_lstm_learns_the_sine_and_beats_the_naive_baselines(lstm_run, tmp_path, capsys):
    report = tmp_path / "report"
    assert main(["forecast", "evaluate", "-m", str(lstm_run), "--report", str(report),
                 "--baselines", "naive,seasonal_naive"]) == 0  # fmt: skip
    assert "seasonal_naive" in capsys.readouterr().out
    result = json.loads((report / "report.json").read_text())
    scores = {method: s["average"] for method, s in result["scores"].items()}
    assert result["test_steps"] == 24 and result["forecast_origins"] == 2
    assert scores["model"]["mae"] < 0.08, scores
    assert scores["model"]["mase"] < scores["seasonal_naive"]["mase"] < scores["naive"]["mase"]
    assert result["ranking_by_mase"][0] == "model"
    for name in ("report.md", "forecasts.csv", "forecast.png"):
        assert (report / name).stat().st_size > 0
    with (report / "forecasts.csv").open() as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 24 and set(rows[0]) == {"series", "time", "truth", "model", "naive",
                                                "seasonal_naive"}  # fmt: skip


def test_predict_writes_the_next_horizon_after_the_last_row(lstm_run, sine, tmp_path):
    out = tmp_path / "next.csv"
    assert main(["forecast", "predict", "-m", str(lstm_run), "-o", str(out)]) == 0
    with out.open() as file:
        rows = list(csv.DictReader(file))
    assert [row["time"] for row in rows[:2]] == ["2024-01-26 00:00:00", "2024-01-26 01:00:00"]
    assert len(rows) == 12
    # the continuation of the sine: step 600 + k, period 24, trend 0.004 per step
    expected = [np.sin(2 * np.pi * (600 + k) / 24) + 0.004 * (600 + k) for k in range(12)]
    assert np.abs(np.array([float(r["value"]) for r in rows]) - expected).max() < 0.2


@pytest.mark.parametrize(
    "overrides",
    [
        ["model.encoder=conv", "model.quantiles=[0.1,0.5,0.9]"],
        ["model.encoder=mlp", "model.output=recursive", "model.level=last"],
    ],
    ids=["conv-quantiles", "mlp-recursive"],
)
def test_other_encoders_and_outputs_learn_the_sine(sine, tmp_path, overrides, capsys):
    run = train(sine, tmp_path, "run", "trainer.max_epochs=25", *overrides)
    training_log = capsys.readouterr().err
    report = tmp_path / "report"
    assert main(["forecast", "evaluate", "-m", str(run), "--report", str(report),
                 "--baselines", "seasonal_naive"]) == 0  # fmt: skip
    result = json.loads((report / "report.json").read_text())
    assert result["scores"]["model"]["average"]["mae"] < 0.15
    if "model.encoder=conv" in overrides:
        assert "receptive field 64 steps (windows of 48)" in training_log
        assert 50 <= result["interval"]["coverage"]["value"] <= 100
        assert main(["forecast", "predict", "-m", str(run), "-o", str(tmp_path / "next.csv")]) == 0
        header = (tmp_path / "next.csv").read_text().splitlines()[0]
        assert header == "time,value,value_q0.1,value_q0.5,value_q0.9"


def test_a_global_model_learns_two_series_with_missing_values_masked(tmp_path):
    series = write_sine_series(tmp_path / "two.csv", steps=500, period=24, columns=2, noise=0.02)
    rows = list(csv.reader(series.open()))
    for row in rows[100:140]:  # 40 hours of the second series lost
        row[2] = ""
    holes = write_csv(tmp_path / "holes.csv", rows[0], rows[1:])
    run = train(holes, tmp_path, "two", "data.target_columns=[value,value2]",
                "data.missing=mask", "trainer.max_epochs=20")  # fmt: skip
    report = tmp_path / "report"
    assert main(["forecast", "evaluate", "-m", str(run), "--report", str(report),
                 "--baselines", "naive"]) == 0  # fmt: skip
    result = json.loads((report / "report.json").read_text())
    per_series = result["scores"]["model"]["per_series"]
    assert set(per_series) == {"value", "value2"}
    assert all(scores["mae"] < 0.15 for scores in per_series.values()), per_series


def test_hub_format_reads_a_local_dataset_folder_through_datasets(tmp_path):
    folder = tmp_path / "hub"
    folder.mkdir()
    write_sine_series(folder / "train.csv", steps=50, period=10, dates=False)
    table = read_series("hub", str(folder), "time", ["value"], hub_split="train")
    assert table.length == 50 and table.frequency is None and table.step == 1
    assert table.places[0] == f"dataset {str(folder)!r} row 1"
    assert table.future_times(2) == [50, 51]
