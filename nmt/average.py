"""Checkpoint averaging: the mean of the weights of a run's last N step checkpoints.

Averaging the last few checkpoints of a run smooths out the noise of the final updates and often
gains BLEU at no training cost (Vaswani et al. 2017, section 6.1; Junczys-Dowmunt et al. 2016).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import lightning as L
import torch

from nmt.checkpoint import (
    CONFIG_FILE,
    LIGHTNING_DIR,
    METADATA_FILE,
    TOKENIZER_DIR,
    WEIGHTS_FILE,
    read_metadata,
    write_json,
)  # fmt: skip
from nmt.errors import NmtError

STEP_CHECKPOINT = "step-{:06d}.ckpt"  # RUN/lightning/step-000123.ckpt
_STEP_NAME = re.compile(r"step-(\d+)\.ckpt")
_MODEL_PREFIX = "model."  # LitSeq2Seq holds the Seq2Seq as `self.model`


class StepCheckpoint(NamedTuple):
    path: Path
    step: int  # parsed from the file name; the loaded checkpoint's global_step is what is reported


def step_checkpoints(run_dir: str | Path) -> list[StepCheckpoint]:
    """The run's step checkpoints (see trainer.keep_last_checkpoints), oldest first."""
    found = []
    for path in (Path(run_dir) / LIGHTNING_DIR).glob("step-*.ckpt"):
        match = _STEP_NAME.fullmatch(path.name)
        if match:
            found.append(StepCheckpoint(path, int(match[1])))
    return sorted(found, key=lambda checkpoint: checkpoint.step)


class KeepLastCheckpoints(L.Callback):
    """After every validation, saves the weights to RUN/lightning/step-NNNNNN.ckpt and deletes all
    but the `keep` most recent, for `average_checkpoints`.

    It keeps no state of its own: what to delete is read from the folder, so resuming (possibly
    from an older last.ckpt) needs nothing restored. Step files beyond the current step belong to
    the history that the resume replaces, and go too. Only weights are saved (no optimiser state).
    """

    def __init__(self, run_dir: Path, keep: int) -> None:
        if keep < 1:
            raise NmtError(f"trainer.keep_last_checkpoints: {keep}; give at least 1, or 0 for none")
        self.run_dir = Path(run_dir)
        self.keep = keep

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or trainer.state.fn != "fit" or trainer.fast_dev_run:
            return
        step = trainer.global_step
        path = self.run_dir / LIGHTNING_DIR / STEP_CHECKPOINT.format(step)
        trainer.save_checkpoint(path, weights_only=True)  # every rank calls; rank 0 writes
        found = step_checkpoints(self.run_dir)
        kept = [checkpoint for checkpoint in found if checkpoint.step <= step][-self.keep :]
        for checkpoint in found:
            if checkpoint not in kept:
                trainer.strategy.remove_checkpoint(checkpoint.path)  # rank 0 only


def average_checkpoints(run_dir: str | Path, last: int, output_dir: str | Path) -> Path:
    """Average the model weights of the `last` most recent step checkpoints of a run into a new,
    self-contained checkpoint directory (model.pt, config.yaml, tokenizer/, metadata.json) that
    `nmt translate` loads like any run. The directory appears at once, complete, or not at all."""
    run_dir, output_dir = Path(run_dir), Path(output_dir)
    chosen = _choose_checkpoints(run_dir, last)
    if output_dir.exists():
        raise NmtError(f"{output_dir} already exists; choose a new output directory")
    weights, steps = average_weights([c.path for c in chosen])
    metadata = read_metadata(run_dir)
    metadata["best"] = None  # the average has not been validated
    metadata["averaged_from"] = [
        {"file": c.path.name, "step": step} for c, step in zip(chosen, steps)
    ]

    def fill(folder: Path) -> None:
        torch.save(weights, folder / WEIGHTS_FILE)
        shutil.copy2(run_dir / CONFIG_FILE, folder / CONFIG_FILE)
        shutil.copytree(run_dir / TOKENIZER_DIR, folder / TOKENIZER_DIR)
        write_json(folder / METADATA_FILE, metadata)

    _write_directory(output_dir, fill)
    return output_dir


def _choose_checkpoints(run_dir: Path, last: int) -> list[StepCheckpoint]:
    if last < 1:
        raise NmtError(f"cannot average the last {last} checkpoints; give a number of at least 1")
    if not run_dir.is_dir():
        raise NmtError(f"{run_dir}: no such run directory")
    for name in (CONFIG_FILE, TOKENIZER_DIR):
        if not (run_dir / name).exists():
            raise NmtError(f"{run_dir}: not a run directory written by `nmt train`, no {name}")
    available = step_checkpoints(run_dir)
    if len(available) < last:
        raise NmtError(
            f"{run_dir}: asked to average the last {last} checkpoints, but "
            f"{run_dir / LIGHTNING_DIR} holds {len(available)} step checkpoint(s) "
            "(the run keeps trainer.keep_last_checkpoints of them)"
        )
    return available[-last:]


def average_weights(paths: list[Path]) -> tuple[dict[str, torch.Tensor], list[int]]:
    """The elementwise mean of the Seq2Seq weights in these Lightning checkpoints (oldest first),
    and each checkpoint's global step. Floating tensors are summed in float64 and cast back;
    integer buffers come from the newest checkpoint. Only tensors are unpickled (weights_only)."""
    sums: dict[str, torch.Tensor] = {}
    newest: dict[str, torch.Tensor] = {}
    steps = []
    for path in paths:
        checkpoint = _load(path)
        weights = _model_weights(checkpoint, path)
        if sums and weights.keys() != newest.keys():
            raise NmtError(f"{path}: holds different parameters from {paths[0].name}")
        for name, tensor in weights.items():
            if name in sums and tensor.shape != sums[name].shape:
                raise NmtError(f"{path}: {name} has shape {list(tensor.shape)}, "
                               f"but {list(sums[name].shape)} in {paths[0].name}")  # fmt: skip
            if not tensor.is_floating_point():
                sums[name] = tensor
            elif name in sums:
                sums[name] = sums[name] + tensor.double()
            else:
                sums[name] = tensor.double()
        newest = weights
        steps.append(int(checkpoint.get("global_step", -1)))
    averaged = {
        name: (sums[name] / len(paths)).to(tensor.dtype) if tensor.is_floating_point() else tensor
        for name, tensor in newest.items()
    }
    return averaged, steps


def _load(path: Path) -> dict[str, Any]:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # truncated file, foreign pickle, ...: name the file
        raise NmtError(f"{path}: cannot read this checkpoint ({error})") from None


def _model_weights(checkpoint: dict[str, Any], path: Path) -> dict[str, torch.Tensor]:
    state = checkpoint.get("state_dict") if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict):
        raise NmtError(f"{path}: not a Lightning checkpoint (no state_dict)")
    weights = {
        name[len(_MODEL_PREFIX) :]: tensor
        for name, tensor in state.items()
        if name.startswith(_MODEL_PREFIX)
    }
    if not weights:
        raise NmtError(f"{path}: holds no model.* weights")
    return weights


def _write_directory(path: Path, fill: Callable[[Path], None]) -> None:
    """Call fill(temporary sibling folder), then rename it to path, so no half-written directory
    is ever seen under path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    try:
        fill(temporary)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o777 & ~umask)  # mkdtemp makes folders private; keep the usual mode
        if path.exists():  # rename would silently replace an empty directory
            raise NmtError(f"{path} already exists; choose a new output directory")
        try:
            os.rename(temporary, path)
        except OSError as error:
            raise NmtError(f"{path}: cannot create ({error.strerror})") from None
    finally:
        if temporary.exists():
            shutil.rmtree(temporary)
