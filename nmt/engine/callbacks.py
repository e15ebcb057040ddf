"""Lightning callbacks that keep a run directory: metadata at the start, latest and step
checkpoints after every validation, and the best weights exported to RUN/model.pt."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.plugins.io import TorchCheckpointIO
from torch import nn

from nmt.engine.allocator import release_freed_memory
from nmt.engine.checkpoint import step_checkpoint_path, step_checkpoints
from nmt.engine.config import save_config
from nmt.engine.phases import PhaseLog, peak_rss_mib
from nmt.engine.rundir import (
    CONFIG_FILE,
    LAST_CHECKPOINT,
    LOGS_DIR,
    METADATA_FILE,
    WEIGHTS_FILE,
    atomic_write,
    metric_key,
    read_metadata,
    write_json,
)  # fmt: skip
from nmt.errors import NmtError

logger = logging.getLogger(__name__)


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint writer, made atomic (temporary file, then rename)."""

    def save_checkpoint(self, checkpoint: dict, path, storage_options=None) -> None:
        atomic_write(Path(path), lambda tmp: super(AtomicCheckpointIO, self).save_checkpoint(
            checkpoint, tmp, storage_options))  # fmt: skip


class WriteRunFiles(L.Callback):
    """Writes RUN/config.yaml, and RUN/metadata.json unless a resumed run has one, when training
    starts: the network exists by then (built by the task module's configure_model) and a resumed
    checkpoint has loaded into it, so a resume that fails to load changes nothing on disk."""

    def __init__(
        self, run_dir: Path, config: Any, metadata: Callable[[nn.Module], dict[str, Any]]
    ) -> None:
        self.run_dir = Path(run_dir)
        self.config = config
        self.metadata = metadata

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        model = pl_module.model
        count = sum(p.numel() for p in model.parameters())
        logger.info("model: %s parameters; run directory %s", f"{count:,}", self.run_dir)
        if not trainer.is_global_zero:
            return
        save_config(self.config, self.run_dir / CONFIG_FILE)
        if not (self.run_dir / METADATA_FILE).is_file():
            write_json(self.run_dir / METADATA_FILE, self.metadata(model))


class LatestCheckpoint(ModelCheckpoint):
    """`last.ckpt`: the whole training state after every validation and when training ends,
    whatever the score (Lightning's own `save_last` only follows saves of the best checkpoint,
    so it goes stale once the validation score stops improving)."""

    def __init__(self, dirpath: Path) -> None:
        super().__init__(
            dirpath=dirpath, filename=LAST_CHECKPOINT.removesuffix(".ckpt"), monitor=None,
            save_top_k=1, enable_version_counter=False,
        )  # fmt: skip

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.global_step != self._last_global_step_saved:  # stopped between validations
            self._save_topk_checkpoint(trainer, self._monitor_candidates(trainer))


class ExportBestWeights(L.Callback):
    """After each validation that improves the monitored score, writes the network's weights to
    RUN/model.pt and the validation scores to RUN/metadata.json. The best score so far is the
    higher of this callback's state (restored by --resume) and the one recorded in metadata.json
    (which a final validation outside `fit` may have raised after the last Lightning checkpoint
    was written)."""

    def __init__(self, run_dir: Path, monitor: str, mode: str = "max") -> None:
        self.run_dir = Path(run_dir)
        self.monitor = monitor
        self.mode = mode
        self.key = metric_key(monitor)
        self.best_score: float | None = None

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        score = trainer.callback_metrics.get(self.monitor)
        if trainer.sanity_checking or score is None:
            return
        score = float(score)
        recorded = (read_metadata(self.run_dir).get("best") or {}).get(self.key)
        known = [value for value in (self.best_score, recorded) if value is not None]
        if known and not self._improves(score, known):
            return
        self.best_score = score
        if trainer.is_global_zero:
            self._export(trainer, pl_module, score)

    def _improves(self, score: float, known: list[float]) -> bool:
        return score > max(known) if self.mode == "max" else score < min(known)

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


class KeepLastCheckpoints(L.Callback):
    """After every validation, saves the weights to RUN/lightning/step-NNNNNN.ckpt and deletes all
    but the `keep` most recent, for checkpoint averaging.

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
        path = step_checkpoint_path(self.run_dir, step)
        trainer.save_checkpoint(path, weights_only=True)  # every rank calls; rank 0 writes
        found = step_checkpoints(self.run_dir)
        kept = [checkpoint for checkpoint in found if checkpoint.step <= step][-self.keep :]
        for checkpoint in found:
            if checkpoint not in kept:
                trainer.strategy.remove_checkpoint(checkpoint.path)  # rank 0 only


PHASES_FILE = "phases.json"  # in RUN/logs


class PhaseReport(L.Callback):
    """Times training and validation as phases of `phases` (which the datamodule may have used for
    its own preparation phases already), notes when the first training step started, logs the
    preparation figures then, and writes RUN/logs/phases.json at each validation and at the end
    (rank 0). Where a run's time and memory go: reading, tokenizer, encoding, training,
    validation, each with its peak resident memory (nmt.engine.phases)."""

    def __init__(self, run_dir: Path, phases: PhaseLog) -> None:
        self.path = Path(run_dir) / LOGS_DIR / PHASES_FILE
        self.phases = phases

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx: int) -> None:
        if "first_step" not in self.phases.events:
            self.phases.leave()  # whatever preparation was still open
            release_freed_memory()  # what preparation freed (the tokenizer's trainer: GBs)
            started = self.phases.mark("first_step")
            preparation = ", ".join(
                f"{name} {record['seconds']:.1f} s" for name, record in self.phases.phases.items()
            )  # fmt: skip
            logger.info("first training step %.1f s after start (%s); peak resident memory "
                        "%.0f MiB", started, preparation or "nothing prepared",
                        peak_rss_mib())  # fmt: skip
            self._write(trainer)
        if self.phases.current != "training":
            self.phases.enter("training")

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.phases.enter("validation")

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.phases.leave()
        self._write(trainer)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.phases.leave()
        self._write(trainer)

    def _write(self, trainer: L.Trainer) -> None:
        if trainer.is_global_zero:
            self.phases.write(self.path)
