"""LightningDataModule for translation: corpus -> cleaning -> sentencepiece -> token batches.

`prepare_data` loads and cleans the corpus and trains the tokenizer once (a run that finds its
tokenizer already saved reuses it, as `--resume` and other DDP ranks must); `setup` encodes the
splits (cached by `datasets`). Both are idempotent, so the run can call them before the Trainer
does: the model needs the vocabulary sizes before it can be built.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import datasets
import lightning as L
from torch.utils.data import DataLoader

from nmt.config import DataConfig, TokenizerConfig
from nmt.data.batching import collate_translation, example_lengths, token_batch_loader
from nmt.data.corpus import clean_corpus, load_parallel_corpus
from nmt.data.tokenizer import SubwordTokenizer, encode_corpus
from nmt.errors import NmtError

logger = logging.getLogger(__name__)

BATCH_COLUMNS = ["src_ids", "tgt_ids", "index"]


def hold_out_validation(
    corpus: datasets.DatasetDict, size: int, seed: int, where: str, unit: str
) -> None:
    """Move up to `size` (at most a tenth) of the training examples to a validation split."""
    size = min(size, corpus["train"].num_rows // 10)
    if size < 1:
        raise NmtError(
            f"{where}: the corpus has no validation split and too few training {unit} to hold "
            "some out"
        )
    held_out = corpus["train"].train_test_split(test_size=size, seed=seed)
    corpus["train"], corpus["validation"] = held_out["train"], held_out["test"]
    logger.info("no validation split: held out %d training %s for validation", size, unit)


class TranslationDataModule(L.LightningDataModule):
    def __init__(
        self, data: DataConfig, tokenizer: TokenizerConfig, tokenizer_dir: Path, seed: int = 0
    ) -> None:
        super().__init__()
        self.data_config = data
        self.tokenizer_config = tokenizer
        self.tokenizer_dir = Path(tokenizer_dir)
        self.seed = seed
        self.corpus: datasets.DatasetDict | None = None
        self.tokenizer: SubwordTokenizer | None = None
        self.encoded: dict[str, datasets.Dataset] = {}
        self.lengths: dict[str, list[int]] = {}

    @property
    def validation_references(self) -> list[str]:
        """Raw target sentences of the validation split, in dataset order."""
        return list(self._require_corpus()["validation"]["tgt"])

    def prepare_data(self) -> None:
        if self.corpus is None:
            self.corpus = self._load_corpus()
        if self.tokenizer is None:
            self.tokenizer = self._train_or_load_tokenizer()

    def setup(self, stage: str | None = None) -> None:
        self.prepare_data()
        if self.encoded:
            return
        encoded = encode_corpus(self._require_corpus(), self.tokenizer)
        for name, split in encoded.items():
            split = split.map(
                lambda batch, indices: {"index": indices},
                with_indices=True,
                batched=True,
                desc=f"indexing {name}",
            )
            self.lengths[name] = example_lengths(
                [len(ids) for ids in split["src_ids"]], [len(ids) for ids in split["tgt_ids"]]
            )
            self.encoded[name] = split.select_columns(BATCH_COLUMNS)

    def train_dataloader(self) -> DataLoader:
        return self._loader(
            "train", self.data_config.batch_tokens, True, self.data_config.batch_sentences
        )

    def val_dataloader(self) -> DataLoader:
        return self._loader("validation", self.data_config.valid_batch_tokens, shuffle=False)

    def _loader(
        self, split: str, max_tokens: int, shuffle: bool, max_sentences: int | None = None
    ) -> DataLoader:
        return token_batch_loader(
            self.encoded[split], self.lengths[split], max_tokens, collate_translation, shuffle,
            self.seed, self.trainer, self.data_config.num_workers, max_sentences,
        )  # fmt: skip

    def _load_corpus(self) -> datasets.DatasetDict:
        config = self.data_config
        corpus = load_parallel_corpus(
            config.format,
            config.path,
            config.src_lang,
            config.tgt_lang,
            split_files=config.splits,
            hub_config=config.hub_config,
        )
        corpus, stats = clean_corpus(corpus, config.max_length, config.max_ratio)
        if "validation" not in corpus:
            hold_out_validation(corpus, config.validation_size, self.seed, config.path, "pairs")
        if corpus["train"].num_rows == 0:
            raise NmtError(
                f"{config.path}: no training pairs left after cleaning ({stats['train']})"
            )
        return corpus

    def _train_or_load_tokenizer(self) -> SubwordTokenizer:
        config = self.tokenizer_config
        if any(self.tokenizer_dir.glob("*.model")):
            return SubwordTokenizer.load(self.tokenizer_dir)
        if os.environ.get("LOCAL_RANK", "0") != "0":  # DDP: rank 0 trains it; the others wait
            while not any(self.tokenizer_dir.glob("*.model")):
                time.sleep(1)
            time.sleep(1)
            return SubwordTokenizer.load(self.tokenizer_dir)
        train = self._require_corpus()["train"]
        kind = f"{config.model_type}, {config.vocab_size} pieces{', joint' if config.joint else ''}"
        logger.info("training sentencepiece (%s) on %d pairs", kind, train.num_rows)
        staging = self.tokenizer_dir.with_name(self.tokenizer_dir.name + ".tmp")
        tokenizer = SubwordTokenizer.train(
            train["src"],
            train["tgt"],
            staging,
            vocab_size=config.vocab_size,
            model_type=config.model_type,
            joint=config.joint,
            character_coverage=config.character_coverage,
            seed=self.seed,
        )
        staging.rename(self.tokenizer_dir)  # appears whole, never half-written
        return tokenizer

    def _require_corpus(self) -> datasets.DatasetDict:
        if self.corpus is None:
            raise RuntimeError("call prepare_data() first")
        return self.corpus
