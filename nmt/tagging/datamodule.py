"""LightningDataModule for tagging: tagged corpus -> vocabularies -> id sequences -> batches.

As for translation, `prepare_data` builds the vocabularies once and saves them in the run
directory (one process per node; a resumed run reuses them), and `setup` loads them on every
process and encodes the splits. Both are idempotent.
"""

from __future__ import annotations

import logging
from pathlib import Path

import datasets
import lightning as L
import numpy as np
from torch.utils.data import DataLoader

from nmt.data.batching import list_lengths, token_batch_loader
from nmt.data.splits import hold_out_validation
from nmt.errors import NmtError
from nmt.tagging.batch import collate_tagging, encode_tokens
from nmt.tagging.config import TagDataConfig
from nmt.tagging.corpus import iob1_tags, load_tagging_corpus, to_iob2, uses_bio
from nmt.tagging.vocab import TaggingVocab

logger = logging.getLogger(__name__)


class TaggingDataModule(L.LightningDataModule):
    def __init__(self, data: TagDataConfig, vocab_path: Path, seed: int = 0) -> None:
        super().__init__()
        self.data_config = data
        self.vocab_path = Path(vocab_path)
        self.seed = seed
        self.corpus: datasets.DatasetDict | None = None
        self.vocab: TaggingVocab | None = None
        self.encoded: dict[str, datasets.Dataset] = {}
        self.lengths: dict[str, np.ndarray] = {}
        self._validation_tags: list[list[str]] | None = None

    @property
    def validation_tags(self) -> list[list[str]]:
        """Gold tags of the validation split, in dataset order."""
        if self._validation_tags is None:
            self._validation_tags = list(self._require_corpus()["validation"]["tags"])
        return self._validation_tags

    def tag_names(self) -> list[str]:
        """The tags the model will have: the saved vocabulary's, else those of the training and
        validation splits (read only, so every process may ask before the vocabulary exists)."""
        if self.vocab_path.is_file():
            return TaggingVocab.load(self.vocab_path).tags
        return sorted({tag for tags in self._split_tags() for tag in tags})

    def prepare_data(self) -> None:
        if self.vocab is None and not self.vocab_path.is_file():
            self.vocab = self._build_vocab()

    def setup(self, stage: str | None = None) -> None:
        if self.encoded:
            return
        if self.vocab is None:
            if not self.vocab_path.is_file():
                raise RuntimeError("call prepare_data() first: there is no vocabulary yet")
            self.vocab = TaggingVocab.load(self.vocab_path)
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
            self.lengths[name] = list_lengths(split, "tokens")

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
        corpus = datasets.DatasetDict({split: corpus[split] for split in ("train", "validation")})
        return self._as_iob2(corpus)

    def _as_iob2(self, corpus: datasets.DatasetDict) -> datasets.DatasetDict:
        """BIO data written in IOB1 (I- opening an entity) read as IOB2, which the CRF's
        transition constraints and entity scores expect; the log says how many tags changed."""
        tags = {tag for split in corpus.values() for seq in split["tags"] for tag in seq}
        if not uses_bio(self.data_config.tag_scheme, tags):
            return corpus
        for name, split in corpus.items():
            changed = iob1_tags(split["tags"])
            if changed:
                logger.info(
                    "%s: %d I- tags open an entity (IOB1): read as B- tags (IOB2)", name, changed
                )
                corpus[name] = split.map(
                    lambda batch: {"tags": [to_iob2(tags) for tags in batch["tags"]]},
                    batched=True, desc=f"IOB1 -> IOB2 {name}",
                )  # fmt: skip
        return corpus

    def _split_tags(self) -> list[list[str]]:
        # Tags seen only in validation still get an output, so validation can be scored.
        corpus = self._require_corpus()
        return list(corpus["train"]["tags"]) + list(corpus["validation"]["tags"])

    def _build_vocab(self) -> TaggingVocab:
        config = self.data_config
        vocab = TaggingVocab.build(
            self._require_corpus()["train"]["tokens"], self._split_tags(), config.min_word_count,
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
            self.corpus = self._load_corpus()
        return self.corpus
