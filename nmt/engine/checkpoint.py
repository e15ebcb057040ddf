"""Weights in and out of a run directory: model.pt, Lightning checkpoints, step checkpoints, and
the metadata every run starts with. Only tensors are ever unpickled (weights_only loading), and
every unreadable file is reported by name, never as a traceback."""

from __future__ import annotations

import pickle
import platform
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple

import torch
from torch import nn

import nmt
from nmt.engine.rundir import LIGHTNING_DIR, WEIGHTS_FILE
from nmt.errors import NmtError

STEP_CHECKPOINT = "step-{:06d}.ckpt"  # RUN/lightning/step-000123.ckpt
_STEP_NAME = re.compile(r"step-(\d+)\.ckpt")
MODEL_PREFIX = "model."  # every task's LightningModule holds its network as `model`


def versions() -> dict[str, str]:
    import datasets
    import lightning
    import sacrebleu
    import sentencepiece

    return {
        "nmt": nmt.__version__, "torch": torch.__version__, "lightning": lightning.__version__,
        "sentencepiece": sentencepiece.__version__, "datasets": datasets.__version__,
        "sacrebleu": sacrebleu.__version__, "python": platform.python_version(),
    }  # fmt: skip


def base_metadata(model: nn.Module, **fields: Any) -> dict[str, Any]:
    """metadata.json of a new run of any task: creation time, versions, size, task fields."""
    return {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": versions(),
        **fields,
        "parameters": sum(p.numel() for p in model.parameters()),
        "best": None,
    }


def check_device(device: str | torch.device) -> torch.device:
    """The device to load a model on, checked to be usable here (e.g. cuda without a GPU)."""
    try:
        torch.empty(0, device=device)
    except (RuntimeError, AssertionError) as error:
        raise NmtError(f"device {device}: {error}") from None
    return torch.device(device)


def load_tensors(path: Path, mmap: bool = False) -> Any:
    """torch.load with weights_only (no pickled code runs); any unreadable file is an NmtError.
    With `mmap` the tensors stay in the file until used (a cheap look at a large checkpoint)."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except pickle.UnpicklingError:
        raise NmtError(
            f"{path}: refused, it holds pickled objects besides tensors (only weights are loaded, "
            "never code)"
        ) from None
    except Exception as error:  # truncated file, a directory, not a checkpoint...: name the file
        raise NmtError(f"{path}: {_unreadable(Path(path), error)}") from None


def _unreadable(path: Path, error: Exception) -> str:
    if path.is_dir():
        return "is a directory, not a checkpoint file"
    if path.is_file() and path.stat().st_size == 0:
        return "is empty (an interrupted copy?)"
    detail = (str(error).strip().splitlines() or [type(error).__name__])[0]
    return f"cannot read this checkpoint, truncated or not written by torch ({detail[:80]})"


def checkpoint_step(path: Path) -> int:
    """The global step a Lightning checkpoint was saved at, checked to be readable."""
    checkpoint = load_tensors(path, mmap=True)
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise NmtError(f"{path}: not a Lightning checkpoint (no state_dict)")
    return int(checkpoint.get("global_step", 0))


def load_weights(model: nn.Module, run_dir: Path) -> nn.Module:
    """Load RUN/model.pt into `model`; weights that do not fit it are reported, not raised."""
    path = Path(run_dir) / WEIGHTS_FILE
    weights = load_tensors(path)
    if not isinstance(weights, dict):
        raise NmtError(f"{path}: not a state dict of weights")
    try:
        model.load_state_dict(weights)
    except RuntimeError as error:
        detail = str(error).strip().splitlines()[-1].strip()
        message = f"{path}: does not fit the model that config.yaml describes ({detail})"
        raise NmtError(message) from None
    return model


class StepCheckpoint(NamedTuple):
    path: Path
    step: int  # parsed from the file name; the loaded checkpoint's global_step is what is reported


def step_checkpoint_path(run_dir: Path, step: int) -> Path:
    return Path(run_dir) / LIGHTNING_DIR / STEP_CHECKPOINT.format(step)


def step_checkpoints(run_dir: str | Path) -> list[StepCheckpoint]:
    """The run's step checkpoints (see trainer.keep_last_checkpoints), oldest first."""
    found = []
    for path in (Path(run_dir) / LIGHTNING_DIR).glob("step-*.ckpt"):
        match = _STEP_NAME.fullmatch(path.name)
        if match:
            found.append(StepCheckpoint(path, int(match[1])))
    return sorted(found, key=lambda checkpoint: checkpoint.step)


def lightning_model_weights(path: Path) -> tuple[dict[str, torch.Tensor], int]:
    """The network weights (`model.*`, prefix removed) of a Lightning checkpoint file, and its
    global step (-1 if it records none)."""
    checkpoint = load_tensors(path)
    state = checkpoint.get("state_dict") if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict):
        raise NmtError(f"{path}: not a Lightning checkpoint (no state_dict)")
    weights = {
        name[len(MODEL_PREFIX) :]: tensor
        for name, tensor in state.items()
        if name.startswith(MODEL_PREFIX)
    }
    if not weights:
        raise NmtError(f"{path}: holds no model.* weights")
    return weights, int(checkpoint.get("global_step", -1))
