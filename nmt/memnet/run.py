"""A memory-network run: the generated task (or the user's story files) -> a checkpoint
directory (config.yaml, metadata.json, vocab.json, model.pt, lightning/, logs/, and data/ when
the task was generated), through the shared training loop `nmt.run.fit_module`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import lightning as L
import torch

from nmt.checkpoint import (
    CONFIG_FILE,
    WEIGHTS_FILE,
    base_metadata,
    check_device,
    check_run_dir,
    read_metadata,
)
from nmt.config import load_config
from nmt.data.stories import write_story_splits
from nmt.data.story_data import StoryDataModule, StoryVocab
from nmt.memnet.config import MemoryTaskConfig
from nmt.models.memnet import MemoryNetworkReader
from nmt.run import fit_module, new_run_dir, resume_checkpoint

VOCAB_FILE = "vocab.json"
DATA_DIR = "data"


def load_memory_config(name_or_path: str | None, overrides: Sequence[str] = ()) -> Any:
    return load_config(name_or_path, overrides, kind=MemoryTaskConfig)


def split_files(config: MemoryTaskConfig, run_dir: Path) -> dict[str, Path]:
    """The run's story files; the generated task lives in RUN/data (written on first use)."""
    folder = Path(config.data.path) if config.data.path else run_dir / DATA_DIR
    if config.data.path is None and not folder.is_dir():
        staging = folder.with_name(DATA_DIR + ".tmp")
        write_story_splits(staging, config.data.generate_sizes, config.data.generate_seed)
        staging.rename(folder)
    return {split: folder / name for split, name in config.data.splits.items()}


def build_reader(config: MemoryTaskConfig, vocab: StoryVocab) -> MemoryNetworkReader:
    model = config.model
    return MemoryNetworkReader(
        len(vocab.words), len(vocab.answers), model.embedding_size, model.hops,
        config.data.max_sentences, model.addressing, model.top_k,
    )  # fmt: skip


def train_reader(config: MemoryTaskConfig) -> Path:
    run_dir = new_run_dir(config.run_dir, resume_command="nmt memory train --resume")
    return _fit(config, run_dir, None)


def resume_reader(run_dir: str | Path, overrides: Sequence[str] = ()) -> Path:
    run_dir = Path(run_dir)
    checkpoint = resume_checkpoint(run_dir)
    return _fit(load_memory_config(str(run_dir / CONFIG_FILE), overrides), run_dir, checkpoint)


def _fit(config: MemoryTaskConfig, run_dir: Path, resume_from: Path | None) -> Path:
    from nmt.memnet.module import LitMemNet

    L.seed_everything(config.trainer.seed, workers=True, verbose=False)
    datamodule = StoryDataModule(
        split_files(config, run_dir), run_dir / VOCAB_FILE, config.data.batch_size,
        config.data.max_sentences, seed=config.trainer.seed,
    )  # fmt: skip
    datamodule.setup("fit")
    vocab = datamodule.vocab
    model = build_reader(config, vocab)
    module = LitMemNet(model, config.optim, datamodule.validation_types)
    metadata = lambda: base_metadata(
        model, words=len(vocab.words), answers=vocab.answers, question_types=vocab.types
    )
    return fit_module(config, run_dir, resume_from, module, datamodule, metadata, "val/acc")


class LoadedReader(NamedTuple):
    model: MemoryNetworkReader
    vocab: StoryVocab
    config: MemoryTaskConfig
    metadata: dict[str, Any]


def load_reader_dir(run_dir: str | Path, device: str = "cpu") -> LoadedReader:
    run_dir = check_run_dir(run_dir, (CONFIG_FILE, WEIGHTS_FILE, VOCAB_FILE), "memory-network ")
    device = check_device(device)
    config = load_memory_config(str(run_dir / CONFIG_FILE))
    vocab = StoryVocab.load(run_dir / VOCAB_FILE)
    model = build_reader(config, vocab)
    model.load_state_dict(torch.load(run_dir / WEIGHTS_FILE, map_location="cpu", weights_only=True))
    return LoadedReader(model.to(device).eval(), vocab, config, read_metadata(run_dir))
