"""A training run: from a Config to a self-contained checkpoint directory (or on from one)."""

from __future__ import annotations

import csv
import logging
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter

from nmt.average import KeepLastCheckpoints
from nmt.checkpoint import (
    CONFIG_FILE,
    LAST_CHECKPOINT,
    LIGHTNING_DIR,
    METADATA_FILE,
    TOKENIZER_DIR,
    AtomicCheckpointIO,
    ExportBestWeights,
    LatestCheckpoint,
    initial_metadata,
    metric_key,
    read_metadata,
    write_json,
)  # fmt: skip
from nmt.config import TASK_COMMANDS, Config, TrainerConfig, load_config, save_config
from nmt.data.datamodule import TranslationDataModule
from nmt.errors import NmtError
from nmt.models.builder import build_seq2seq
from nmt.precision import lightning_precision
from nmt.training import LitSeq2Seq

logger = logging.getLogger(__name__)


def train(config: Config) -> Path:
    """Train a new model into `config.run_dir`, which must not hold a run already."""
    return _fit(config, new_run_dir(config.run_dir), resume_from=None)


def resume(run_dir: str | Path, overrides: Sequence[str] = ()) -> Path:
    """Continue an interrupted run with its optimiser, scheduler, step and epoch restored.

    Overrides may change settings such as trainer.max_epochs; the saved config is updated.
    """
    run_dir = Path(run_dir)
    checkpoint = resume_checkpoint(run_dir)
    config = load_config(str(run_dir / CONFIG_FILE), overrides)
    return _fit(config, run_dir, resume_from=checkpoint)


def new_run_dir(run_dir: Path, resume_command: str = "nmt train --resume") -> Path:
    """Create the directory of a new run; one that already holds a run is never overwritten."""
    if run_dir.exists() and any(run_dir.iterdir()):
        raise NmtError(
            f"{run_dir} already holds a run; continue it with `{resume_command} {run_dir}` or "
            "choose another name=... or output_dir=..."
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    return run_dir


def resume_checkpoint(run_dir: Path) -> Path:
    """The Lightning checkpoint an interrupted run continues from, checked to exist."""
    checkpoint = run_dir / LIGHTNING_DIR / LAST_CHECKPOINT
    if not (run_dir / CONFIG_FILE).is_file():
        raise NmtError(f"{run_dir}: no {CONFIG_FILE}; is this a directory written by `nmt train`?")
    if not checkpoint.is_file():
        raise NmtError(f"{run_dir}: nothing to resume from, {checkpoint} does not exist yet")
    return checkpoint


def _fit(config: Config, run_dir: Path, resume_from: Path | None) -> Path:
    L.seed_everything(config.trainer.seed, workers=True, verbose=False)
    datamodule = TranslationDataModule(
        config.data, config.tokenizer, run_dir / TOKENIZER_DIR, seed=config.trainer.seed
    )
    datamodule.setup("fit")
    tokenizer = datamodule.tokenizer
    model = build_seq2seq(config.model, tokenizer.src_vocab_size, tokenizer.tgt_vocab_size)
    module = LitSeq2Seq(
        model,
        config.optim,
        tokenizer.decode_tgt,
        datamodule.validation_references,
        config.trainer.bleu_max_length_a,
        config.trainer.bleu_max_length_b,
    )
    return fit_module(
        config, run_dir, resume_from, module, datamodule,
        lambda: initial_metadata(tokenizer, model), monitor="val/bleu",
    )  # fmt: skip


def fit_module(
    config: Any,
    run_dir: Path,
    resume_from: Path | None,
    module: L.LightningModule,
    datamodule: L.LightningDataModule,
    metadata: Callable[[], dict[str, Any]],
    monitor: str,
) -> Path:
    """The training loop every task shares: saves the config and metadata, trains with the
    run's callbacks (best, last and step checkpoints; best weights exported to model.pt; early
    stopping on `monitor`), and validates the final weights if a budget stopped training between
    validations. `module` must hold its network as `module.model` and set
    `module.last_validated_step` after each validation."""
    save_config(config, run_dir / CONFIG_FILE)
    if not (run_dir / METADATA_FILE).is_file():
        write_json(run_dir / METADATA_FILE, metadata())
    logger.info(
        "model: %s parameters; run directory %s",
        f"{sum(p.numel() for p in module.model.parameters()):,}",
        run_dir,
    )
    trainer = build_trainer(config.trainer, run_dir, monitor)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*does not have many workers.*")
        warnings.filterwarnings("ignore", ".*`srun` command is available.*")
        trainer.fit(module, datamodule=datamodule, ckpt_path=resume_from, weights_only=True)
        if not trainer.interrupted and module.last_validated_step != trainer.global_step:
            # A time or step budget ended training between validations: score the final weights
            # too, so the updates since the last validation are not thrown away.
            logger.info("validating the final weights (step %d)", trainer.global_step)
            trainer.validate(module, datamodule=datamodule, verbose=False)
    if trainer.interrupted:
        logger.warning(
            "training interrupted; continue from the last validation with "
            "`%s --resume %s`", TASK_COMMANDS[config.task], run_dir,
        )  # fmt: skip
    best = read_metadata(run_dir).get("best") or {}
    score = best.get(metric_key(monitor))
    logger.info("best %s %s at step %s; checkpoint: %s", monitor,
                None if score is None else round(score, 4), best.get("step"), run_dir)  # fmt: skip
    return run_dir


def build_trainer(config: TrainerConfig, run_dir: Path, monitor: str = "val/bleu") -> L.Trainer:
    """A Lightning Trainer writing into the run directory; `monitor` (higher is better) picks
    the best checkpoint and drives early stopping."""
    callbacks: list[L.Callback] = [
        ModelCheckpoint(
            dirpath=run_dir / LIGHTNING_DIR,
            filename="best",
            monitor=monitor,
            mode="max",
            save_top_k=1,
            auto_insert_metric_name=False,
        ),
        LatestCheckpoint(run_dir / LIGHTNING_DIR),
        ExportBestWeights(run_dir, monitor),
    ]
    if config.keep_last_checkpoints != 0:  # RUN/lightning/step-*.ckpt for `nmt average`
        callbacks.append(KeepLastCheckpoints(run_dir, config.keep_last_checkpoints))
    if config.early_stopping_patience is not None:
        callbacks.append(
            EarlyStopping(monitor, mode="max", patience=config.early_stopping_patience)
        )
    return L.Trainer(
        max_epochs=config.max_epochs,
        max_steps=config.max_steps,
        max_time={"minutes": config.max_minutes} if config.max_minutes else None,
        accelerator=config.accelerator,
        devices=config.devices,
        strategy=config.strategy,
        precision=lightning_precision(config.precision, config.accelerator),
        gradient_clip_val=config.gradient_clip_val,
        val_check_interval=config.val_check_interval,
        check_val_every_n_epoch=None if isinstance(config.val_check_interval, int) else 1,
        log_every_n_steps=config.log_every_n_steps,
        num_sanity_val_steps=0,
        use_distributed_sampler=False,  # TokenBatchSampler shards across ranks itself
        deterministic=config.deterministic,
        enable_progress_bar=config.progress_bar,
        enable_model_summary=False,
        logger=RunLogger(run_dir, name="logs", version=""),
        callbacks=callbacks,
        plugins=[AtomicCheckpointIO()],
        default_root_dir=run_dir,
    )


class RunLogger(CSVLogger):
    """Metrics in RUN/logs/metrics.csv. A resumed run appends to the file (Lightning's own
    CSVLogger deletes an existing metrics.csv, which would lose the history before the resume)."""

    @property
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _AppendingWriter(self.log_dir)
        return self._experiment


class _AppendingWriter(ExperimentWriter):
    def _check_log_dir_exists(self) -> None:
        """Keep an existing metrics file and its columns (new columns rewrite its header)."""
        path = Path(self.metrics_file_path)
        if path.is_file():
            with path.open(newline="", encoding="utf-8") as file:
                self.metrics_keys = next(csv.reader(file), [])
