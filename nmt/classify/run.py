"""A classification run: from a ClassifyConfig to a self-contained checkpoint directory, and back.

    RUN/config.yaml  RUN/metadata.json  RUN/vocab.json (+ pieces.model)  RUN/model.pt
    RUN/lightning/  RUN/logs/
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import torch

from nmt.classify.config import TRAIN_COMMAND, ClassifyConfig, load
from nmt.classify.datamodule import ClassifyDataModule
from nmt.classify.model import build_classifier
from nmt.classify.module import LitClassifier
from nmt.classify.vocab import PIECES_NAME, VOCAB_FILE, ClassifyVocab
from nmt.engine.checkpoint import base_metadata, check_device, load_weights
from nmt.engine.fit import FitParts, TaskRun
from nmt.engine.rundir import CONFIG_FILE, WEIGHTS_FILE, check_run_dir, read_metadata
from nmt.models.classifier import SequenceClassifier


def fit_parts(config: ClassifyConfig, run_dir: Path) -> FitParts:
    """The modules of a classification run; the network is built once the vocabulary exists."""
    datamodule = ClassifyDataModule(config.data, run_dir, seed=config.trainer.seed)

    def class_weights() -> torch.Tensor | None:
        """Balanced weights: each class weighs as if it had the mean class's count."""
        if config.model.class_weights == "none":
            return None
        counts = datamodule.label_counts()
        labels = datamodule.vocab.labels
        total = sum(counts.values())
        return torch.tensor([total / (len(labels) * max(counts[label], 1)) for label in labels])

    def metadata(model: torch.nn.Module) -> dict[str, Any]:
        vocab = datamodule.vocab
        return base_metadata(model, units=vocab.units, vocabulary=vocab.size, labels=vocab.labels)

    module = LitClassifier(
        lambda: build_classifier(config.model, datamodule.vocab), config.optim, class_weights
    )
    return FitParts(module, datamodule, metadata)


RUNS = TaskRun(
    ClassifyConfig, TRAIN_COMMAND, fit_parts,
    (VOCAB_FILE, f"{PIECES_NAME}.model", f"{PIECES_NAME}.vocab"),
)  # fmt: skip
train, resume = RUNS.train, RUNS.resume  # a new run from a config; an interrupted one continued


class LoadedClassifier(NamedTuple):
    model: SequenceClassifier
    vocab: ClassifyVocab
    config: ClassifyConfig
    metadata: dict[str, Any]


def load_classifier_dir(
    run_dir: str | Path, device: str | torch.device = "cpu"
) -> LoadedClassifier:
    """Everything needed to classify, from a checkpoint directory alone (weights_only loading)."""
    run_dir = check_run_dir(run_dir, (CONFIG_FILE, WEIGHTS_FILE, VOCAB_FILE), "classifier ")
    device = check_device(device)
    config = load(str(run_dir / CONFIG_FILE))
    vocab = ClassifyVocab.load(run_dir)
    model = load_weights(build_classifier(config.model, vocab), run_dir)
    return LoadedClassifier(model.to(device).eval(), vocab, config, read_metadata(run_dir))
