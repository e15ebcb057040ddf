"""Translation examples as tensors: padded source and shifted target batches, and for a model
with a glossary memory the batch's memory slots (pseudo-glossary entries sampled per batch)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
import sentencepiece
import torch

from nmt.data.batching import RandomCollate
from nmt.data.special import BOS_ID, EOS_ID, PAD_ID
from nmt.data.term_slots import GlossarySlots, collate_slots
from nmt.errors import NmtError


def example_lengths(
    src_ids_lengths: Sequence[int] | np.ndarray, tgt_ids_lengths: Sequence[int] | np.ndarray
) -> np.ndarray:
    """Padded row width each example needs: max(src, tgt + 1), as tgt_in/tgt_out add BOS/EOS."""
    if len(src_ids_lengths) != len(tgt_ids_lengths):
        raise NmtError(
            f"{len(src_ids_lengths)} source lengths but {len(tgt_ids_lengths)} target lengths"
        )
    src = np.asarray(src_ids_lengths, dtype=np.int64)
    tgt = np.asarray(tgt_ids_lengths, dtype=np.int64)
    return np.maximum(src, tgt + 1)


class TranslationBatch(NamedTuple):
    """A padded batch, in dataset order within the batch (packing uses enforce_sorted=False)."""

    src: torch.Tensor  # [B, S] long, PAD_ID padded; ends with EOS (from encode_src)
    src_lengths: torch.Tensor  # [B] long
    tgt_in: torch.Tensor  # [B, T] long: BOS + tgt_ids, PAD_ID padded
    tgt_out: torch.Tensor  # [B, T] long: tgt_ids + EOS, PAD_ID padded
    index: torch.Tensor | None = None  # [B] long: each example's "index" field, when it has one
    glossary: GlossarySlots | None = None  # glossary memory slots (TermSampler)
    # [B, T] bool: target tokens that a pseudo-glossary swap put in the reference (TermSampler):
    # only copying can get them, so the output layer alone is not trained on them
    invented: torch.Tensor | None = None


def collate_translation(examples: Sequence[Mapping[str, Sequence[int]]]) -> TranslationBatch:
    """Pad examples with "src_ids" and "tgt_ids" into a TranslationBatch.

    An optional "index" field (e.g. added with `dataset.map(..., with_indices=True)`) is carried
    along so that outputs can be matched to their reference text.
    """
    src, src_lengths = pad_sources([example["src_ids"] for example in examples])
    tgt = [torch.as_tensor(example["tgt_ids"], dtype=torch.long) for example in examples]
    bos, eos = torch.tensor([BOS_ID]), torch.tensor([EOS_ID])
    pad = torch.nn.utils.rnn.pad_sequence
    index = None
    if examples and "index" in examples[0]:
        index = torch.tensor([example["index"] for example in examples], dtype=torch.long)
    return TranslationBatch(
        src=src,  # [B, S]
        src_lengths=src_lengths,  # [B]
        tgt_in=pad([torch.cat([bos, ids]) for ids in tgt], batch_first=True, padding_value=PAD_ID),
        tgt_out=pad([torch.cat([ids, eos]) for ids in tgt], batch_first=True, padding_value=PAD_ID),
        index=index,
    )


class TermSampler(RandomCollate):
    """Collates training batches with glossary memory. Each sentence with candidate entries
    (the columns of nmt.translation.glossary.TrainingTermColumns) gets, with probability `rate`,
    a random 1 to `max_terms` of them as memory; the others get none, so the model learns to
    trust the memory without depending on it. A share `swap` of the chosen entries has its
    target term replaced, in the memory and in the reference alike, by another term of the
    batch, two of them, or a made-up word (terms of more pieces): the output layer cannot
    guess those, only copying gets them right, which is what teaches the model to follow a
    glossary that asks for something it would not say."""

    def __init__(
        self,
        rate: float,
        max_terms: int,
        swap: float = 0.0,
        seed: int = 0,
        word_starts: Sequence[int] = (),
        continuations: Sequence[int] = (),
    ) -> None:
        """`word_starts` and `continuations`: target piece ids that begin a word and that go on
        one; with both, a third of the swaps is a made-up word of 2 to 6 such pieces (a term
        the model has never seen, as a user's glossary may hold)."""
        super().__init__(seed)
        self.rate = rate
        self.max_terms = max_terms
        self.swap = swap
        self.word_starts = list(word_starts)
        self.continuations = list(continuations)

    def _replacement(self, pool: list[list[int]]) -> list[int]:
        kind = self.random.randrange(3 if self.word_starts and self.continuations else 2)
        if kind == 0:
            return self.random.choice(pool)
        if kind == 1:  # a two-word term
            return self.random.choice(pool) + self.random.choice(pool)
        length = self.random.randint(1, 5)
        return [self.random.choice(self.word_starts),
                *(self.random.choice(self.continuations) for _ in range(length))]  # fmt: skip

    def __call__(self, examples: Sequence[Mapping[str, Sequence]]) -> TranslationBatch:
        pool = [list(ids) for example in examples for ids in example["term_ids"]]
        rows, entries, invented = [], [], []
        for example in examples:
            tgt_ids = list(example["tgt_ids"])
            swapped = [False] * len(tgt_ids)  # spliced with tgt_ids, so it follows every swap
            chosen = []
            candidates = list(zip(example["term_starts"], example["term_ends"],
                                  example["term_ids"], example["term_target_starts"]))  # fmt: skip
            if candidates and self.random.random() < self.rate:
                count = self.random.randint(1, min(self.max_terms, len(candidates)))
                taken: set[int] = set()
                # Right to left, so that a swap of different length keeps earlier positions.
                picked = sorted(self.random.sample(candidates, count), key=lambda c: -c[3])
                for start, end, ids, target_start in picked:
                    ids = list(ids)
                    if target_start >= 0:
                        if target_start in taken:  # two source words, one target word
                            continue
                        taken.add(target_start)
                        if self.random.random() < self.swap:
                            new = self._replacement(pool)
                            span = slice(target_start, target_start + len(ids))
                            tgt_ids[span] = new
                            # A swap may draw the same term again: then nothing is invented.
                            swapped[span] = [new != ids] * len(new)
                            ids = new
                    chosen.append((start, end, ids))
            rows.append({**example, "tgt_ids": tgt_ids})
            entries.append(sorted(chosen))
            invented.append(swapped)
        batch = collate_translation(rows)
        # tgt_out is tgt_ids + EOS, padded: a token keeps its position in tgt_ids.
        width = batch.tgt_out.size(1)
        mask = torch.tensor([swapped + [False] * (width - len(swapped)) for swapped in invented],
                            dtype=torch.bool).reshape(batch.tgt_out.shape)  # fmt: skip
        return batch._replace(
            glossary=collate_slots(entries, batch.src.size(1), PAD_ID), invented=mask
        )


class SampledSegmentation(RandomCollate):
    """Collates training batches with a fresh random segmentation of each pair's raw text
    ("src", "tgt"): subword regularisation, so every epoch sees new pieces for the same words."""

    def __init__(self, tokenizer, alpha: float, nbest: int = -1, seed: int = 0) -> None:
        super().__init__(seed)
        self.tokenizer = tokenizer
        self.alpha = alpha
        self.nbest = nbest

    def __call__(self, examples: Sequence[Mapping[str, Sequence]]) -> TranslationBatch:
        # sentencepiece's generator restarts from its seed in every call: a new seed each time.
        sentencepiece.set_random_generator_seed(self.random.randrange(1, 2**31))
        sources = self.tokenizer.sample_src([e["src"] for e in examples], self.alpha, self.nbest)
        sentencepiece.set_random_generator_seed(self.random.randrange(1, 2**31))
        targets = self.tokenizer.sample_tgt([e["tgt"] for e in examples], self.alpha, self.nbest)
        return collate_translation([
            {**example, "src_ids": src_ids, "tgt_ids": tgt_ids}
            for example, src_ids, tgt_ids in zip(examples, sources, targets)
        ])  # fmt: skip


def pad_sources(rows: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Source id rows (each ending with EOS) -> src `[B, S]` PAD_ID padded, src_lengths `[B]`."""
    src = [torch.as_tensor(row, dtype=torch.long) for row in rows]
    lengths = torch.tensor([len(row) for row in src], dtype=torch.long)
    return torch.nn.utils.rnn.pad_sequence(src, batch_first=True, padding_value=PAD_ID), lengths
