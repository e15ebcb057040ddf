"""A language-model run: from an LmConfig to a self-contained checkpoint directory, and back.

    RUN/config.yaml  RUN/metadata.json  RUN/vocab.json (+ pieces.model)  RUN/model.pt
    RUN/lightning/  RUN/logs/
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import torch

from nmt.engine.checkpoint import base_metadata, check_device, load_weights
from nmt.engine.fit import FitParts, TaskRun
from nmt.engine.rundir import CONFIG_FILE, WEIGHTS_FILE, check_run_dir, read_metadata
from nmt.lm.config import TRAIN_COMMAND, LmConfig, check, load
from nmt.lm.datamodule import LmDataModule
from nmt.lm.model import build_language_model
from nmt.lm.module import LitLanguageModel
from nmt.lm.vocab import PIECES_NAME, VOCAB_FILE, LmVocab
from nmt.models.language_model import NextTokenModel
from nmt.models.quantize import quantize_dynamic_int8


def fit_parts(config: LmConfig, run_dir: Path) -> FitParts:
    """The modules of a language-model run; the network is built once the vocabulary exists."""
    check(config)
    datamodule = LmDataModule(config.data, run_dir, seed=config.trainer.seed)

    def metadata(model: torch.nn.Module) -> dict[str, Any]:
        vocab = datamodule.vocab
        return base_metadata(
            model, units=vocab.units, vocabulary=vocab.size, mode=config.data.mode,
            train_tokens=datamodule.tokens("train"),
            validation_tokens=datamodule.tokens("validation"),
        )  # fmt: skip

    module = LitLanguageModel(
        lambda: build_language_model(config.model, datamodule.vocab), config.optim
    )
    return FitParts(module, datamodule, metadata)


RUNS = TaskRun(
    LmConfig, TRAIN_COMMAND, fit_parts,
    (VOCAB_FILE, f"{PIECES_NAME}.model", f"{PIECES_NAME}.vocab"),
)  # fmt: skip
train, resume = RUNS.train, RUNS.resume  # a new run from a config; an interrupted one continued


class LoadedLanguageModel(NamedTuple):
    model: NextTokenModel
    vocab: LmVocab
    config: LmConfig
    metadata: dict[str, Any]


def load_language_model_dir(
    run_dir: str | Path, device: str | torch.device = "cpu", quantize: bool = False
) -> LoadedLanguageModel:
    """Everything needed to sample and score, from a checkpoint directory alone. quantize: int8
    recurrent and linear layers (CPU only, nmt.models.quantize): faster one-step sampling."""
    run_dir = check_run_dir(run_dir, (CONFIG_FILE, WEIGHTS_FILE, VOCAB_FILE), "language-model ")
    device = check_device(device)
    config = load(str(run_dir / CONFIG_FILE))
    vocab = LmVocab.load(run_dir)
    model = load_weights(build_language_model(config.model, vocab), run_dir).to(device).eval()
    if quantize:
        model = quantize_dynamic_int8(model, device)
    return LoadedLanguageModel(model, vocab, config, read_metadata(run_dir))
