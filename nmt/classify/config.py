"""Typed configuration of a classification run: the labelled texts, how text becomes tokens, the
classifier, and its own optimiser and trainer defaults."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, ClassVar, Literal

from nmt.engine.config import (
    PROBABILITY,
    Count,
    NonNegative,
    OptimConfig,
    Range,
    RunConfig,
    TrainerConfig,
    load_config,
)  # fmt: skip

TRAIN_COMMAND = "nmt classify train"


@dataclass
class ClassifyDataConfig:
    """Where the labelled texts are, which columns hold text and label, how a text becomes
    tokens, and how it is batched."""

    format: Literal["tsv", "csv", "jsonl", "hub"] = "tsv"
    path: str = "data"  # folder of files, or a hub dataset name (format: hub)
    hub_config: str | None = None
    splits: dict[str, str] = field(
        default_factory=lambda: {"train": "train.tsv", "validation": "dev.tsv"}
    )  # split -> file name in `path` (hub: the dataset's split name)
    text_column: str = "sentence"  # tsv/csv: a header name; jsonl/hub: a key
    label_column: str = "label"
    # words: split at whitespace, embedded as words (+ characters); pieces: sentencepiece
    units: Literal["words", "pieces"] = "words"
    lowercase_words: bool = True  # word embeddings see lowercased words (characters keep case)
    min_word_count: Count = 1  # training words seen fewer times map to <unk>
    max_word_chars: Count = 30  # characters of a word seen by the character encoder
    vocab_size: Annotated[int, Range(5)] = 8000  # pieces
    max_length: Count | None = 200  # tokens kept of a text (a longer one is cut)
    validation_size: Count = 500  # held out of train when there is no validation split
    batch_tokens: Count = 2000  # per batch, padding included
    valid_batch_tokens: Count = 8000
    num_workers: NonNegative = 0


@dataclass
class ClassifierModelConfig:
    """Token embedder, recurrent encoder, pooling over the positions, and the loss's weights."""

    word_embedding_size: Count = 128  # words or pieces
    char_embedding_size: NonNegative = 0  # 0: no character encoder (words only)
    char_encoder: Literal["cnn", "lstm"] = "cnn"
    char_hidden_size: Count = 64  # cnn: filters; lstm: per direction
    # conv: a dilated causal convolution (nmt.models.conv) instead of a recurrent layer
    cell: Literal["rnn", "gru", "lstm", "conv"] = "lstm"
    hidden_size: Count = 256  # per direction; conv: channels
    layers: Count = 1  # recurrent layers
    bidirectional: bool = True  # recurrent only
    conv_levels: Count = 4  # conv: dilations 1, 2, ..., 2**(levels-1)
    kernel_size: Annotated[int, Range(2)] = 3  # conv: receptive field 1 + (k-1)(2**levels - 1)
    pooling: Literal["last", "max", "mean", "attention"] = "max"
    attention_size: Count = 128  # attention pooling's hidden size
    dropout: Annotated[float, PROBABILITY] = 0.5
    word_dropout: Annotated[float, PROBABILITY] = 0.0  # training tokens replaced by <unk>
    class_weights: Literal["none", "balanced"] = "none"  # balanced: rare classes weigh more
    custom_kernels: bool = True  # CPU dropout of nmt.models.fast; false: torch's own


@dataclass
class ClassifyConfig(RunConfig):
    """A whole classification run."""

    task: Literal["classify"] = "classify"
    name: str = "classifier"
    data: ClassifyDataConfig = field(default_factory=ClassifyDataConfig)
    model: ClassifierModelConfig = field(default_factory=ClassifierModelConfig)
    optim: OptimConfig = field(
        default_factory=lambda: OptimConfig(label_smoothing=0.0, plateau_patience=1)
    )
    trainer: TrainerConfig = field(
        default_factory=lambda: TrainerConfig(max_epochs=20, early_stopping_patience=4)
    )

    # The vocabulary is the saved run's (vocab.json, pieces.model).
    fixed_on_resume: ClassVar[tuple[str, ...]] = (
        "model.", "data.units", "data.lowercase_words", "data.min_word_count",
        "data.max_word_chars", "data.vocab_size",
    )  # fmt: skip
    changeable_on_resume: ClassVar[tuple[str, ...]] = (
        "model.dropout", "model.word_dropout", "model.custom_kernels", "model.class_weights",
    )  # fmt: skip


def load(name_or_path: str | None, overrides: Sequence[str] = ()) -> ClassifyConfig:
    """A classification recipe (packaged name or YAML file) with `key.sub=value` overrides."""
    return load_config(name_or_path, overrides, ClassifyConfig)
