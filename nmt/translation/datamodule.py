"""LightningDataModule for translation: corpus -> cleaning -> sentencepiece -> token batches.

`prepare_data` trains the tokenizer into the run directory once (Lightning calls it on one process
per node and holds the others at a barrier until it is done; a run that finds its tokenizer saved,
as `--resume` does, reuses it); `setup` loads the corpus and tokenizer on every process and encodes
the splits (cached by `datasets`). Both are idempotent.

Built to stay flat as the corpus grows: sentencepiece learns from a sample of at most
`tokenizer.train_pairs` pairs, read a batch at a time; the trained tokenizer is kept beside the
corpus's `datasets` cache, so a second run on the same data and settings copies it instead of
training again, and finds its encoding cached too; lengths come from the Arrow table as arrays.
Each step is timed (with its peak memory) in `phases`, which the engine writes to
RUN/logs/phases.json.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
from pathlib import Path

import datasets
import lightning as L
import numpy as np
from torch.utils.data import DataLoader

from nmt.data.batching import list_lengths, token_batch_loader
from nmt.data.derived import column_texts, derived_cache_dir, sample_rows, store_copy
from nmt.data.pieces import TRAINER_OPTIONS
from nmt.data.splits import hold_out_validation
from nmt.engine.phases import PhaseLog
from nmt.errors import NmtError
from nmt.translation.align import TermDictionary
from nmt.translation.batch import (
    SampledSegmentation,
    TermSampler,
    collate_translation,
    example_lengths,
)
from nmt.translation.config import DataConfig, TokenizerConfig
from nmt.translation.corpus import clean_corpus, load_parallel_corpus
from nmt.translation.glossary import TERM_COLUMNS, TrainingTermColumns
from nmt.translation.vocab import SubwordTokenizer, encode_corpus

logger = logging.getLogger(__name__)

BATCH_COLUMNS = ["src_ids", "tgt_ids", "index"]


class TranslationDataModule(L.LightningDataModule):
    def __init__(
        self, data: DataConfig, tokenizer: TokenizerConfig, tokenizer_dir: Path, seed: int = 0
    ) -> None:
        super().__init__()
        if tokenizer.sampling_alpha is not None and data.term_dictionary is not None:
            raise NmtError("tokenizer.sampling_alpha and data.term_dictionary cannot be combined: "
                           "pseudo-glossaries are found in each pair's one best segmentation, "
                           "which sampled segmentations would not match (use one or the other)")
        self.data_config = data
        self.tokenizer_config = tokenizer
        self.tokenizer_dir = Path(tokenizer_dir)
        self.seed = seed
        self.corpus: datasets.DatasetDict | None = None
        self.tokenizer: SubwordTokenizer | None = None
        self.encoded: dict[str, datasets.Dataset] = {}
        self.lengths: dict[str, np.ndarray] = {}
        self._references: list[str] | None = None
        self.phases = PhaseLog()

    @property
    def validation_references(self) -> list[str]:
        """Raw target sentences of the validation split, in dataset order."""
        if self._references is None:
            self._references = list(self._require_corpus()["validation"]["tgt"])
        return self._references

    def prepare_data(self) -> None:
        if self.tokenizer is None and not self._tokenizer_saved():
            self.tokenizer = self._train_tokenizer()

    def setup(self, stage: str | None = None) -> None:
        if self.encoded:
            return
        if self.tokenizer is None:
            if not self._tokenizer_saved():
                raise RuntimeError("call prepare_data() first: there is no tokenizer yet")
            self.tokenizer = SubwordTokenizer.load(self.tokenizer_dir)
        corpus = self._require_corpus()
        with self.phases.phase("encoding"):
            self._encode(corpus)

    def _encode(self, corpus: datasets.DatasetDict) -> None:
        for name, split in encode_corpus(corpus, self.tokenizer).items():
            self.lengths[name] = example_lengths(
                list_lengths(split, "src_ids"), list_lengths(split, "tgt_ids")
            )
            columns = BATCH_COLUMNS
            if name == "train" and self.data_config.term_dictionary is not None:
                split = split.map(
                    TrainingTermColumns(self.tokenizer, self._term_dictionary().targets_of),
                    batched=True, desc="finding pseudo-glossary terms",
                )  # fmt: skip
                columns = BATCH_COLUMNS + list(TERM_COLUMNS)
            if name == "train" and self.tokenizer_config.sampling_alpha is not None:
                columns = [*columns, "src", "tgt"]  # segmented anew for every batch
            self.encoded[name] = split.select_columns(columns)

    def train_dataloader(self) -> DataLoader:
        config = self.data_config
        collate = collate_translation
        sampling = self.tokenizer_config
        if sampling.sampling_alpha is not None:
            collate = SampledSegmentation(self.tokenizer, sampling.sampling_alpha,
                                          sampling.sampling_nbest, self.seed)  # fmt: skip
        if config.term_dictionary is not None:
            collate = TermSampler(config.term_rate, config.max_terms, config.term_swap, self.seed,
                                  *self.tokenizer.target_word_pieces())  # fmt: skip
        return self._loader("train", config.batch_tokens, True, config.batch_sentences, collate)

    def _term_dictionary(self) -> TermDictionary:
        dictionary = TermDictionary.read(self.data_config.term_dictionary)
        logger.info("pseudo-glossaries from %s (%d translations of %d source words)",
                    self.data_config.term_dictionary, len(dictionary),
                    len(dictionary.translations))  # fmt: skip
        return dictionary

    def val_dataloader(self) -> DataLoader:
        return self._loader("validation", self.data_config.valid_batch_tokens, shuffle=False)

    def _loader(
        self, split: str, max_tokens: int, shuffle: bool, max_sentences: int | None = None,
        collate=collate_translation,
    ) -> DataLoader:  # fmt: skip
        return token_batch_loader(
            self.encoded[split], self.lengths[split], max_tokens, collate, shuffle,
            self.seed, self.trainer, self.data_config.num_workers, max_sentences,
        )  # fmt: skip

    def _load_corpus(self) -> datasets.DatasetDict:
        with self.phases.phase("corpus"):
            return self._read_and_clean()

    def _read_and_clean(self) -> datasets.DatasetDict:
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

    def _tokenizer_saved(self) -> bool:
        return any(self.tokenizer_dir.glob("*.model"))

    def _train_tokenizer(self) -> SubwordTokenizer:
        """Train the tokenizer into the run directory, or copy the one an earlier run trained on
        the same cleaned training split with the same settings."""
        config = self.tokenizer_config
        train = self._require_corpus()["train"]
        settings = dataclasses.asdict(config)
        for training_only in ("sampling_alpha", "sampling_nbest"):
            settings.pop(training_only)
        cache = derived_cache_dir(
            train, "tokenizer", {**settings, "seed": self.seed, "options": TRAINER_OPTIONS}
        )  # fmt: skip
        staging = self.tokenizer_dir.with_name(self.tokenizer_dir.name + ".tmp")
        with self.phases.phase("tokenizer"):
            if cache is not None and any(cache.glob("*.model")):
                logger.info("tokenizer: the one trained on this corpus with these settings "
                            "before (%s)", cache)  # fmt: skip
                shutil.rmtree(staging, ignore_errors=True)
                shutil.copytree(cache, staging)
                tokenizer = SubwordTokenizer.load(staging)
            else:
                tokenizer = self._train_sentencepiece(train, staging)
                if cache is not None:
                    store_copy(staging, cache)
        staging.rename(self.tokenizer_dir)  # appears whole, never half-written
        return tokenizer

    def _train_sentencepiece(self, train: datasets.Dataset, out_dir: Path) -> SubwordTokenizer:
        config = self.tokenizer_config
        sample = sample_rows(train, config.train_pairs, self.seed)
        kind = f"{config.model_type}, {config.vocab_size} pieces{', joint' if config.joint else ''}"
        logger.info("training sentencepiece (%s) on %d of %d pairs", kind, sample.num_rows,
                    train.num_rows)  # fmt: skip
        # Generators, so that a corpus of millions of sentences is read a batch at a time.
        src_texts, tgt_texts = column_texts(sample, "src"), column_texts(sample, "tgt")
        return SubwordTokenizer.train(
            src_texts,
            tgt_texts,
            out_dir,
            vocab_size=config.vocab_size,
            model_type=config.model_type,
            joint=config.joint,
            character_coverage=config.character_coverage,
            seed=self.seed,
        )

    def _require_corpus(self) -> datasets.DatasetDict:
        if self.corpus is None:
            self.corpus = self._load_corpus()
        return self.corpus
