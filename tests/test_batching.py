import random

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nmt.data.batching import RandomCollate, TokenBatchSampler
from nmt.data.special import BOS_ID, EOS_ID, PAD_ID
from nmt.errors import NmtError
from nmt.translation.batch import TranslationBatch, collate_translation, example_lengths


def random_lengths(count: int, seed: int, longest: int = 60) -> list[int]:
    rng = random.Random(seed)
    return [rng.randint(1, longest) for _ in range(count)]


def all_ranks(lengths, num_replicas, epoch=0, **options) -> list[list[list[int]]]:
    """Each rank's batches for one epoch, as DDP would see them."""
    ranks = []
    for rank in range(num_replicas):
        sampler = TokenBatchSampler(lengths, num_replicas=num_replicas, rank=rank, **options)
        sampler.set_epoch(epoch)
        batches = list(sampler)
        assert len(sampler) == len(batches)
        ranks.append(batches)
    return ranks


def check_epoch(lengths, num_replicas, max_tokens, **options) -> None:
    """Every example once, equal batch counts, and the budget kept by every multi-example batch.

    The one exception: when nearly every example needs a batch of its own, the batch count can only
    become a multiple of num_replicas by merging, so up to num_replicas - 1 batches may be over.
    """
    ranks = all_ranks(lengths, num_replicas, max_tokens=max_tokens, **options)
    assert len({len(batches) for batches in ranks}) == 1
    batches = [batch for rank_batches in ranks for batch in rank_batches]
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
    assert all(batches)
    over = [b for b in batches if len(b) > 1 and len(b) * max(lengths[i] for i in b) > max_tokens]
    if len(batches) <= len(lengths) - num_replicas:
        assert not over
    assert len(over) < num_replicas


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("num_replicas", [1, 2, 3])
@pytest.mark.parametrize("shuffle", [True, False])
def test_epoch_covers_every_example_once_within_budget(seed, num_replicas, shuffle):
    lengths = random_lengths(1000 + 37 * seed, seed)
    check_epoch(lengths, num_replicas, max_tokens=200, shuffle=shuffle, seed=seed, bucket_size=128)


@settings(max_examples=150, deadline=None)
@given(
    lengths=st.lists(st.integers(1, 80), min_size=3, max_size=200),
    max_tokens=st.integers(1, 300),
    num_replicas=st.integers(1, 3),
    shuffle=st.booleans(),
    bucket_size=st.integers(1, 64),
    epoch=st.integers(0, 5),
)
def test_epoch_invariants_hold_for_any_lengths(
    lengths, max_tokens, num_replicas, shuffle, bucket_size, epoch
):
    options = dict(shuffle=shuffle, bucket_size=bucket_size, epoch=epoch)
    check_epoch(lengths, num_replicas, max_tokens, **options)


def test_example_longer_than_the_budget_gets_a_batch_of_its_own():
    lengths = [5, 500, 5, 5, 300, 5]
    batches = list(TokenBatchSampler(lengths, max_tokens=100))
    assert [1] in batches and [4] in batches
    assert sorted(i for batch in batches for i in batch) == list(range(6))


def test_every_rank_gets_a_batch_when_all_examples_are_too_long():
    lengths = [500] * 5  # 5 single-example batches cannot be split for 3 ranks: two are merged
    ranks = all_ranks(lengths, 3, max_tokens=100)
    assert [len(batches) for batches in ranks] == [1, 1, 1]
    assert sorted(i for batches in ranks for batch in batches for i in batch) == list(range(5))


def test_order_depends_on_seed_and_epoch_only():
    lengths = random_lengths(2000, seed=0)
    sampler = TokenBatchSampler(lengths, max_tokens=300, seed=3, bucket_size=256)
    epoch_0 = list(sampler)
    sampler.set_epoch(1)
    epoch_1 = list(sampler)
    assert epoch_0 != epoch_1
    # New batches, not just a new order of the same ones.
    assert sorted(map(sorted, epoch_0)) != sorted(map(sorted, epoch_1))
    again = TokenBatchSampler(lengths, max_tokens=300, seed=3, bucket_size=256)
    again.set_epoch(1)
    assert list(again) == epoch_1
    sampler.set_epoch(0)
    assert list(sampler) == epoch_0
    assert list(TokenBatchSampler(lengths, max_tokens=300, seed=4, bucket_size=256)) != epoch_0


def test_without_shuffle_batches_are_fixed_and_sorted_longest_first():
    lengths = random_lengths(500, seed=1)
    sampler = TokenBatchSampler(lengths, max_tokens=200, shuffle=False)
    batches = list(sampler)
    sampler.set_epoch(7)
    assert list(sampler) == batches
    flat = [lengths[i] for batch in batches for i in batch]
    assert flat == sorted(flat, reverse=True)


def test_bucketing_keeps_padding_low():
    lengths = random_lengths(5000, seed=2, longest=100)
    batches = list(TokenBatchSampler(lengths, max_tokens=2000, bucket_size=1000))
    real = sum(lengths)
    padded = sum(len(batch) * max(lengths[i] for i in batch) for batch in batches)
    assert real / padded > 0.9


def test_bad_arguments():
    with pytest.raises(NmtError, match="cannot be shared among 3 replicas"):
        TokenBatchSampler([4, 5], max_tokens=10, num_replicas=3)
    with pytest.raises(NmtError, match="max_tokens"):
        TokenBatchSampler([4, 5], max_tokens=0)
    with pytest.raises(ValueError, match="rank"):
        TokenBatchSampler([4, 5], max_tokens=10, num_replicas=2, rank=2)


def test_example_lengths_leave_room_for_bos_and_eos():
    assert example_lengths([5, 2, 4], [4, 6, 3]).tolist() == [5, 7, 4]
    with pytest.raises(NmtError):
        example_lengths([1, 2], [1])


def test_collate_pads_and_adds_bos_and_eos():
    examples = [
        {"src_ids": [11, 12, 3], "tgt_ids": [21]},
        {"src_ids": [13, 3], "tgt_ids": [22, 23, 24]},
    ]
    batch = collate_translation(examples)
    assert isinstance(batch, TranslationBatch)
    p, b, e = PAD_ID, BOS_ID, EOS_ID
    assert batch.src.tolist() == [[11, 12, 3], [13, 3, p]]  # dataset order kept, not sorted
    assert batch.src_lengths.tolist() == [3, 2]
    assert batch.tgt_in.tolist() == [[b, 21, p, p], [b, 22, 23, 24]]
    assert batch.tgt_out.tolist() == [[21, e, p, p], [22, 23, 24, e]]
    assert all(t.dtype == torch.long for t in batch[:4])
    assert batch.index is None


def test_collate_carries_the_dataset_index():
    examples = [
        {"src_ids": [5, 3], "tgt_ids": [6], "index": 7},
        {"src_ids": [3], "tgt_ids": [], "index": 2},
    ]
    batch = collate_translation(examples)
    assert batch.index.tolist() == [7, 2]
    assert batch.tgt_in.tolist() == [[BOS_ID, 6], [BOS_ID, PAD_ID]]
    assert batch.tgt_out.tolist() == [[6, EOS_ID], [EOS_ID, PAD_ID]]


@pytest.mark.parametrize("shuffle", [True, False])
def test_sentence_cap_limits_every_batch(shuffle):
    """batch_sentences (the peers' "batch 64 sentences") caps batches under a loose token budget."""
    lengths = random_lengths(500, 3, longest=10)
    sampler = TokenBatchSampler(lengths, max_tokens=100_000, max_sentences=64, shuffle=shuffle)
    batches = list(sampler)
    assert max(len(batch) for batch in batches) == 64
    assert len(batches) == -(-500 // 64)
    assert sorted(i for batch in batches for i in batch) == list(range(500))


class Draws(RandomCollate):
    """A collate function that returns the batch and two random numbers."""

    def __call__(self, examples):
        return examples, self.random.random(), self.random.random()


def test_random_collate_draws_a_stream_of_its_own_in_each_worker():
    batches = [[0], [1], [2], [3]]
    in_process = list(torch.utils.data.DataLoader(range(4), batch_sampler=batches,
                                                  collate_fn=Draws(7)))  # fmt: skip
    expected = random.Random(7)
    assert [draws for _, *draws in in_process] == [
        [expected.random(), expected.random()] for _ in batches
    ]
    two_workers = list(torch.utils.data.DataLoader(range(4), batch_sampler=batches,
                                                   collate_fn=Draws(7), num_workers=2))  # fmt: skip
    # batches 0 and 2 come from worker 0, 1 and 3 from worker 1: copies of one generator would
    # repeat the first worker's numbers in the second
    first_draws = {tuple(draws) for _, *draws in two_workers[:2]}
    assert len(first_draws) == 2
    again = list(torch.utils.data.DataLoader(range(4), batch_sampler=batches,
                                             collate_fn=Draws(7), num_workers=2))  # fmt: skip
    assert [d for _, *d in again] == [d for _, *d in two_workers]  # still follows the seed
