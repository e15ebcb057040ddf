"""LightningDataModule for language models: text -> vocabulary -> ids -> chunks of parallel
streams (stream mode) or padded batches of lines (sentence mode).

`prepare_data` builds the vocabulary once and saves it in the run directory (one process per
node; a resumed run reuses it); `setup` loads it on every process and encodes the splits. Under
DDP each rank reads its own share of the parallel streams. Both are idempotent.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import datasets
import lightning as L
from torch.utils.data import DataLoader

from nmt.data.batching import token_batch_loader
from nmt.errors import NmtError
from nmt.lm.batch import StreamChunks, collate_lines, parallel_streams, stream_ids
from nmt.lm.config import LmDataConfig
from nmt.lm.corpus import load_text_corpus
from nmt.lm.vocab import VOCAB_FILE, LmVocab

logger = logging.getLogger(__name__)


class LmDataModule(L.LightningDataModule):
    def __init__(self, data: LmDataConfig, run_dir: Path, seed: int = 0) -> None:
        super().__init__()
        self.data_config = data
        self.run_dir = Path(run_dir)
        self.seed = seed
        self.corpus: datasets.DatasetDict | None = None
        self.vocab: LmVocab | None = None
        self.lines: dict[str, list[list[int]]] = {}  # ids of each line, per split

    def prepare_data(self) -> None:
        if self.vocab is None and not (self.run_dir / VOCAB_FILE).is_file():
            lines = self._require_corpus()["train"]["text"]
            self.vocab = LmVocab.build(
                lines, self.data_config.units, self.data_config.vocab_size, self.seed
            )
            self.vocab.save(self.run_dir)
            logger.info("vocabulary: %d %s", self.vocab.size, self.vocab.units)

    def setup(self, stage: str | None = None) -> None:
        if self.lines:
            return
        if self.vocab is None:
            if not (self.run_dir / VOCAB_FILE).is_file():
                raise RuntimeError("call prepare_data() first: there is no vocabulary yet")
            self.vocab = LmVocab.load(self.run_dir)
        for name, split in self._require_corpus().items():
            self.lines[name] = [self.vocab.encode(text) for text in split["text"]]

    def tokens(self, split: str) -> int:
        """How many tokens the split's targets hold (lines and their separators)."""
        return sum(len(line) + 1 for line in self.lines[split])

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", self.data_config.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("validation", self.data_config.valid_batch_size, shuffle=False)

    def _loader(self, split: str, streams: int, shuffle: bool) -> DataLoader:
        config, separator = self.data_config, self.vocab.separator_id
        if config.mode == "sentences":
            examples = [{"ids": ids} for ids in self.lines[split]]
            return token_batch_loader(
                examples, [len(ids) + 1 for ids in self.lines[split]], config.batch_tokens,
                functools.partial(collate_lines, separator=separator), shuffle, self.seed,
                self.trainer, config.num_workers,
            )  # fmt: skip
        world, rank = 1, 0
        if self.trainer is not None:
            world, rank = self.trainer.world_size, self.trainer.global_rank
        ids = stream_ids(self.lines[split], separator)
        if len(ids) - 1 < streams * world:
            raise NmtError(f"the {split} text ({len(ids)} tokens) is too short for {streams} "
                           f"streams on {world} processes")  # fmt: skip
        inputs, targets = parallel_streams(ids, streams * world)
        chunks = StreamChunks(inputs[rank::world], targets[rank::world], config.bptt)
        # The chunks must come in order: each continues the streams of the one before.
        return DataLoader(chunks, batch_size=None, shuffle=False, num_workers=config.num_workers)

    def _require_corpus(self) -> datasets.DatasetDict:
        if self.corpus is None:
            config = self.data_config
            self.corpus = load_text_corpus(
                config.format, config.path, config.splits, config.validation_tail,
                config.hub_config, config.text_column,
            )  # fmt: skip
        return self.corpus
