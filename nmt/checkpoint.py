"""The self-contained checkpoint directory, and atomic saving into it.

    RUN/config.yaml        resolved config
    RUN/metadata.json      versions, vocabulary sizes, best validation scores
    RUN/tokenizer/         sentencepiece model(s)
    RUN/model.pt           weights of the best validation BLEU (a plain state dict: loaded with
                           torch.load(weights_only=True), so no pickled code ever runs)
    RUN/lightning/         last.ckpt and best.ckpt: full training state for `nmt train --resume`
    RUN/logs/              CSV metrics

Every file is written to a temporary name and renamed, so an interrupted save never leaves a
broken checkpoint behind.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.plugins.io import TorchCheckpointIO

import nmt
from nmt.config import Config, load_config
from nmt.data.tokenizer import SubwordTokenizer
from nmt.errors import NmtError
from nmt.models.builder import build_seq2seq
from nmt.models.seq2seq import Seq2Seq

WEIGHTS_FILE = "model.pt"
CONFIG_FILE = "config.yaml"
METADATA_FILE = "metadata.json"
TOKENIZER_DIR = "tokenizer"
LIGHTNING_DIR = "lightning"
LAST_CHECKPOINT = "last.ckpt"

_UMASK = os.umask(0)
os.umask(_UMASK)


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call write(temporary path) in path's folder, then rename it over path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        write(Path(temporary))
        os.chmod(temporary, 0o666 & ~_UMASK)  # mkstemp makes files private; keep the usual mode
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def write_json(path: Path, data: dict[str, Any]) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(json.dumps(data, indent=2) + "\n", "utf-8"))


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint writer, made atomic (temporary file, then rename)."""

    def save_checkpoint(self, checkpoint: dict, path, storage_options=None) -> None:
        atomic_write(Path(path), lambda tmp: super(AtomicCheckpointIO, self).save_checkpoint(
            checkpoint, tmp, storage_options))  # fmt: skip


def versions() -> dict[str, str]:
    import datasets
    import sacrebleu
    import sentencepiece

    return {
        "nmt": nmt.__version__, "torch": torch.__version__, "lightning": L.__version__,
        "sentencepiece": sentencepiece.__version__, "datasets": datasets.__version__,
        "sacrebleu": sacrebleu.__version__, "python": platform.python_version(),
    }  # fmt: skip


def base_metadata(model: torch.nn.Module, **fields: Any) -> dict[str, Any]:
    """metadata.json of a new run of any task: creation time, versions, size, task fields."""
    return {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": versions(),
        **fields,
        "parameters": sum(p.numel() for p in model.parameters()),
        "best": None,
    }


def initial_metadata(tokenizer: SubwordTokenizer, model: Seq2Seq) -> dict[str, Any]:
    return base_metadata(
        model, src_vocab_size=tokenizer.src_vocab_size, tgt_vocab_size=tokenizer.tgt_vocab_size,
        joint_vocabulary=tokenizer.joint,
    )  # fmt: skip


def metric_key(metric: str) -> str:
    """How a logged metric is named in metadata.json: val/bleu -> val_bleu."""
    return metric.replace("/", "_")


class LatestCheckpoint(ModelCheckpoint):
    """`last.ckpt`: the whole training state after every validation and when training ends,
    whatever the score (Lightning's own `save_last` only follows saves of the best checkpoint,
    so it goes stale once validation BLEU stops improving)."""

    def __init__(self, dirpath: Path) -> None:
        super().__init__(
            dirpath=dirpath, filename=LAST_CHECKPOINT.removesuffix(".ckpt"), monitor=None,
            save_top_k=1, enable_version_counter=False,
        )  # fmt: skip

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.global_step != self._last_global_step_saved:  # stopped between validations
            self._save_topk_checkpoint(trainer, self._monitor_candidates(trainer))


class ExportBestWeights(L.Callback):
    """After each validation that improves the monitored score (BLEU for translation), writes the
    weights to RUN/model.pt and the validation scores to RUN/metadata.json. The best score so
    far is the higher of this callback's state (restored by --resume) and the one recorded in
    metadata.json (which a final validation outside `fit` may have raised after the last
    Lightning checkpoint was written)."""

    def __init__(self, run_dir: Path, monitor: str = "val/bleu") -> None:
        self.run_dir = Path(run_dir)
        self.monitor = monitor
        self.key = metric_key(monitor)
        self.best_score: float | None = None

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        score = trainer.callback_metrics.get(self.monitor)
        if trainer.sanity_checking or score is None:
            return
        score = float(score)
        recorded = (read_metadata(self.run_dir).get("best") or {}).get(self.key)
        known = [value for value in (self.best_score, recorded) if value is not None]
        if known and score <= max(known):
            return
        self.best_score = score
        if trainer.is_global_zero:
            self._export(trainer, pl_module, score)

    def _export(self, trainer: L.Trainer, pl_module: L.LightningModule, score: float) -> None:
        weights = {k: v.detach().cpu() for k, v in pl_module.model.state_dict().items()}
        atomic_write(self.run_dir / WEIGHTS_FILE, lambda tmp: torch.save(weights, tmp))
        metadata = read_metadata(self.run_dir)
        scores = {
            metric_key(name): round(float(value), 4)
            for name, value in trainer.callback_metrics.items()
            if name.startswith("val/") and name != self.monitor
        }
        metadata["best"] = {
            self.key: score,
            **scores,
            "step": trainer.global_step,
            "epoch": trainer.current_epoch,
        }
        write_json(self.run_dir / METADATA_FILE, metadata)

    def state_dict(self) -> dict[str, Any]:
        return {"best_score": self.best_score}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.best_score = state_dict.get("best_score")


def read_metadata(run_dir: Path) -> dict[str, Any]:
    path = Path(run_dir) / METADATA_FILE
    return json.loads(path.read_text("utf-8")) if path.is_file() else {}


class LoadedModel(NamedTuple):
    model: Seq2Seq
    tokenizer: SubwordTokenizer
    config: Config
    metadata: dict[str, Any]


def check_device(device: str | torch.device) -> torch.device:
    """The device to load a model on, checked to be usable here (e.g. cuda without a GPU)."""
    try:
        torch.empty(0, device=device)
    except (RuntimeError, AssertionError) as error:
        raise NmtError(f"device {device}: {error}") from None
    return torch.device(device)


def check_run_dir(run_dir: str | Path, names: tuple[str, ...], kind: str = "") -> Path:
    """The checkpoint directory, checked to hold `names` (kind: "tagger " etc. for messages)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise NmtError(f"{run_dir}: no such checkpoint directory")
    for name in names:
        if not (run_dir / name).exists():
            raise NmtError(
                f"{run_dir}: not a complete {kind}checkpoint directory, {name} is missing"
                + (" (no validation has finished yet)" if name == WEIGHTS_FILE else "")
            )
    return run_dir


def load_model_dir(run_dir: str | Path, device: str | torch.device = "cpu") -> LoadedModel:
    """Everything needed to translate, from a checkpoint directory alone."""
    run_dir = check_run_dir(run_dir, (CONFIG_FILE, WEIGHTS_FILE, TOKENIZER_DIR))
    device = check_device(device)
    config = load_config(str(run_dir / CONFIG_FILE))
    tokenizer = SubwordTokenizer.load(run_dir / TOKENIZER_DIR)
    model = build_seq2seq(config.model, tokenizer.src_vocab_size, tokenizer.tgt_vocab_size)
    weights = torch.load(run_dir / WEIGHTS_FILE, map_location="cpu", weights_only=True)
    model.load_state_dict(weights)
    return LoadedModel(model.to(device).eval(), tokenizer, config, read_metadata(run_dir))
