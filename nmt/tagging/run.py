"""A tagging run: from a TaggingConfig to a self-contained checkpoint directory, and back.

    RUN/config.yaml  RUN/metadata.json  RUN/vocab.json  RUN/model.pt  RUN/lightning/  RUN/logs/
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import torch

from nmt.engine.checkpoint import base_metadata, check_device, load_weights
from nmt.engine.fit import FitParts, TaskRun
from nmt.engine.rundir import CONFIG_FILE, WEIGHTS_FILE, check_run_dir, read_metadata
from nmt.models.tagger import RecurrentTagger
from nmt.tagging.config import TRAIN_COMMAND, TaggingConfig, load
from nmt.tagging.corpus import uses_bio
from nmt.tagging.datamodule import TaggingDataModule
from nmt.tagging.model import build_tagger
from nmt.tagging.module import LitTagger
from nmt.tagging.vocab import TaggingVocab

VOCAB_FILE = "vocab.json"


def fit_parts(config: TaggingConfig, run_dir: Path) -> FitParts:
    """The modules of a tagging run; the network is built once the vocabulary exists."""
    datamodule = TaggingDataModule(config.data, run_dir / VOCAB_FILE, seed=config.trainer.seed)
    # BIO or not decides the monitored metric, which the trainer's callbacks need up front.
    bio = uses_bio(config.data.tag_scheme, datamodule.tag_names())

    def build_model() -> RecurrentTagger:
        return build_tagger(config.model, datamodule.vocab, bio, config.optim.label_smoothing)

    def metadata(model: torch.nn.Module) -> dict[str, Any]:
        vocab = datamodule.vocab
        return base_metadata(
            model, words=len(vocab.words), chars=len(vocab.chars), tags=vocab.tags, bio=bio
        )

    return FitParts(LitTagger(build_model, config.optim, bio), datamodule, metadata)


RUNS = TaskRun(TaggingConfig, TRAIN_COMMAND, fit_parts, (VOCAB_FILE,))
train, resume = RUNS.train, RUNS.resume  # a new run from a config; an interrupted one continued


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
    config = load(str(run_dir / CONFIG_FILE))
    vocab = TaggingVocab.load(run_dir / VOCAB_FILE)
    bio = uses_bio(config.data.tag_scheme, vocab.tags)
    model = build_tagger(config.model, vocab, bio, config.optim.label_smoothing)
    load_weights(model, run_dir)
    return LoadedTagger(model.to(device).eval(), vocab, config, bio, read_metadata(run_dir))
