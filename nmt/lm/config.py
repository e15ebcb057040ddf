"""Typed configuration of a language-model run: the text, its units (characters or sentencepiece
pieces), how it is cut into training chunks, the model, and its own optimiser and trainer
defaults (the best checkpoint is the one with the lowest validation loss)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, ClassVar, Literal

from nmt.engine.config import (
    FRACTION,
    PROBABILITY,
    Count,
    NonNegative,
    OptimConfig,
    Range,
    RunConfig,
    TrainerConfig,
    load_config,
)  # fmt: skip
from nmt.errors import NmtError

TRAIN_COMMAND = "nmt lm train"


@dataclass
class LmDataConfig:
    """Where the text is, what a token is, and how the text is cut into batches."""

    format: Literal["text", "hub"] = "text"  # text: UTF-8 files; hub: a dataset's text column
    path: str = "data"  # folder of files, or a hub dataset name (format: hub)
    hub_config: str | None = None
    text_column: str = "text"  # hub only
    # split -> file name in `path` (hub: the dataset's split name); add validation=FILE for a
    # separate validation text
    splits: dict[str, str] = field(default_factory=lambda: {"train": "train.txt"})
    # Without a validation split, this share of the training text's characters is held out from
    # its end (Tiny Shakespeare's customary split is 0.1).
    validation_tail: Annotated[float, FRACTION] = 0.1
    units: Literal["chars", "pieces"] = "chars"
    vocab_size: Annotated[int, Range(5)] = 8000  # pieces
    # stream: the text as one long sequence of tokens (lines joined by their newline) cut into
    # `batch_size` parallel streams read `bptt` tokens at a time, the state carried between
    # chunks; sentences: each line its own example, in length-bucketed batches
    mode: Literal["stream", "sentences"] = "stream"
    bptt: Count = 128  # stream: tokens per chunk (backpropagation stops at chunk boundaries)
    batch_size: Count = 32  # stream: parallel streams in training
    valid_batch_size: Count = 16  # stream: parallel streams in validation
    batch_tokens: Count = 4000  # sentences: tokens per batch, padding included
    num_workers: NonNegative = 0


@dataclass
class LmModelConfig:
    embedding_size: Count = 256
    # conv: a gated dilated causal convolution (nmt.models.conv, WaveNet) that predicts from the
    # last receptive-field tokens only, instead of a recurrent layer
    cell: Literal["rnn", "gru", "lstm", "conv"] = "lstm"
    hidden_size: Count = 512  # conv: channels
    layers: Count = 2  # recurrent only
    conv_levels: Count = 6  # conv: dilations 1, 2, ..., 2**(levels-1)
    kernel_size: Annotated[int, Range(2)] = 2  # conv: receptive field 1 + (k-1)(2**levels - 1)
    dropout: Annotated[float, PROBABILITY] = 0.2  # on embeddings, between layers, on outputs
    # training drops this share of the recurrent (hidden-to-hidden) weights, AWD-LSTM's
    # DropConnect: the regulariser for small corpora trained for many epochs
    weight_dropout: Annotated[float, Range(0, 1, open_high=True)] = 0.0
    tie_embeddings: bool = False  # the output layer shares the embedding's weights
    custom_kernels: bool = True  # CPU dropout of nmt.models.fast; false: torch's own


@dataclass
class LmConfig(RunConfig):
    """A whole language-model run."""

    task: Literal["lm"] = "lm"
    name: str = "lm"
    data: LmDataConfig = field(default_factory=LmDataConfig)
    model: LmModelConfig = field(default_factory=LmModelConfig)
    optim: OptimConfig = field(
        default_factory=lambda: OptimConfig(lr=0.002, label_smoothing=0.0, plateau_patience=1)
    )
    trainer: TrainerConfig = field(
        default_factory=lambda: TrainerConfig(max_epochs=50, val_check_interval=0.5)
    )

    fixed_on_resume: ClassVar[tuple[str, ...]] = ("model.", "data.units", "data.vocab_size")
    changeable_on_resume: ClassVar[tuple[str, ...]] = (
        "model.dropout", "model.weight_dropout", "model.custom_kernels"
    )  # fmt: skip


def load(name_or_path: str | None, overrides: Sequence[str] = ()) -> LmConfig:
    """A language-model recipe (packaged name or YAML file) with `key.sub=value` overrides."""
    config = load_config(name_or_path, overrides, LmConfig)
    check(config)
    return config


def check(config: LmConfig) -> None:
    """What the fields' types cannot say: settings that contradict each other."""
    if config.model.cell == "conv" and config.model.weight_dropout:
        raise NmtError(f"model.weight_dropout {config.model.weight_dropout} drops recurrent "
                       "weights, and model.cell=conv has none: set it to 0 (model.dropout "
                       "applies to the convolution)")  # fmt: skip
