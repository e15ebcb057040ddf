"""The `nmt` command as users run it: a real subprocess, real files, real error messages."""

import subprocess
import sys
from pathlib import Path

import pytest

from nmt.cli import main
from nmt.engine.rundir import atomic_write
from nmt.translation.predict import Translator

from .conftest import write_pairs


def run_nmt(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nmt.cli", *args], cwd=cwd, input=stdin, capture_output=True,
        text=True, timeout=300,
    )  # fmt: skip


def test_train_and_translate_as_a_user_would(reverse_task, tmp_path):
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(
        f"name: tiny\noutput_dir: {tmp_path / 'checkpoints'}\n"
        f"data: {{path: {reverse_task}, batch_tokens: 600}}\n"
        "tokenizer: {vocab_size: 40, model_type: bpe}\n"
        "model: {embedding_size: 16, encoder_hidden_size: 16, decoder_hidden_size: 32}\n"
        "trainer: {max_epochs: 1}\n"
    )
    trained = run_nmt("train", "-c", str(recipe), "model.attention=dot", cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr[-3000:]
    run_dir = tmp_path / "checkpoints" / "tiny"
    assert f"checkpoint: {run_dir}" in trained.stdout
    assert "tok/s=" in trained.stdout + trained.stderr  # the progress bar shows the speed
    assert Translator.load(run_dir).config.model.attention == "dot"

    source = "a b c\n\nj i h g\n"
    translated = run_nmt("translate", "-m", str(run_dir), cwd=tmp_path, stdin=source)
    assert translated.returncode == 0, translated.stderr[-3000:]
    lines = translated.stdout.split("\n")
    assert len(lines) == 4 and lines[1] == "" and lines[3] == ""

    again = run_nmt("train", "-c", str(recipe), cwd=tmp_path)
    assert again.returncode == 2
    assert "already holds a run" in again.stderr and "--resume" in again.stderr
    assert "Traceback" not in again.stderr


def test_mismatched_line_counts_are_reported_with_both_files(tmp_path, capsys):
    write_pairs(tmp_path / "data", "train", [("a b", "b a"), ("c", "c")])
    (tmp_path / "data" / "train.tgt").write_text("b a\nc\nextra\n")
    code = main(["train", "-c", "demo", f"data.path={tmp_path / 'data'}",
                 f"output_dir={tmp_path / 'out'}"])  # fmt: skip
    message = capsys.readouterr().err
    assert code == 2
    data = tmp_path / "data"
    assert f"{data / 'train.src'} has 2 lines, {data / 'train.tgt'} has 3 lines" in message


@pytest.mark.parametrize(
    "args, expected",
    [
        (["train", "-c", "no_such_recipe"], "packaged recipes: "),
        (["train", "-c", "demo", "model.cell=transformer"], "choose one of: rnn, gru, lstm"),
        (["train", "--resume", "/nonexistent/run"], "no config.yaml"),
        (["translate", "-m", "/nonexistent/run"], "no such checkpoint directory"),
    ],
)
def test_user_errors_are_one_clear_line(args, expected, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err


def test_an_interrupted_write_leaves_the_previous_file_intact(tmp_path):
    target = tmp_path / "model.pt"
    target.write_bytes(b"the good checkpoint")

    def crash_halfway(tmp: Path) -> None:
        tmp.write_bytes(b"half a check")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, crash_halfway)
    assert target.read_bytes() == b"the good checkpoint"
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]


def test_an_unusable_device_is_a_user_error_not_a_traceback(reversal_run, capsys):
    assert main(["translate", "-m", str(reversal_run), "--device", "bogus"]) == 2
    err = capsys.readouterr().err
    assert "nmt: error: device bogus:" in err and "Traceback" not in err
