"""Token-budget batches of similar-length examples, sharded evenly across DDP ranks.

Bucketing by length keeps padding low; a budget in tokens, not sentences, keeps step memory even.
"""

import random
from collections.abc import Iterator, Sequence

import datasets
import numpy as np
import pyarrow.compute as pc
import torch

from nmt.errors import NmtError


def list_lengths(split: datasets.Dataset, column: str) -> np.ndarray:
    """The length of every row's list in `column` (ids, tokens), read from the Arrow table: no
    Python lists, so a corpus of millions of rows stays out of the heap."""
    table = split.with_format("arrow")[:]  # zero-copy unless rows were selected
    return pc.list_value_length(table[column]).to_numpy(zero_copy_only=False).astype(np.int64)


class TokenBatchSampler(torch.utils.data.Sampler[list[int]]):
    """Batches of similar-length examples, each holding at most max_tokens tokens including padding
    (and, if given, at most max_sentences examples).

    len(batch) * max length in batch <= max_tokens; an example longer than max_tokens gets a batch
    of its own. With shuffle, indices are shuffled from seed + epoch, cut into chunks of bucket_size
    examples, each chunk is sorted by length and packed, and the batch order is shuffled; without it
    (validation), all examples are packed longest first in a fixed order. Every rank of num_replicas
    gets the same number of batches, and each example is in exactly one rank's batches per epoch.
    Pass it to a DataLoader as `batch_sampler`; call `set_epoch` before each epoch (Lightning does).
    """

    def __init__(
        self,
        lengths: Sequence[int] | np.ndarray,
        max_tokens: int,
        shuffle: bool = True,
        seed: int = 0,
        num_replicas: int = 1,
        rank: int = 0,
        bucket_size: int = 16_384,  # larger: less padding; smaller: more varied batches
        max_sentences: int | None = None,
    ):
        if max_tokens < 1 or bucket_size < 1 or (max_sentences is not None and max_sentences < 1):
            raise NmtError(
                "max_tokens, max_sentences and bucket_size must be >= 1, got "
                f"{max_tokens}, {max_sentences} and {bucket_size}"
            )
        if len(lengths) < num_replicas:
            raise NmtError(
                f"{len(lengths)} examples cannot be shared among {num_replicas} replicas"
            )
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank {rank} is outside 0..{num_replicas - 1}")
        self.lengths = np.maximum(np.asarray(lengths, dtype=np.int64), 1)
        self.max_tokens = max_tokens
        self.shuffle = shuffle
        self.seed = seed
        self.num_replicas = num_replicas
        self.rank = rank
        self.bucket_size = bucket_size
        self.max_sentences = max_sentences
        self.epoch = 0
        self._cached_epoch: int | None = None
        self._cached_batches: list[np.ndarray] = []

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch the next `__iter__` yields (its shuffle seed is seed + epoch)."""
        self.epoch = epoch

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self._rank_batches():
            yield batch.tolist()

    def __len__(self) -> int:
        """Exact number of batches this rank yields in the current epoch."""
        return len(self._rank_batches())

    def _rank_batches(self) -> list[np.ndarray]:
        """This rank's batches for the current epoch, computed once per epoch (index arrays, not
        lists: a corpus of millions of examples would spend hundreds of MB on Python ints)."""
        if self._cached_epoch != self.epoch:
            batches = self._all_batches()
            batches = _even_out(batches, self.num_replicas)
            self._cached_batches = batches[self.rank :: self.num_replicas]
            self._cached_epoch = self.epoch
        return self._cached_batches

    def _all_batches(self) -> list[np.ndarray]:
        """Batches of all ranks: bucketed and shuffled, or longest first when not shuffling."""
        if not self.shuffle:
            order = np.argsort(-self.lengths, kind="stable")
            return _pack(order, self.lengths, self.max_tokens, self.max_sentences)
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        permutation = torch.randperm(len(self.lengths), generator=generator).numpy()
        batches = []
        for start in range(0, len(permutation), self.bucket_size):
            chunk = permutation[start : start + self.bucket_size]
            # Stable sort keeps the random order among equal lengths.
            chunk = chunk[np.argsort(-self.lengths[chunk], kind="stable")]
            batches.extend(_pack(chunk, self.lengths, self.max_tokens, self.max_sentences))
        batch_order = torch.randperm(len(batches), generator=generator).tolist()
        return [batches[i] for i in batch_order]


def _pack(
    order: np.ndarray, lengths: np.ndarray, max_tokens: int, max_sentences: int | None = None
) -> list[np.ndarray]:
    """Cut indices sorted longest first into maximal batches under the budget.

    The first example of each batch is its longest, so the batch takes max_tokens // that length
    (and no more than max_sentences).
    """
    batches = []
    start = 0
    while start < len(order):
        size = max(1, max_tokens // int(lengths[order[start]]))
        if max_sentences is not None:
            size = min(size, max_sentences)
        batches.append(order[start : start + size])
        start += size
    return batches


def _even_out(batches: list[np.ndarray], num_replicas: int) -> list[np.ndarray]:
    """Make the batch count a multiple of num_replicas, so that DDP ranks step in lockstep.

    Splits the largest batches in two; only when too few examples remain to split (nearly every
    example alone) does it merge the smallest batches instead, which may exceed the budget.
    """
    batches = list(batches)
    example_count = sum(len(batch) for batch in batches)
    target = -(-len(batches) // num_replicas) * num_replicas
    if target > example_count:
        target -= num_replicas
    while len(batches) < target:
        largest = max(range(len(batches)), key=lambda i: len(batches[i]))
        batch = batches[largest]
        half = len(batch) // 2
        batches[largest : largest + 1] = [batch[:half], batch[half:]]
    while len(batches) > target:
        smallest = sorted(range(len(batches)), key=lambda i: len(batches[i]))[:2]
        first, second = sorted(smallest)
        batches[first] = np.concatenate([batches[first], batches.pop(second)])
    return batches


def token_batch_loader(
    dataset: torch.utils.data.Dataset,
    lengths: Sequence[int] | np.ndarray,
    max_tokens: int,
    collate_fn,
    shuffle: bool,
    seed: int,
    trainer=None,
    num_workers: int = 0,
    max_sentences: int | None = None,
) -> torch.utils.data.DataLoader:
    """A DataLoader of TokenBatchSampler batches, sharded over the trainer's ranks (if any)."""
    sampler = TokenBatchSampler(
        lengths,
        max_tokens,
        shuffle=shuffle,
        seed=seed,
        num_replicas=trainer.world_size if trainer else 1,
        rank=trainer.global_rank if trainer else 0,
        max_sentences=max_sentences,
    )
    return torch.utils.data.DataLoader(
        dataset,
        batch_sampler=sampler,
        collate_fn=collate_fn,
        num_workers=num_workers,
        persistent_workers=num_workers > 0,
    )


def length_batches(
    ids: Sequence[Sequence[int]], batch_size: int, batch_tokens: int | None = None
) -> Iterator[list[int]]:
    """Indices of the non-empty rows, sorted by length and grouped so that a batch holds at most
    batch_size rows and (if given) batch_tokens padded tokens."""
    order = sorted((i for i, row in enumerate(ids) if row), key=lambda i: len(ids[i]))
    batch: list[int] = []
    for i in order:
        too_many = len(batch) >= batch_size
        too_wide = batch_tokens is not None and (len(batch) + 1) * len(ids[i]) > batch_tokens
        if batch and (too_many or too_wide):
            yield batch
            batch = []
        batch.append(i)
    if batch:
        yield batch


class RandomCollate:
    """Base of training collate functions that draw at random (noise, sampled segmentations,
    pseudo-glossaries). `self.random` is the stream of `seed` in the main process and, in each
    DataLoader worker, a stream of its own: workers hold copies of the collate function, and
    copies of one generator would draw the same numbers in every worker."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._streams: dict[int | None, random.Random] = {}

    @property
    def random(self) -> random.Random:
        info = torch.utils.data.get_worker_info()
        worker = None if info is None else info.id
        if worker not in self._streams:
            seed = self.seed if worker is None else f"{self.seed} worker {worker}"
            self._streams[worker] = random.Random(seed)
        return self._streams[worker]
