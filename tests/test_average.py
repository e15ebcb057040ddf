"""Checkpoint averaging: a run keeps its last N step checkpoints, and `nmt average` turns them into
a new checkpoint directory whose weights are their exact elementwise mean."""

import shutil
from pathlib import Path

import pytest
import torch

from nmt.cli import main
from nmt.engine.checkpoint import step_checkpoints
from nmt.engine.rundir import LIGHTNING_DIR, read_metadata
from nmt.errors import NmtError
from nmt.translation.average import average_checkpoints
from nmt.translation.predict import Translator
from nmt.translation.run import load_model_dir, resume, train

from .conftest import tiny_config


@pytest.fixture(scope="module")
def run_dir(reverse_task, tmp_path_factory) -> Path:
    config = tiny_config(
        reverse_task, tmp_path_factory.mktemp("runs"), "model.attention=luong",
        "model.input_feeding=false", "data.batch_tokens=2000", "trainer.max_epochs=3",
        "trainer.keep_last_checkpoints=2",
    )  # fmt: skip
    return train(config)


def model_weights(path: Path) -> dict[str, torch.Tensor]:
    state = torch.load(path, map_location="cpu", weights_only=True)["state_dict"]
    return {name.removeprefix("model."): tensor for name, tensor in state.items()}


def test_run_keeps_exactly_the_last_two_step_checkpoints(run_dir):
    lightning = run_dir / LIGHTNING_DIR
    kept = sorted(p.name for p in lightning.glob("step-*.ckpt"))
    assert len(kept) == 2, kept
    checkpoints = [torch.load(lightning / name, weights_only=True) for name in kept]
    steps = [checkpoint["global_step"] for checkpoint in checkpoints]
    assert kept == [f"step-{step:06d}.ckpt" for step in steps]
    assert 0 < steps[0] < steps[1]
    # one validation per epoch: 0, 1 and 2; the checkpoint of epoch 0 was pruned
    assert [checkpoint["epoch"] for checkpoint in checkpoints] == [1, 2]
    assert "optimizer_states" not in checkpoints[0]  # weights only: they are for averaging
    assert [c.step for c in step_checkpoints(run_dir)] == steps
    assert {"best.ckpt", "last.ckpt"} <= {p.name for p in lightning.iterdir()}


def test_average_of_two_is_their_elementwise_mean_and_translates(run_dir, reverse_task, tmp_path):
    output = average_checkpoints(run_dir, 2, tmp_path / "averaged")
    older, newer = (model_weights(c.path) for c in step_checkpoints(run_dir))
    averaged = torch.load(output / "model.pt", map_location="cpu", weights_only=True)
    assert averaged.keys() == older.keys()
    assert any(not torch.equal(older[name], newer[name]) for name in older)
    for name, tensor in averaged.items():
        assert tensor.dtype == older[name].dtype
        torch.testing.assert_close(tensor, (older[name] + newer[name]) / 2, rtol=0, atol=0)

    loaded = load_model_dir(output)
    for name, tensor in loaded.model.state_dict().items():
        assert torch.equal(tensor, averaged[name])
    sources = (reverse_task / "test.src").read_text("utf-8").splitlines()
    translations = Translator.load(output).translate(sources)
    assert len(translations) == len(sources)

    metadata = read_metadata(output)
    assert metadata["best"] is None
    assert [entry["file"] for entry in metadata["averaged_from"]] == [
        c.path.name for c in step_checkpoints(run_dir)
    ]
    assert metadata["src_vocab_size"] == read_metadata(run_dir)["src_vocab_size"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["averaged"]  # no temporary left


def test_average_of_one_reproduces_the_newest_checkpoint(run_dir, tmp_path):
    output = average_checkpoints(run_dir, 1, tmp_path / "one")
    newest = model_weights(step_checkpoints(run_dir)[-1].path)
    averaged = torch.load(output / "model.pt", weights_only=True)
    assert averaged.keys() == newest.keys()
    for name, tensor in newest.items():
        assert torch.equal(averaged[name], tensor)
    assert read_metadata(output)["averaged_from"][0]["step"] == step_checkpoints(run_dir)[-1].step


def test_user_errors_name_the_problem(run_dir, tmp_path):
    with pytest.raises(NmtError, match="last 3 checkpoints.*holds 2"):
        average_checkpoints(run_dir, 3, tmp_path / "three")
    (tmp_path / "taken").mkdir()
    with pytest.raises(NmtError, match="taken already exists"):
        average_checkpoints(run_dir, 2, tmp_path / "taken")
    with pytest.raises(NmtError, match="not a translation run directory"):
        average_checkpoints(tmp_path / "taken", 1, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


def test_cli_prints_the_new_directory_and_reports_errors_without_traceback(
    run_dir, tmp_path, capsys
):
    output = tmp_path / "cli"
    assert main(["average", str(run_dir), "--last", "2", "-o", str(output)]) == 0
    assert capsys.readouterr().out.strip() == str(output)
    assert main(["average", str(run_dir), "--last", "2", "-o", str(output)]) == 2
    error = capsys.readouterr().err
    assert "already exists" in error and "Traceback" not in error
    assert main(["average", str(run_dir), "--last", "9", "-o", str(tmp_path / "x")]) == 2
    error = capsys.readouterr().err
    assert "holds 2" in error and "Traceback" not in error


def test_pruning_carries_on_after_resume(reverse_task, tmp_path):
    """The kept files are found on disk, not in restored callback state; a step file beyond the
    resumed step belongs to the replaced history and goes too."""
    run = train(tiny_config(
        reverse_task, tmp_path, "model.attention=dot", "data.batch_tokens=2000",
        "trainer.max_epochs=1", "trainer.keep_last_checkpoints=2",
    ))  # fmt: skip
    (first,) = step_checkpoints(run)
    shutil.copy(first.path, run / LIGHTNING_DIR / "step-999999.ckpt")
    resume(run, ["trainer.max_epochs=3"])
    kept = step_checkpoints(run)
    epochs = [torch.load(c.path, weights_only=True)["epoch"] for c in kept]
    assert epochs == [1, 2] and kept[0].step > first.step
