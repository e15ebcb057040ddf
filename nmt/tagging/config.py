"""Typed configuration of a tagging run: the tagged corpus, the tagger, and its own optimiser
and trainer defaults (the sections' fields are every task's, nmt.engine.config)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, ClassVar, Literal

from nmt.engine.config import (
    PROBABILITY,
    Count,
    NonNegative,
    OptimConfig,
    RunConfig,
    TrainerConfig,
    load_config,
)  # fmt: skip

TRAIN_COMMAND = "nmt tag train"


@dataclass
class TagDataConfig:
    """Where the tagged corpus is, which column holds the tags, and how it is batched."""

    format: Literal["conllu", "conll", "hub"] = "conllu"
    path: str = "data"  # directory of files, or a hub dataset name (format: hub)
    hub_config: str | None = None  # e.g. en_ewt
    splits: dict[str, str] = field(
        default_factory=lambda: {"train": "train.conllu", "validation": "dev.conllu"}
    )  # split -> file name in `path` (hub: split -> the dataset's split name)
    tag_column: str = "upos"  # conllu: upos | xpos; conll: column index (-1 last); hub: name
    tokens_column: str = "tokens"  # hub only
    tag_scheme: Literal["auto", "bio", "plain"] = "auto"  # bio: entity F1 and CRF constraints
    max_length: Count | None = 150  # training sentences longer than this (tokens) are left out
    max_word_chars: Count = 30  # characters of a word seen by the character encoder
    min_word_count: Count = 1  # training words seen fewer times map to <unk>
    lowercase_words: bool = True  # word embeddings see lowercased words (characters keep case)
    validation_size: Count = 500  # held out of train when the corpus has no validation split
    batch_tokens: Count = 1000
    valid_batch_tokens: Count = 4000
    num_workers: NonNegative = 0


@dataclass
class TaggerModelConfig:
    """Token embedder, bidirectional recurrent encoder, and output layer."""

    word_embedding_size: NonNegative = 100  # 0: no word embeddings
    char_embedding_size: NonNegative = 32  # 0: no character encoder
    char_encoder: Literal["cnn", "lstm"] = "cnn"
    char_hidden_size: Count = 64  # cnn: filters; lstm: per direction
    cell: Literal["rnn", "gru", "lstm"] = "lstm"
    hidden_size: Count = 200  # per direction
    layers: Count = 2
    bidirectional: bool = True
    dropout: Annotated[float, PROBABILITY] = 0.33
    word_dropout: Annotated[float, PROBABILITY] = 0.05  # training words replaced by <unk>
    crf: bool = False  # linear-chain CRF output with Viterbi decoding instead of softmax
    custom_kernels: bool = True  # CPU dropout of nmt.models.fast; false: torch's own


@dataclass
class TaggingConfig(RunConfig):
    """A whole tagging run."""

    task: Literal["tagging"] = "tagging"
    name: str = "tagger"
    data: TagDataConfig = field(default_factory=TagDataConfig)
    model: TaggerModelConfig = field(default_factory=TaggerModelConfig)
    optim: OptimConfig = field(
        default_factory=lambda: OptimConfig(label_smoothing=0.0, plateau_patience=1)
    )
    trainer: TrainerConfig = field(
        default_factory=lambda: TrainerConfig(max_epochs=30, early_stopping_patience=4)
    )

    # Saved by versions whose shared trainer section held the translator's validation settings.
    retired_keys: ClassVar[tuple[str, ...]] = (
        "trainer.bleu_max_length_a", "trainer.bleu_max_length_b",
    )  # fmt: skip
    # The vocabulary and the tag scheme are the saved run's (vocab.json, the CRF's constraints).
    fixed_on_resume: ClassVar[tuple[str, ...]] = (
        "model.", "data.min_word_count", "data.lowercase_words", "data.max_word_chars",
        "data.tag_scheme",
    )  # fmt: skip
    changeable_on_resume: ClassVar[tuple[str, ...]] = (
        "model.dropout", "model.word_dropout", "model.custom_kernels",
    )  # fmt: skip


def load(name_or_path: str | None, overrides: Sequence[str] = ()) -> TaggingConfig:
    """A tagging recipe (packaged name or YAML file) with `key.sub=value` overrides."""
    return load_config(name_or_path, overrides, TaggingConfig)
