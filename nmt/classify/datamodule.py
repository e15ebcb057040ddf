"""LightningDataModule for classification: labelled texts -> vocabulary -> token ids -> batches.

`prepare_data` builds the vocabulary (words or sentencepiece pieces, and the labels) once and
saves it in the run directory (one process per node; a resumed run reuses it); `setup` loads it
on every process and encodes the splits. Both are idempotent.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import datasets
import lightning as L
import numpy as np
from torch.utils.data import DataLoader

from nmt.classify.batch import collate_texts
from nmt.classify.config import ClassifyDataConfig
from nmt.classify.corpus import load_labelled_corpus
from nmt.classify.vocab import VOCAB_FILE, ClassifyVocab
from nmt.data.batching import list_lengths, token_batch_loader
from nmt.data.splits import hold_out_validation
from nmt.errors import NmtError

logger = logging.getLogger(__name__)


class ClassifyDataModule(L.LightningDataModule):
    def __init__(self, data: ClassifyDataConfig, run_dir: Path, seed: int = 0) -> None:
        super().__init__()
        self.data_config = data
        self.run_dir = Path(run_dir)
        self.seed = seed
        self.corpus: datasets.DatasetDict | None = None
        self.vocab: ClassifyVocab | None = None
        self.encoded: dict[str, datasets.Dataset] = {}
        self.lengths: dict[str, np.ndarray] = {}

    @property
    def validation_labels(self) -> list[str]:
        """Gold labels of the validation split, in dataset order."""
        return list(self._require_corpus()["validation"]["label"])

    def label_counts(self) -> Counter[str]:
        """How often each label occurs in training (for class weights)."""
        return Counter(self._require_corpus()["train"]["label"])

    def prepare_data(self) -> None:
        if self.vocab is None and not (self.run_dir / VOCAB_FILE).is_file():
            self.vocab = self._build_vocab()

    def setup(self, stage: str | None = None) -> None:
        if self.encoded:
            return
        if self.vocab is None:
            if not (self.run_dir / VOCAB_FILE).is_file():
                raise RuntimeError("call prepare_data() first: there is no vocabulary yet")
            self.vocab = ClassifyVocab.load(self.run_dir)
        vocab, max_length = self.vocab, self.data_config.max_length

        def encode(example: dict, index: int) -> dict:
            encoded = vocab.encode(example["text"], max_length)
            return {"token_ids": encoded.token_ids, "char_ids": encoded.char_ids,
                    "label_id": vocab.label_id(example["label"]), "index": index}  # fmt: skip

        for name, split in self._require_corpus().items():
            self.encoded[name] = split.map(
                encode, with_indices=True, remove_columns=split.column_names,
                desc=f"encoding {name}",
            )  # fmt: skip
            self.lengths[name] = list_lengths(self.encoded[name], "token_ids")

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", self.data_config.batch_tokens, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("validation", self.data_config.valid_batch_tokens, shuffle=False)

    def _loader(self, split: str, max_tokens: int, shuffle: bool) -> DataLoader:
        return token_batch_loader(
            self.encoded[split], self.lengths[split], max_tokens, collate_texts, shuffle,
            self.seed, self.trainer, self.data_config.num_workers,
        )  # fmt: skip

    def _load_corpus(self) -> datasets.DatasetDict:
        config = self.data_config
        if "train" not in config.splits:
            raise NmtError("data.splits must name a train split")
        splits = {s: n for s, n in config.splits.items() if s in ("train", "validation")}
        corpus = load_labelled_corpus(
            config.format, config.path, splits, config.text_column, config.label_column,
            hub_config=config.hub_config,
        )  # fmt: skip
        if "validation" not in corpus:
            hold_out_validation(corpus, config.validation_size, self.seed, config.path, "texts")
        return corpus

    def _build_vocab(self) -> ClassifyVocab:
        config, train = self.data_config, self._require_corpus()["train"]
        vocab = ClassifyVocab.build(
            train["text"], list(train["label"]) + self.validation_labels, config.units,
            lowercase_words=config.lowercase_words, min_word_count=config.min_word_count,
            max_word_chars=config.max_word_chars, vocab_size=config.vocab_size, seed=self.seed,
        )  # fmt: skip
        vocab.save(self.run_dir)
        logger.info("vocabulary: %d %s, %d labels (%s)", vocab.size, vocab.units,
                    len(vocab.labels), ", ".join(vocab.labels[:10]))  # fmt: skip
        return vocab

    def _require_corpus(self) -> datasets.DatasetDict:
        if self.corpus is None:
            self.corpus = self._load_corpus()
        return self.corpus
