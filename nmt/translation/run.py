"""A translation run: from a TranslationConfig to a self-contained checkpoint directory (or on
from one), and back from the directory to a model that translates.

    RUN/config.yaml  RUN/metadata.json  RUN/tokenizer/  RUN/model.pt  RUN/lightning/  RUN/logs/
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import torch
from torch import nn

from nmt.engine.checkpoint import base_metadata, check_device, load_weights
from nmt.engine.fit import FitParts, TaskRun
from nmt.engine.rundir import CONFIG_FILE, WEIGHTS_FILE, check_run_dir, read_metadata
from nmt.errors import NmtError
from nmt.models.seq2seq import Seq2Seq
from nmt.translation.config import TRAIN_COMMAND, TranslationConfig, load
from nmt.translation.datamodule import TranslationDataModule
from nmt.translation.model import build_seq2seq
from nmt.translation.module import LitSeq2Seq
from nmt.translation.vocab import SubwordTokenizer

TOKENIZER_DIR = "tokenizer"


def fit_parts(config: TranslationConfig, run_dir: Path) -> FitParts:
    """The modules of a translation run; the network is built once the tokenizer exists."""
    if config.data.term_dictionary is not None and config.tokenizer.sampling_alpha is not None:
        raise NmtError("data.term_dictionary and tokenizer.sampling_alpha cannot be combined: "
                       "pseudo-glossary entries are found on the best segmentation")  # fmt: skip
    if config.model.glossary_memory != (config.data.term_dictionary is not None):
        raise NmtError(
            "model.glossary_memory=true and data.term_dictionary=FILE go together: the memory "
            "learns from the dictionary's pseudo-glossaries (make one with nmt translate align)"
        )
    datamodule = TranslationDataModule(
        config.data, config.tokenizer, run_dir / TOKENIZER_DIR, seed=config.trainer.seed
    )

    def build_model() -> Seq2Seq:
        tokenizer = datamodule.tokenizer
        return build_seq2seq(config.model, tokenizer.src_vocab_size, tokenizer.tgt_vocab_size)

    module = LitSeq2Seq(
        build_model, config.optim, config.trainer.bleu_max_length_a,
        config.trainer.bleu_max_length_b, config.model.glossary_generator_loss,
    )  # fmt: skip
    return FitParts(module, datamodule, lambda model: run_metadata(datamodule.tokenizer, model))


RUNS = TaskRun(
    TranslationConfig, TRAIN_COMMAND, fit_parts, (TOKENIZER_DIR, f"{TOKENIZER_DIR}.tmp")
)
train, resume = RUNS.train, RUNS.resume  # a new run from a config; an interrupted one continued


def run_metadata(tokenizer: SubwordTokenizer, model: nn.Module) -> dict[str, Any]:
    return base_metadata(
        model, src_vocab_size=tokenizer.src_vocab_size, tgt_vocab_size=tokenizer.tgt_vocab_size,
        joint_vocabulary=tokenizer.joint,
    )  # fmt: skip


class LoadedModel(NamedTuple):
    model: Seq2Seq
    tokenizer: SubwordTokenizer
    config: TranslationConfig
    metadata: dict[str, Any]


def load_model_dir(run_dir: str | Path, device: str | torch.device = "cpu") -> LoadedModel:
    """Everything needed to translate, from a checkpoint directory alone."""
    run_dir = check_run_dir(run_dir, (CONFIG_FILE, WEIGHTS_FILE, TOKENIZER_DIR))
    device = check_device(device)
    config = load(str(run_dir / CONFIG_FILE))
    tokenizer = SubwordTokenizer.load(run_dir / TOKENIZER_DIR)
    model = build_seq2seq(config.model, tokenizer.src_vocab_size, tokenizer.tgt_vocab_size)
    load_weights(model, run_dir)
    return LoadedModel(model.to(device).eval(), tokenizer, config, read_metadata(run_dir))
