"""`nmt study memory`, run as a user runs it: a small study where the LSTM learns a short delay and
the convolution cannot reach a delay beyond its receptive field; the files it writes; its errors."""

import json

import pytest

from nmt.cli import main
from nmt.study.memory import build_echo_model, count_parameters, size_for_parameters, study_memory
from nmt.study.settings import CELLS, MemorySettings

# Receptive field 8 (kernel 2, 3 levels): delay 2 is inside it, delay 12 beyond it.
SMALL = ["--cells", "lstm,conv", "--delays", "2,12", "--conv-kernel", "2", "--conv-levels", "3",
         "--parameters", "3000", "--steps", "150", "--gradient-delay", "12"]  # fmt: skip


@pytest.fixture(scope="module")
def small_study(tmp_path_factory):
    out = tmp_path_factory.mktemp("study") / "memory"
    assert main(["study", "memory", "--out", str(out), *SMALL]) == 0
    return out


def test_the_lstm_remembers_and_the_conv_sees_nothing_beyond_its_field(small_study):
    results = json.loads((small_study / "results.json").read_text())
    assert results["settings"]["delays"] == [2, 12]
    assert results["models"]["conv"]["receptive_field"] == 8
    lstm, conv = results["accuracy"]["lstm"], results["accuracy"]["conv"]
    assert lstm[0] > 0.9 and conv[0] > 0.9
    assert conv[1] < 0.25  # chance is 0.125
    assert lstm[1] > 0.9  # the LSTM carries a symbol further than the conv can see
    assert results["usable_delay"]["conv"] == 2
    # the conv's gradient reaches back exactly 8 steps (lags 0..7), at initialisation and after
    for when in ("initial", "trained"):
        norms = results["gradients"][when]["conv"]
        assert all(n > 0 for n in norms[:8]) and all(n == 0 for n in norms[8:])
        assert min(results["gradients"][when]["lstm"]) > 0


def test_the_study_writes_its_report_and_plots(small_study, capsys):
    report = (small_study / "report.md").read_text()
    assert "| delay | lstm | conv |" in report and "receptive field 8" in report
    for plot in ("accuracy.png", "gradients.png"):
        assert (small_study / plot).read_bytes().startswith(b"\x89PNG")
    assert not [p.name for p in small_study.iterdir() if p.name.endswith(".tmp")]


def test_the_study_prints_its_table(tmp_path, capsys):
    out = tmp_path / "tiny"
    assert main(["study", "memory", "--out", str(out), "--cells", "conv,rnn", "--delays", "1",
                 "--steps", "2", "--parameters", "500"]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "delay     conv     rnn" in printed and "usable" in printed
    assert f"report: {out / 'report.md'}" in printed


def test_an_output_folder_with_files_is_kept_unless_forced(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    tiny = ["--cells", "conv", "--delays", "1", "--steps", "1", "--parameters", "300"]
    assert main(["study", "memory", "--out", str(out), *tiny]) == 2
    assert "already holds files" in capsys.readouterr().err
    assert main(["study", "memory", "--out", str(out), "--force", *tiny]) == 0
    assert (out / "notes.txt").read_text() == "keep me" and (out / "results.json").is_file()


@pytest.mark.parametrize(
    "option, value, message",
    [("--delays", "1,x", "--delays 1,x: give whole numbers >= 1"),
     ("--delays", "0,5", "--delays 0,5: give whole numbers >= 1"),
     ("--delays", "", "--delays : give whole numbers >= 1"),
     ("--cells", "lstm,transformer", "--cells lstm,transformer: choose from rnn,gru,lstm,conv"),
     ("--steps", "0", "steps 0: give at least 1"),
     ("--symbols", "1", "symbols 1: give at least 2")],
)  # fmt: skip
def test_bad_options_are_named(tmp_path, capsys, option, value, message):
    assert main(["study", "memory", "--out", str(tmp_path / "out"), option, value]) == 2
    assert capsys.readouterr().err.startswith(f"nmt: error: {message}")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("target", [3_000, 10_000])
def test_each_cell_is_sized_to_the_same_parameter_budget(target):
    settings = MemorySettings(symbols=4, parameters=target)
    for cell in CELLS:
        size = size_for_parameters(cell, settings)
        count = lambda s, cell=cell: count_parameters(build_echo_model(cell, s, settings))
        # the nearest count to the target that a whole size gives
        assert abs(count(size) - target) <= min(abs(count(size + 1) - target),
                                                abs(count(size - 1) - target))  # fmt: skip
        assert abs(count(size) - target) < 0.1 * target


def test_the_study_repeats_exactly():
    settings = MemorySettings(delays=(1, 3), cells=("rnn", "conv"), steps=5, parameters=400,
                              conv_kernel=2, conv_levels=2, scored_steps=8)  # fmt: skip
    first, second = study_memory(settings), study_memory(settings)
    assert first["accuracy"] == second["accuracy"]
    assert first["gradients"] == second["gradients"]
