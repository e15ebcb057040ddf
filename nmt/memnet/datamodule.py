"""LightningDataModule for the memory-network reader: story files -> vocabularies -> id arrays ->
batches. `prepare_data` writes the generated task into RUN/data when there is no data.path, and
builds the vocabularies into RUN/vocab.json (one process per node; a resumed run reuses both);
`setup` loads them on every process and encodes the splits."""

from __future__ import annotations

import logging
from pathlib import Path

import datasets
import lightning as L
from torch.utils.data import DataLoader

from nmt.data.batching import token_batch_loader
from nmt.errors import NmtError
from nmt.memnet.batch import NoisyStories, collate_stories, encode_story
from nmt.memnet.config import StoryDataConfig
from nmt.memnet.corpus import load_story_files, story_files
from nmt.memnet.synthetic import write_story_splits
from nmt.memnet.vocab import StoryVocab

logger = logging.getLogger(__name__)


class StoryDataModule(L.LightningDataModule):
    def __init__(
        self, data: StoryDataConfig, run_dir: Path, vocab_path: Path, seed: int = 0
    ) -> None:
        super().__init__()
        self.data_config = data
        self.files = story_files(data, run_dir)
        self.vocab_path = Path(vocab_path)
        self.seed = seed
        self.corpus: datasets.DatasetDict | None = None
        self.vocab: StoryVocab | None = None
        self.encoded: dict[str, datasets.Dataset] = {}
        self._validation_types: list[str] | None = None
        if "train" not in self.files:
            raise NmtError("data.splits must name a train file")

    def prepare_data(self) -> None:
        config = self.data_config
        folder = self.files["train"].parent
        if config.path is None and not folder.is_dir():
            staging = folder.with_name(folder.name + ".tmp")
            write_story_splits(staging, config.generate_sizes, config.generate_seed)
            staging.rename(folder)  # appears whole, never half-written
            logger.info("generated the story task into %s", folder)
        if self.vocab is None and not self.vocab_path.is_file():
            self.vocab = StoryVocab.build(self._require_corpus()["train"])
            self.vocab.save(self.vocab_path)

    def setup(self, stage: str | None = None) -> None:
        if self.encoded:
            return
        if self.vocab is None:
            if not self.vocab_path.is_file():
                raise RuntimeError("call prepare_data() first: there is no vocabulary yet")
            self.vocab = StoryVocab.load(self.vocab_path)
        vocab, max_sentences = self.vocab, self.data_config.max_sentences
        for name, split in self._require_corpus().items():
            self.encoded[name] = split.map(
                lambda example, index: {**encode_story(vocab, example, max_sentences),
                                        "index": index},
                with_indices=True, remove_columns=split.column_names, desc=f"encoding {name}",
            )  # fmt: skip

    @property
    def validation_types(self) -> list[str]:
        """Question type of each validation example ("all" when the file gives none)."""
        if self._validation_types is None:
            split = self._require_corpus()["validation"]
            types = split["type"] if "type" in split.column_names else ["all"] * split.num_rows
            self._validation_types = list(types)
        return self._validation_types

    def train_dataloader(self) -> DataLoader:
        config = self.data_config
        collate = collate_stories
        if config.random_noise:
            collate = NoisyStories(config.random_noise, config.max_sentences, self.seed)
        return self._loader("train", shuffle=True, collate=collate)

    def val_dataloader(self) -> DataLoader:
        return self._loader("validation", shuffle=False)

    def _loader(self, split: str, shuffle: bool, collate=collate_stories) -> DataLoader:
        dataset = self.encoded[split]
        return token_batch_loader(  # every example counts 1: batches of batch_size examples
            dataset, [1] * dataset.num_rows, self.data_config.batch_size, collate, shuffle,
            self.seed, self.trainer,
        )  # fmt: skip

    def _require_corpus(self) -> datasets.DatasetDict:
        """The training and validation examples (validation held out of the training file when
        there is no validation file)."""
        if self.corpus is None:
            config = self.data_config
            files = {s: self.files[s] for s in ("train", "validation") if s in self.files}
            self.corpus = load_story_files(files, config.format, config.validation_fraction,
                                           self.seed)  # fmt: skip
        return self.corpus
