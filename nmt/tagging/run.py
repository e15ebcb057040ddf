"""A tagging run: from a TaggingConfig to a self-contained checkpoint directory, and back.

    RUN/config.yaml  RUN/metadata.json  RUN/vocab.json  RUN/model.pt  RUN/lightning/  RUN/logs/

The training loop, callbacks and checkpoint layout are the translator's (`nmt.run.fit_module`).
"""

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
from nmt.data.tag_vocab import TaggingVocab
from nmt.data.tagging import TaggingDataModule
from nmt.models.tagger import RecurrentTagger, build_tagger
from nmt.run import fit_module, new_run_dir, resume_checkpoint
from nmt.tagging.config import TaggingConfig
from nmt.tagging.metrics import uses_bio
from nmt.tagging.module import LitTagger, monitored_metric

VOCAB_FILE = "vocab.json"


def load_tagging_config(name_or_path: str | None, overrides: Sequence[str] = ()) -> TaggingConfig:
    return load_config(name_or_path, overrides, kind=TaggingConfig)


def train_tagger(config: TaggingConfig) -> Path:
    """Train a new tagger into `config.run_dir`, which must not hold a run already."""
    run_dir = new_run_dir(config.run_dir, resume_command="nmt tag train --resume")
    return _fit(config, run_dir, resume_from=None)


def resume_tagger(run_dir: str | Path, overrides: Sequence[str] = ()) -> Path:
    """Continue an interrupted tagging run (optimiser, scheduler, step and epoch restored)."""
    run_dir = Path(run_dir)
    checkpoint = resume_checkpoint(run_dir)
    return _fit(load_tagging_config(str(run_dir / CONFIG_FILE), overrides), run_dir, checkpoint)


def _fit(config: TaggingConfig, run_dir: Path, resume_from: Path | None) -> Path:
    L.seed_everything(config.trainer.seed, workers=True, verbose=False)
    datamodule = TaggingDataModule(config.data, run_dir / VOCAB_FILE, seed=config.trainer.seed)
    datamodule.setup("fit")
    vocab = datamodule.vocab
    bio = uses_bio(config.data.tag_scheme, vocab.tags)
    model = build_tagger(config.model, vocab, bio, config.optim.label_smoothing)
    module = LitTagger(model, config.optim, vocab, datamodule.validation_tags, bio)
    metadata = lambda: base_metadata(
        model, words=len(vocab.words), chars=len(vocab.chars), tags=vocab.tags, bio=bio
    )
    return fit_module(
        config, run_dir, resume_from, module, datamodule, metadata, monitored_metric(bio)
    )


class LoadedTagger(NamedTuple):
    model: RecurrentTagger
    vocab: TaggingVocab
    config: TaggingConfig
    bio: bool
    metadata: dict[str, Any]


def load_tagger_dir(run_dir: str | Path, device: str | torch.device = "cpu") -> LoadedTagger:
    """Everything needed to tag, from a checkpoint directory alone (weights_only loading)."""
    run_dir = check_run_dir(run_dir, (CONFIG_FILE, WEIGHTS_FILE, VOCAB_FILE), "tagger ")
    device = check_device(device)
    config = load_tagging_config(str(run_dir / CONFIG_FILE))
    vocab = TaggingVocab.load(run_dir / VOCAB_FILE)
    bio = uses_bio(config.data.tag_scheme, vocab.tags)
    model = build_tagger(config.model, vocab, bio, config.optim.label_smoothing)
    weights = torch.load(run_dir / WEIGHTS_FILE, map_location="cpu", weights_only=True)
    model.load_state_dict(weights)
    return LoadedTagger(model.to(device).eval(), vocab, config, bio, read_metadata(run_dir))
