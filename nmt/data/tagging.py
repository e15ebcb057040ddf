"""LightningDataModule for tagging: tagged corpus -> vocabularies -> id sequences -> batches.

Like the translation DataModule, `prepare_data` and `setup` are idempotent so the run can call
them before the Trainer does (the model needs the vocabulary sizes), and the vocabularies are
saved in the run directory the first time and reused from there on resume.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import datasets
import lightning as L
import torch
from torch.utils.data import DataLoader

from nmt.data.batching import token_batch_loader
from nmt.data.conll import load_tagging_corpus
from nmt.data.datamodule import hold_out_validation
from nmt.data.tag_vocab import PAD_INDEX, TaggingVocab
from nmt.errors import NmtError

if TYPE_CHECKING:  # the config lives with the later stage that loads it
    from nmt.tagging.config import TagDataConfig

logger = logging.getLogger(__name__)


class TaggingBatch(NamedTuple):
    """Padded sentences in dataset order."""

    words: torch.Tensor  # [B, T] long
    chars: torch.Tensor  # [B, T, C] long: each word's characters, PAD_INDEX padded
    lengths: torch.Tensor  # [B] long
    tags: torch.Tensor | None  # [B, T] long (0 on padding), None when the input has no tags
    index: torch.Tensor | None  # [B] long: each example's "index" field


def encode_tokens(vocab: TaggingVocab, tokens: Sequence[str]) -> dict[str, list]:
    """A sentence's word and character ids, as `collate_tagging` wants them."""
    return {"word_ids": vocab.word_ids(tokens), "char_ids": vocab.char_ids(tokens)}


def encode_sentences(
    vocab: TaggingVocab, sentences: Sequence[Sequence[str]]
) -> list[dict[str, list]]:
    """Examples for `collate_tagging` from token lists (no tags), with their position as index."""
    return [{**encode_tokens(vocab, tokens), "index": i} for i, tokens in enumerate(sentences)]


def collate_tagging(examples: Sequence[Mapping[str, list]]) -> TaggingBatch:
    """Pad examples with "word_ids", "char_ids" and optionally "tag_ids" and "index"."""
    lengths = [len(example["word_ids"]) for example in examples]
    longest = max(lengths)
    longest_word = max(len(chars) for example in examples for chars in example["char_ids"])
    words = torch.full((len(examples), longest), PAD_INDEX, dtype=torch.long)
    chars = torch.full((len(examples), longest, max(longest_word, 1)), PAD_INDEX, dtype=torch.long)
    has_tags = "tag_ids" in examples[0]
    tags = torch.zeros((len(examples), longest), dtype=torch.long) if has_tags else None
    for row, example in enumerate(examples):
        words[row, : lengths[row]] = torch.as_tensor(example["word_ids"])
        for column, word_chars in enumerate(example["char_ids"]):
            chars[row, column, : len(word_chars)] = torch.as_tensor(word_chars)
        if tags is not None:
            tags[row, : lengths[row]] = torch.as_tensor(example["tag_ids"])
    index = None
    if "index" in examples[0]:
        index = torch.tensor([example["index"] for example in examples], dtype=torch.long)
    return TaggingBatch(words, chars, torch.tensor(lengths), tags, index)


class TaggingDataModule(L.LightningDataModule):
    def __init__(self, data: TagDataConfig, vocab_path: Path, seed: int = 0) -> None:
        super().__init__()
        self.data_config = data
        self.vocab_path = Path(vocab_path)
        self.seed = seed
        self.corpus: datasets.DatasetDict | None = None
        self.vocab: TaggingVocab | None = None
        self.encoded: dict[str, datasets.Dataset] = {}
        self.lengths: dict[str, list[int]] = {}

    @property
    def validation_tags(self) -> list[list[str]]:
        """Gold tags of the validation split, in dataset order."""
        return list(self._require_corpus()["validation"]["tags"])

    def prepare_data(self) -> None:
        if self.corpus is None:
            self.corpus = self._load_corpus()
        if self.vocab is None:
            self.vocab = self._build_or_load_vocab()

    def setup(self, stage: str | None = None) -> None:
        self.prepare_data()
        if self.encoded:
            return
        vocab = self.vocab
        for name, split in self._require_corpus().items():
            self.encoded[name] = split.map(
                lambda example, index: {
                    **encode_tokens(vocab, example["tokens"]),
                    "tag_ids": vocab.tag_ids(example["tags"]),
                    "index": index,
                },
                with_indices=True,
                remove_columns=split.column_names,
                desc=f"encoding {name}",
            )
            self.lengths[name] = [len(tokens) for tokens in split["tokens"]]

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", self.data_config.batch_tokens, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("validation", self.data_config.valid_batch_tokens, shuffle=False)

    def _loader(self, split: str, max_tokens: int, shuffle: bool) -> DataLoader:
        return token_batch_loader(
            self.encoded[split], self.lengths[split], max_tokens, collate_tagging, shuffle,
            self.seed, self.trainer, self.data_config.num_workers,
        )  # fmt: skip

    def _load_corpus(self) -> datasets.DatasetDict:
        config = self.data_config
        if "train" not in config.splits:
            raise NmtError("data.splits must name a train split")
        corpus = load_tagging_corpus(
            config.format, config.path, config.splits, config.tag_column,
            hub_config=config.hub_config, tokens_column=config.tokens_column,
        )  # fmt: skip
        if config.max_length is not None:
            before = corpus["train"].num_rows
            corpus["train"] = corpus["train"].filter(
                lambda batch: [len(tokens) <= config.max_length for tokens in batch["tokens"]],
                batched=True,
            )
            if corpus["train"].num_rows < before:
                logger.info(
                    "left out %d training sentences longer than %d tokens",
                    before - corpus["train"].num_rows, config.max_length,
                )  # fmt: skip
        if "validation" not in corpus:
            hold_out_validation(corpus, config.validation_size, self.seed, config.path, "sentences")
        if corpus["train"].num_rows == 0:
            raise NmtError(f"{config.path}: no training sentences")
        return datasets.DatasetDict({split: corpus[split] for split in ("train", "validation")})

    def _build_or_load_vocab(self) -> TaggingVocab:
        if self.vocab_path.is_file():
            return TaggingVocab.load(self.vocab_path)
        config = self.data_config
        corpus = self._require_corpus()
        # Tags seen only in validation still get an output, so validation can be scored.
        tags = list(corpus["train"]["tags"]) + list(corpus["validation"]["tags"])
        vocab = TaggingVocab.build(
            corpus["train"]["tokens"], tags, config.min_word_count,
            config.lowercase_words, config.max_word_chars,
        )  # fmt: skip
        vocab.save(self.vocab_path)
        logger.info(
            "vocabularies: %d words, %d characters, %d tags",
            len(vocab.words), len(vocab.chars), len(vocab.tags),
        )  # fmt: skip
        return vocab

    def _require_corpus(self) -> datasets.DatasetDict:
        if self.corpus is None:
            raise RuntimeError("call prepare_data() first")
        return self.corpus
