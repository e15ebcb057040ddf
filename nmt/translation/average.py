"""Checkpoint averaging: the mean of the weights of a run's last N step checkpoints.

Averaging the last few checkpoints of a run smooths out the noise of the final updates and often
gains BLEU at no training cost (Vaswani et al. 2017, section 6.1; Junczys-Dowmunt et al. 2016).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import torch

from nmt.engine.checkpoint import StepCheckpoint, lightning_model_weights, step_checkpoints
from nmt.engine.rundir import (
    CONFIG_FILE,
    LIGHTNING_DIR,
    METADATA_FILE,
    WEIGHTS_FILE,
    atomic_directory,
    read_metadata,
    write_json,
)  # fmt: skip
from nmt.errors import NmtError
from nmt.translation.run import TOKENIZER_DIR


def average_checkpoints(run_dir: str | Path, last: int, output_dir: str | Path) -> Path:
    """Average the model weights of the `last` most recent step checkpoints of a run into a new,
    self-contained checkpoint directory (model.pt, config.yaml, tokenizer/, metadata.json) that
    `nmt translate predict` loads like any run. The directory appears at once, complete, or not
    at all."""
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

    return atomic_directory(output_dir, fill)


def _choose_checkpoints(run_dir: Path, last: int) -> list[StepCheckpoint]:
    if last < 1:
        raise NmtError(f"cannot average the last {last} checkpoints; give a number of at least 1")
    if not run_dir.is_dir():
        raise NmtError(f"{run_dir}: no such run directory")
    for name in (CONFIG_FILE, TOKENIZER_DIR):
        if not (run_dir / name).exists():
            raise NmtError(
                f"{run_dir}: not a translation run directory (`nmt translate train`), no {name}"
            )
    available = step_checkpoints(run_dir)
    if len(available) < last:
        raise NmtError(
            f"{run_dir}: asked to average the last {last} checkpoints, but "
            f"{run_dir / LIGHTNING_DIR} holds {len(available)} step checkpoint(s) "
            "(the run keeps trainer.keep_last_checkpoints of them)"
        )
    return available[-last:]


def average_weights(paths: list[Path]) -> tuple[dict[str, torch.Tensor], list[int]]:
    """The elementwise mean of the network weights in these Lightning checkpoints (oldest first),
    and each checkpoint's global step. Floating tensors are summed in float64 and cast back;
    integer buffers come from the newest checkpoint. Only tensors are unpickled (weights_only)."""
    sums: dict[str, torch.Tensor] = {}
    newest: dict[str, torch.Tensor] = {}
    steps = []
    for path in paths:
        weights, step = lightning_model_weights(path)
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
        steps.append(step)
    averaged = {
        name: (sums[name] / len(paths)).to(tensor.dtype) if tensor.is_floating_point() else tensor
        for name, tensor in newest.items()
    }
    return averaged, steps
