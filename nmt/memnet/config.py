"""Typed configuration of a memory-network run: story files (or the generated task), the reader,
and its own optimiser and trainer defaults (the sections' fields are every task's)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, ClassVar, Literal, NamedTuple

from nmt.engine.config import (
    Count,
    NonNegative,
    OptimConfig,
    Range,
    RunConfig,
    TrainerConfig,
    load_config,
)  # fmt: skip
from nmt.errors import NmtError

TRAIN_COMMAND = "nmt memnet train"


@dataclass
class StoryDataConfig:
    """Story / question files, or the generated task when no path is given."""

    # jsonl: one example a line (nmt.memnet.corpus); babi: the bAbI tasks' numbered lines
    format: Literal["jsonl", "babi"] = "jsonl"
    path: str | None = None  # folder of the files; null: generate the task into RUN/data
    # bAbI task number: its files qaN_*_train.txt and qaN_*_test.txt in `path` (replaces splits)
    babi_task: Annotated[int, Range(1, 20)] | None = None
    splits: dict[str, str] = field(
        default_factory=lambda: {
            "train": "train.jsonl", "validation": "validation.jsonl", "test": "test.jsonl"
        }
    )  # fmt: skip
    # without a validation file, this share of the training questions is held out (at random)
    validation_fraction: Annotated[float, Range(0, 1, open_low=True, open_high=True)] = 0.1
    generate_sizes: dict[str, Count] = field(
        default_factory=lambda: {"train": 10000, "validation": 1000, "test": 1000}
    )
    generate_seed: NonNegative = 0
    max_sentences: Count = 50  # the memory holds a story's last N sentences
    batch_size: Count = 32
    # random noise (end-to-end memory networks): in training, about this share of empty
    # sentences is inserted at random places in each story, so that the reader cannot lean on
    # exact sentence ages
    random_noise: Annotated[float, Range(0, 1, open_high=True)] = 0.0


@dataclass
class MemNetModelConfig:
    """The reader: embedding size, hops over the memory, how it is addressed."""

    # memn2n: the end-to-end memory network (nmt.models.memnet); query_reduction: a recurrent
    # reader whose state is the question, reduced by each sentence (nmt.models.query_reduction),
    # with `hops` layers; the settings below `hops` are one reader's alone (the memory
    # network's, then the query-reduction reader's)
    reader: Literal["memn2n", "query_reduction"] = "memn2n"
    embedding_size: Count = 64
    hops: Count = 3
    addressing: Literal["dot", "additive"] = "dot"
    top_k: Count | None = None  # read only the k best-matching sentences
    # layerwise: one key and one value embedding for all hops; adjacent: hop k's values are
    # hop k+1's keys (nmt.models.memnet)
    tying: Literal["layerwise", "adjacent"] = "layerwise"
    # linear start: the first this many epochs are trained without the memory's softmax
    linear_start: NonNegative = 0
    # a learned memory entry that is no sentence, for hops that find no sentence to read
    null_slot: bool = False
    # dot-product scores divided by sqrt(embedding_size) (false: unscaled, as MemN2N)
    scaled_scores: bool = True
    # the query-reduction reader's alone: dropout on its sentence and question vectors
    dropout: Annotated[float, Range(0, 1, open_high=True)] = 0.0
    # the query-reduction reader's alone: an update and a reset gate per dimension of the
    # reduced question (true) instead of one per sentence
    vector_gates: bool = False


@dataclass
class MemnetConfig(RunConfig):
    """A whole memory-network run."""

    task: Literal["memnet"] = "memnet"
    name: str = "stories"
    data: StoryDataConfig = field(default_factory=StoryDataConfig)
    model: MemNetModelConfig = field(default_factory=MemNetModelConfig)
    optim: OptimConfig = field(
        default_factory=lambda: OptimConfig(lr=0.005, label_smoothing=0.0, plateau_patience=2)
    )
    trainer: TrainerConfig = field(
        default_factory=lambda: TrainerConfig(
            max_epochs=60, early_stopping_patience=8, gradient_clip_val=40.0,
            keep_last_checkpoints=0,
        )
    )  # fmt: skip

    former_task_names: ClassVar[tuple[str, ...]] = ("memory",)  # before `nmt memnet`
    # Saved by versions whose shared trainer section held the translator's validation settings.
    retired_keys: ClassVar[tuple[str, ...]] = (
        "trainer.bleu_max_length_a", "trainer.bleu_max_length_b",
    )  # fmt: skip
    fixed_on_resume: ClassVar[tuple[str, ...]] = ("model.", "data.max_sentences")
    changeable_on_resume: ClassVar[tuple[str, ...]] = ("model.top_k",)


def load(name_or_path: str | None, overrides: Sequence[str] = ()) -> MemnetConfig:
    """A memory-network recipe (packaged name or YAML file) with `key.sub=value` overrides."""
    config = load_config(name_or_path, overrides, MemnetConfig)
    check(config)
    return config


class ReaderSettings(NamedTuple):
    """What the check says of a reader: its name in words, the settings only it uses, its recipe."""

    described: str
    own_keys: tuple[str, ...]
    recipe: str


READERS = {
    "memn2n": ReaderSettings("the end-to-end memory network", ("addressing", "top_k", "tying",
                             "linear_start", "null_slot", "scaled_scores"), "babi_1k"),
    "query_reduction": ReaderSettings("the query-reduction reader", ("dropout", "vector_gates"),
                                      "babi_1k_qr"),
}  # fmt: skip


def check(config: MemnetConfig) -> None:
    """What the fields' types cannot say: one reader's settings given to the other reader."""
    defaults, chosen = MemNetModelConfig(), config.model.reader
    others = {reader: settings for reader, settings in READERS.items() if reader != chosen}
    for reader, settings in others.items():
        for key in settings.own_keys:
            value = getattr(config.model, key)
            if value != getattr(defaults, key):
                raise NmtError(f"model.{key}={value} is a setting of {settings.described} "
                               f"(model.reader={reader}); model.reader={chosen} has no use for "
                               f"it: leave it out (the recipe {READERS[chosen].recipe} is set for "
                               "this reader)")  # fmt: skip
