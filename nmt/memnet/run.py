"""A memory-network run: the generated task (or the user's story files) -> a checkpoint
directory (config.yaml, metadata.json, vocab.json, model.pt, lightning/, logs/, and data/ when
the task was generated), and back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import torch

from nmt.engine.checkpoint import base_metadata, check_device, load_weights
from nmt.engine.fit import FitParts, TaskRun
from nmt.engine.rundir import CONFIG_FILE, WEIGHTS_FILE, check_run_dir, read_metadata
from nmt.memnet.config import TRAIN_COMMAND, MemnetConfig, load
from nmt.memnet.corpus import DATA_DIR
from nmt.memnet.datamodule import StoryDataModule
from nmt.memnet.model import AnyReader, build_reader
from nmt.memnet.module import LitMemNet
from nmt.memnet.vocab import StoryVocab

VOCAB_FILE = "vocab.json"


def fit_parts(config: MemnetConfig, run_dir: Path) -> FitParts:
    """The modules of a memory-network run; the reader is built once the vocabulary exists."""
    datamodule = StoryDataModule(config.data, run_dir, run_dir / VOCAB_FILE, config.trainer.seed)

    def metadata(model: torch.nn.Module) -> dict[str, Any]:
        vocab = datamodule.vocab
        return base_metadata(
            model, words=len(vocab.words), answers=vocab.answers, question_types=vocab.types
        )

    module = LitMemNet(lambda: build_reader(config, datamodule.vocab), config.optim,
                       config.model.linear_start)  # fmt: skip
    return FitParts(module, datamodule, metadata)


RUNS = TaskRun(
    MemnetConfig, TRAIN_COMMAND, fit_parts, (VOCAB_FILE, DATA_DIR, f"{DATA_DIR}.tmp")
)
train, resume = RUNS.train, RUNS.resume  # a new run from a config; an interrupted one continued


class LoadedReader(NamedTuple):
    model: AnyReader
    vocab: StoryVocab
    config: MemnetConfig
    metadata: dict[str, Any]


def load_reader_dir(run_dir: str | Path, device: str | torch.device = "cpu") -> LoadedReader:
    """Everything needed to answer questions, from a checkpoint directory alone."""
    run_dir = check_run_dir(run_dir, (CONFIG_FILE, WEIGHTS_FILE, VOCAB_FILE), "memory-network ")
    device = check_device(device)
    config = load(str(run_dir / CONFIG_FILE))
    vocab = StoryVocab.load(run_dir / VOCAB_FILE)
    model = load_weights(build_reader(config, vocab), run_dir)
    return LoadedReader(model.to(device).eval(), vocab, config, read_metadata(run_dir))
