"""The training loop every task shares: a new run or a resumed one, from a task's LightningModule
and DataModule to a self-contained run directory (see nmt.engine.rundir)."""

from __future__ import annotations

import csv
import io
import logging
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple, Protocol, runtime_checkable

import lightning as L
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from torch import nn

from nmt.engine.callbacks import (
    AtomicCheckpointIO,
    ExportBestWeights,
    KeepLastCheckpoints,
    LatestCheckpoint,
    PhaseReport,
    WriteRunFiles,
)  # fmt: skip
from nmt.engine.checkpoint import checkpoint_step
from nmt.engine.config import RunConfig, TrainerConfig, config_to_dict, load_config
from nmt.engine.phases import PhaseLog
from nmt.engine.precision import lightning_precision
from nmt.engine.rundir import (
    CONFIG_FILE,
    LAST_CHECKPOINT,
    LIGHTNING_DIR,
    LOGS_DIR,
    clear_unfinished_run,
    holds_checkpoint,
    metric_key,
    new_run_dir,
    read_metadata,
    write_text,
)  # fmt: skip
from nmt.errors import NmtError

logger = logging.getLogger(__name__)


@runtime_checkable
class TaskModule(Protocol):
    """What the engine needs of a task's LightningModule, besides Lightning's own hooks.

    model: the plain network (an nn.Module), built in `configure_model` at the latest; its
        weights are what RUN/model.pt holds and what checkpoint averaging averages.
    monitor: the logged validation metric that picks the best checkpoint, stops training early
        and drives the plateau schedule, e.g. "val/bleu".
    monitor_mode: "max" when a higher `monitor` is better (BLEU, accuracy), "min" when lower
        is (a loss).
    last_validated_step: the global step of the last finished validation (None before any).
    """

    model: nn.Module | None
    monitor: str
    monitor_mode: str
    last_validated_step: int | None


class FitParts(NamedTuple):
    """What a task hands the training loop for one run."""

    module: L.LightningModule  # a TaskModule
    datamodule: L.LightningDataModule
    metadata: Callable[[nn.Module], dict[str, Any]]  # metadata.json of a new run, from its network


class TaskRun:
    """Training runs of one task, new or resumed: its config class, the command that trains it,
    `parts`, which makes the task's modules for a config and run directory, and the files the
    task writes into a run directory besides the engine's (so an unfinished run can start over).
    """

    def __init__(
        self,
        kind: type[RunConfig],
        train_command: str,
        parts: Callable[[Any, Path], FitParts],
        task_files: Sequence[str] = (),
    ) -> None:
        self.kind = kind
        self.train_command = train_command
        self.parts = parts
        self.task_files = tuple(task_files)

    def train(self, config: RunConfig) -> Path:
        """Train a new run into `config.run_dir`, which must not hold a run already."""
        resume = f"{self.train_command} --resume"
        return self._fit(config, new_run_dir(config.run_dir, resume, self.task_files), None)

    def resume(self, run_dir: str | Path, overrides: Sequence[str] = ()) -> Path:
        """Continue an interrupted run with its optimiser, scheduler, step and epoch restored.
        Overrides may change settings such as trainer.max_epochs, not the model (refused before
        anything runs); the saved config is updated once the checkpoint has loaded. A run that
        stopped before its first checkpoint starts again from the beginning."""
        run_dir = Path(run_dir)
        if not (run_dir / CONFIG_FILE).is_file():
            raise NmtError(
                f"{run_dir}: no {CONFIG_FILE} to resume from; start a run with "
                f"`{self.train_command} -c RECIPE`"
            )
        config = load_config(str(run_dir / CONFIG_FILE), overrides, self.kind)
        checkpoint = run_dir / LIGHTNING_DIR / LAST_CHECKPOINT
        if not holds_checkpoint(run_dir):
            clear_unfinished_run(run_dir, self.task_files)
            return self._fit(config, run_dir, None)
        if not checkpoint.exists():
            raise NmtError(f"{run_dir}: nothing to resume from, {checkpoint} does not exist")
        saved = load_config(str(run_dir / CONFIG_FILE), (), self.kind)
        refuse_fixed_changes(saved, config, run_dir / CONFIG_FILE)
        read_metadata(run_dir)  # a broken metadata.json is reported now, not mid-training
        return self._fit(config, run_dir, checkpoint, checkpoint_step(checkpoint))

    def _fit(
        self, config: RunConfig, run_dir: Path, resume_from: Path | None, resume_step: int = 0
    ) -> Path:
        # Seeded before anything is drawn: the network is built (and initialised) inside fit.
        L.seed_everything(config.trainer.seed, workers=True, verbose=False)
        parts = self.parts(config, run_dir)
        return fit_module(config, run_dir, resume_from, parts, self.train_command, resume_step)


def refuse_fixed_changes(saved: RunConfig, config: RunConfig, saved_path: Path) -> None:
    """Stop, before anything runs, if overrides change what a resumed checkpoint cannot follow
    (the model's shape, the vocabulary): the task config's `fixed_on_resume` keys."""
    old, new = flatten(config_to_dict(saved)), flatten(config_to_dict(config))
    kind = type(config)
    for key in sorted(new):
        if key.startswith(kind.fixed_on_resume) and key not in kind.changeable_on_resume:
            if old.get(key) != new[key]:
                raise NmtError(
                    f"command line: {key} cannot change when resuming ({old.get(key)!r} in "
                    f"{saved_path}, {new[key]!r} asked): the checkpoint holds the model it "
                    "describes; train a new run (name=...) instead"
                )


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings as one of dotted keys: {"model": {"cell": 1}} -> {"model.cell": 1}."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def fit_module(
    config: RunConfig, run_dir: Path, resume_from: Path | None, parts: FitParts,
    train_command: str, resume_step: int = 0,
) -> Path:  # fmt: skip
    """Train `parts.module` (a TaskModule) on `parts.datamodule` with the run's callbacks: config
    and metadata written at the start, best, last and step checkpoints, best weights exported to
    model.pt, early stopping on `module.monitor`; validates the final weights if a budget
    stopped training between validations."""
    module, datamodule, metadata = parts
    # One process of the whole job prepares the data (trains the tokenizer into the run
    # directory), not one per node: a job on several nodes keeps its run directory on a
    # filesystem they all see, and two nodes' tokenizers would race for the same files.
    datamodule.prepare_data_per_node = False
    if not isinstance(module, TaskModule):
        raise TypeError(f"{type(module).__name__} lacks what nmt.engine.fit.TaskModule lists")
    monitor = module.monitor
    # a datamodule may time its preparation into its own PhaseLog (`phases`); training goes on it
    phases = getattr(datamodule, "phases", None) or PhaseLog()
    callbacks = [WriteRunFiles(run_dir, config, metadata), PhaseReport(run_dir, phases)]
    trainer = build_trainer(
        config.trainer, run_dir, monitor, callbacks,
        resume_step if resume_from is not None else None, module.monitor_mode,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*does not have many workers.*")
        warnings.filterwarnings("ignore", ".*`srun` command is available.*")
        # Validation metrics are gathered over the ranks before they are logged (see
        # nmt.engine.validation), so Lightning's advice to sync them again does not apply.
        warnings.filterwarnings("ignore", ".*when logging on epoch level in distributed.*")
        try:
            trainer.fit(module, datamodule=datamodule, ckpt_path=resume_from, weights_only=True)
        except RuntimeError as error:
            if resume_from is None or "loading state_dict" not in str(error):
                raise
            detail = str(error).strip().splitlines()[-1].strip()
            message = f"{resume_from}: does not fit the model that config.yaml describes ({detail})"
            raise NmtError(message) from None
        if not trainer.interrupted and module.last_validated_step != trainer.global_step:
            # A time or step budget ended training between validations: score the final weights
            # too, so the updates since the last validation are not thrown away.
            logger.info("validating the final weights (step %d)", trainer.global_step)
            trainer.validate(module, datamodule=datamodule, verbose=False)
    if trainer.interrupted:
        logger.warning(
            "training interrupted; continue from the last validation with `%s --resume %s`",
            train_command, run_dir,
        )  # fmt: skip
    best = read_metadata(run_dir).get("best") or {}
    score = best.get(metric_key(monitor))
    logger.info("best %s %s at step %s; checkpoint: %s", monitor,
                None if score is None else round(score, 4), best.get("step"), run_dir)  # fmt: skip
    return run_dir


def build_trainer(
    config: TrainerConfig, run_dir: Path, monitor: str, callbacks: Sequence[L.Callback] = (),
    resume_step: int | None = None, mode: str = "max",
) -> L.Trainer:  # fmt: skip
    """A Lightning Trainer writing into the run directory; `monitor` (higher is better, or lower
    with mode "min") picks the best checkpoint and drives early stopping; `resume_step`: the step
    a resumed run continues from (metrics logged after it by the run that stopped are dropped)."""
    callbacks = [
        *callbacks,
        ModelCheckpoint(
            dirpath=run_dir / LIGHTNING_DIR, filename="best", monitor=monitor, mode=mode,
            save_top_k=1, auto_insert_metric_name=False,
        ),
        LatestCheckpoint(run_dir / LIGHTNING_DIR),
        ExportBestWeights(run_dir, monitor, mode),
    ]  # fmt: skip
    if config.keep_last_checkpoints != 0:  # RUN/lightning/step-*.ckpt for averaging
        callbacks.append(KeepLastCheckpoints(run_dir, config.keep_last_checkpoints))
    if config.early_stopping_patience is not None:
        callbacks.append(
            EarlyStopping(monitor, mode=mode, patience=config.early_stopping_patience)
        )
    return L.Trainer(
        max_epochs=config.max_epochs,
        max_steps=config.max_steps,
        max_time={"minutes": config.max_minutes} if config.max_minutes else None,
        accelerator=config.accelerator,
        devices=config.devices,
        num_nodes=config.num_nodes,
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
        logger=RunLogger(run_dir, resume_step),
        callbacks=callbacks,
        plugins=[AtomicCheckpointIO()],
        default_root_dir=run_dir,
    )


class RunLogger(CSVLogger):
    """Metrics in RUN/logs/metrics.csv. A resumed run appends to the file (Lightning's own
    CSVLogger deletes an existing metrics.csv, which would lose the history before the resume),
    after dropping the rows the stopped run logged after the step it resumes from: those steps
    are trained again, and each step appears once."""

    def __init__(self, run_dir: Path, resume_step: int | None = None) -> None:
        super().__init__(run_dir, name=LOGS_DIR, version="")
        self.resume_step = resume_step

    @property
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _AppendingWriter(self.log_dir, self.resume_step)
        return self._experiment


class _AppendingWriter(ExperimentWriter):
    def __init__(self, log_dir: str, resume_step: int | None) -> None:
        self.resume_step = resume_step
        super().__init__(log_dir)

    def _check_log_dir_exists(self) -> None:
        """Keep an existing metrics file and its columns (new columns rewrite its header), less
        the rows after `resume_step`."""
        path = Path(self.metrics_file_path)
        if not path.is_file():
            return
        with path.open(newline="", encoding="utf-8") as file:
            reader = csv.DictReader(file)
            self.metrics_keys = list(reader.fieldnames or [])
            rows = list(reader)
        kept = [row for row in rows if not _logged_after(row, self.resume_step)]
        if len(kept) < len(rows):
            text = io.StringIO()
            table = csv.DictWriter(text, fieldnames=self.metrics_keys, lineterminator="\n")
            table.writeheader()
            table.writerows(kept)
            write_text(path, text.getvalue())


def _logged_after(row: dict[str, str], step: int | None) -> bool:
    """Whether a metrics row comes from past the checkpoint at global step `step`. Lightning
    logs a training batch at the step count before it (so batches after the checkpoint have
    step >= `step`) and a validation at the step count less one, or at the count itself for the
    final validation of weights saved when training stopped."""
    if step is None or not (row.get("step") or "").isdigit():
        return False
    validation = any(value for key, value in row.items() if key.startswith("val/"))
    return int(row["step"]) > step if validation else int(row["step"]) >= step
