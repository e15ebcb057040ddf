"""Typed configuration of a translation run: corpus, sentencepiece, encoder-decoder model, and
the translator's own trainer settings (validation BLEU's output length, checkpoints to average)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, ClassVar, Literal

from nmt.engine.config import (
    NON_NEGATIVE,
    PROBABILITY,
    Count,
    NonNegative,
    Range,
    RunConfig,
    TrainerConfig,
    load_config,
)  # fmt: skip

TRAIN_COMMAND = "nmt translate train"


@dataclass
class DataConfig:
    """Where the parallel corpus is and how it is cleaned and batched."""

    format: Literal["text", "tsv", "jsonl", "hub"] = "text"
    path: str = "data"  # directory of files, or a hub dataset name (format: hub)
    hub_config: str | None = None  # e.g. iwslt2017-de-en, de-en
    src_lang: str = "src"
    tgt_lang: str = "tgt"
    splits: dict[str, str] = field(
        default_factory=lambda: {"train": "train", "validation": "validation", "test": "test"}
    )  # split -> file stem (text: STEM.LANG, tsv: STEM.tsv, jsonl: STEM.jsonl)
    max_length: Count | None = 100  # words per side in training pairs
    max_ratio: Annotated[float, Range(1)] | None = 3.0  # longer/shorter side, in words
    validation_size: Count = 500  # held out of train when the corpus has no validation split
    batch_tokens: Count = 4096  # per batch, padding included
    batch_sentences: Count | None = None  # also at most this many sentences per training batch
    valid_batch_tokens: Count = 8192
    num_workers: NonNegative = 0
    # Pseudo-glossaries for a model with model.glossary_memory: a term dictionary (nmt translate
    # align) whose entries found in a training pair (source word in the source, its translation
    # in the reference) become memory entries of a share `term_rate` of the training sentences,
    # at most `max_terms` each (a random subset, drawn anew every epoch); a share `term_swap` of
    # them has its target replaced by another term, in memory and reference (batch.TermSampler).
    term_dictionary: str | None = None
    term_rate: Annotated[float, PROBABILITY] = 0.6
    max_terms: Count = 3
    term_swap: Annotated[float, PROBABILITY] = 0.7


@dataclass
class TokenizerConfig:
    """Sentencepiece models trained on the training split."""

    model_type: Literal["unigram", "bpe"] = "unigram"
    vocab_size: Annotated[int, Range(5)] = 8000  # 4 special pieces and at least one more
    joint: bool = True  # one model and vocabulary for both languages
    character_coverage: Annotated[float, Range(0, 1, open_low=True)] = 1.0
    # Sentencepiece learns from a random sample of at most this many training pairs (both sides
    # of each, joint or not): enough for a vocabulary, and it keeps a corpus of millions of pairs
    # from costing minutes and gigabytes (its trainer needs about 5 GB per million pairs at
    # its peak). None: all pairs.
    train_pairs: Count | None = 200_000
    # Subword regularisation (Kudo 2018; BPE-dropout, Provilkov et al. 2020): training batches
    # get a new random segmentation every time they are drawn; validation and test always the
    # best one. unigram: the smoothing alpha of sampling (0.1 to 0.5 usual); bpe: the
    # probability of dropping a merge (about 0.1). None: off.
    sampling_alpha: Annotated[float, Range(0, 1, open_low=True)] | None = None
    sampling_nbest: int = -1  # unigram: sample among the n best segmentations (-1: all)


@dataclass
class SlotMemoryConfig:
    """A key-value memory of learned slots that the decoder queries each step (0 slots: none)."""

    slots: NonNegative = 0
    combine: Literal["gate", "concat"] = "gate"  # how the read joins the attention context
    addressing: Literal["dot", "additive"] = "dot"
    top_k: Count | None = None  # read only the k best-matching slots


@dataclass
class ModelConfig:
    """Encoder-decoder architecture."""

    cell: Literal["rnn", "gru", "lstm"] = "lstm"
    embedding_size: Count = 256
    encoder_hidden_size: Count = 256  # per direction
    encoder_layers: Count = 1
    bidirectional: bool = True
    decoder_hidden_size: Count = 512
    decoder_layers: Count = 1
    attention: Literal["bahdanau", "luong", "dot", "none"] = "bahdanau"
    attention_size: Count | None = None  # additive attention's hidden size; default decoder size
    input_feeding: bool = True
    output_size: Count | None = None  # size of the layer before the softmax; default decoder size
    tie_embeddings: bool = False  # target embeddings = output layer (output_size = embedding)
    dropout: Annotated[float, PROBABILITY] = 0.3
    # share of source and target input pieces replaced by <unk> in training (word dropout)
    word_dropout: Annotated[float, PROBABILITY] = 0.0
    # share of the encoder's and decoder's recurrent (hidden-to-hidden) weights dropped in
    # training, one draw per batch (AWD-LSTM's DropConnect; the language models' setting)
    weight_dropout: Annotated[float, PROBABILITY] = 0.0
    # every weight uniform in [-x, x]; None: PyTorch's defaults
    param_init: Annotated[float, Range(0, open_low=True)] | None = None
    slot_memory: SlotMemoryConfig = field(default_factory=SlotMemoryConfig)
    # A glossary memory the decoder reads and copies terms from (nmt.models.glossary); trained
    # with data.term_dictionary, used by `nmt translate predict --glossary`.
    glossary_memory: bool = False
    glossary_memory_size: Count = 256  # keys and values of its slots
    # Training: weight of the output layer's own loss (before copying) beside the copy
    # mixture's, on target tokens that are not swaps (LitSeq2Seq.token_loss); 0: the mixture's
    glossary_generator_loss: Annotated[float, NON_NEGATIVE] = 0.0
    # The hand-written speed paths (nmt/models/fast): input-feeding loops, CPU tanh and dropout,
    # the glossary memory's training scores. false: plain PyTorch everywhere (same function and
    # parameters; tests pin them equal).
    custom_kernels: bool = True


@dataclass
class TranslationTrainerConfig(TrainerConfig):
    """The shared trainer settings, plus validation BLEU's greedy output length."""

    keep_last_checkpoints: NonNegative = 5  # RUN/lightning/step-*.ckpt for averaging
    # greedy validation output: at most a * source length + b tokens
    bleu_max_length_a: Annotated[float, NON_NEGATIVE] = 1.5
    bleu_max_length_b: NonNegative = 10


@dataclass
class TranslationConfig(RunConfig):
    """A whole translation run."""

    task: Literal["translation"] = "translation"
    data: DataConfig = field(default_factory=DataConfig)
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    trainer: TranslationTrainerConfig = field(default_factory=TranslationTrainerConfig)

    renamed_keys: ClassVar[dict[str, str]] = {"model.memory": "model.slot_memory"}
    fixed_on_resume: ClassVar[tuple[str, ...]] = ("model.", "tokenizer.")
    changeable_on_resume: ClassVar[tuple[str, ...]] = (
        "model.dropout", "model.word_dropout", "model.weight_dropout", "model.custom_kernels",
        "model.param_init", "model.glossary_generator_loss",
    )  # fmt: skip


def load(name_or_path: str | None, overrides: Sequence[str] = ()) -> TranslationConfig:
    """A translation recipe (packaged name or YAML file) with `key.sub=value` overrides."""
    return load_config(name_or_path, overrides, TranslationConfig)
