import io
import itertools

import pytest
import torch

from nmt.models.crf import DISALLOWED, LinearChainCRF, bio_transition_constraints
from nmt.tagging.corpus import is_bio_tagset

BIO_TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


def random_crf(num_tags: int, seed: int, constrained: bool = False) -> LinearChainCRF:
    torch.manual_seed(seed)
    constraints = bio_transition_constraints(BIO_TAGS) if constrained else (None, None)
    crf = LinearChainCRF(num_tags, *constraints)
    with torch.no_grad():
        for parameter in crf.parameters():
            parameter.normal_()
    return crf


def batch(lengths: list[int], num_tags: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    emissions = torch.randn(len(lengths), max(lengths), num_tags, generator=generator) * 2
    mask = torch.arange(max(lengths))[None, :] < torch.tensor(lengths)[:, None]
    return emissions, mask


def hand_score(crf: LinearChainCRF, emissions: torch.Tensor, path) -> float:
    """Score of `path` on one sentence's emissions [L, K], one term at a time."""

    def transition(i, j):
        return crf.transitions[i, j].item() if crf.allowed[i, j] else DISALLOWED

    score = crf.start[path[0]].item() if crf.allowed_start[path[0]] else DISALLOWED
    for t, tag in enumerate(path):
        score += emissions[t, tag].item()
        if t > 0:
            score += transition(path[t - 1], tag)
    return score + crf.end[path[-1]].item()


def all_paths(num_tags: int, length: int):
    return itertools.product(range(num_tags), repeat=length)


def is_valid_bio(path) -> bool:
    previous = "O"
    for tag in (BIO_TAGS[i] for i in path):
        if tag.startswith("I-") and previous[2:] != tag[2:]:
            return False
        previous = tag
    return True


LENGTHS = [4, 2, 1]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_log_partition_and_path_score_match_brute_force(seed):
    crf = random_crf(3, seed)
    emissions, mask = batch(LENGTHS, 3, seed)
    log_z = crf.log_partition(emissions, mask)
    tags = torch.randint(0, 3, mask.shape)  # padding positions hold arbitrary tags
    scores = crf.path_score(emissions, tags, mask)
    for b, length in enumerate(LENGTHS):
        expected = torch.logsumexp(
            torch.tensor([hand_score(crf, emissions[b], p) for p in all_paths(3, length)]), 0
        )
        assert log_z[b].item() == pytest.approx(expected.item(), abs=1e-4)
        path = tags[b, :length].tolist()
        assert scores[b].item() == pytest.approx(hand_score(crf, emissions[b], path), abs=1e-4)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_viterbi_matches_brute_force(seed):
    crf = random_crf(3, seed)
    emissions, mask = batch([2, 4, 1, 3], 3, seed)
    paths, scores = crf.viterbi(emissions, mask)
    for b, length in enumerate(mask.sum(1).tolist()):
        best = max(all_paths(3, length), key=lambda p: hand_score(crf, emissions[b], p))
        assert paths[b, :length].tolist() == list(best)
        assert paths[b, length:].eq(0).all()
        assert scores[b].item() == pytest.approx(hand_score(crf, emissions[b], best), abs=1e-4)
    assert torch.allclose(crf.path_score(emissions, paths, mask), scores, atol=1e-4)


def test_bio_constraints():
    allowed, allowed_start = bio_transition_constraints(["O", "B-PER", "I-PER", "I-LOC", "<x>"])
    assert allowed_start.tolist() == [True, True, False, False, True]
    assert allowed[:, 2].tolist() == [False, True, True, False, True]  # into I-PER
    assert allowed[:, 3].tolist() == [False, False, False, True, True]  # into I-LOC
    assert allowed[:, [0, 1, 4]].all()


def test_constrained_viterbi_outputs_only_valid_bio_paths():
    crf = random_crf(5, seed=0, constrained=True)
    favour_inside = torch.tensor([0.0, 0.0, 6.0, 0.0, 6.0])
    for seed in range(50):
        emissions, mask = batch([7, 3, 1, 5], 5, seed)
        paths, scores = crf.viterbi(emissions + favour_inside, mask)
        assert scores.gt(DISALLOWED / 2).all()
        for b, length in enumerate(mask.sum(1).tolist()):
            assert is_valid_bio(paths[b, :length].tolist()), paths[b]


@pytest.mark.parametrize("seed", [0, 1])
def test_constrained_viterbi_is_best_valid_path(seed):
    crf = random_crf(5, seed, constrained=True)
    emissions, mask = batch([4, 3, 1], 5, seed)
    emissions[..., [2, 4]] += 3.0
    paths, scores = crf.viterbi(emissions, mask)
    for b, length in enumerate(mask.sum(1).tolist()):
        valid = [p for p in all_paths(5, length) if is_valid_bio(p)]
        best = max(valid, key=lambda p: hand_score(crf, emissions[b], p))
        assert paths[b, :length].tolist() == list(best)
        assert scores[b].item() == pytest.approx(hand_score(crf, emissions[b], best), abs=1e-3)


@pytest.mark.parametrize("constrained", [False, True])
def test_likelihood_is_a_distribution_over_paths(constrained):
    num_tags = 5 if constrained else 3
    crf = random_crf(num_tags, seed=4, constrained=constrained)
    emissions, mask = batch(LENGTHS, num_tags, seed=4)
    for b, length in enumerate(LENGTHS):
        paths = torch.tensor(list(all_paths(num_tags, length)))  # [N, L]
        tags = torch.zeros(len(paths), max(LENGTHS), dtype=torch.long)
        tags[:, :length] = paths
        n = len(paths)
        log_likelihood = crf.log_likelihood(
            emissions[b].expand(n, -1, -1), tags, mask[b].expand(n, -1)
        )
        assert not log_likelihood.isnan().any()
        assert log_likelihood.le(1e-5).all()
        assert log_likelihood.exp().sum().item() == pytest.approx(1.0, abs=1e-4)
        if constrained:
            invalid = torch.tensor([not is_valid_bio(p) for p in paths.tolist()])
            assert log_likelihood[invalid].exp().sum().item() < 1e-6


def test_training_increases_log_likelihood():
    crf = random_crf(5, seed=5, constrained=True)
    emissions, mask = batch([4, 2], 5, seed=5)
    tags = torch.tensor([[1, 2, 0, 3], [3, 4, 0, 0]])
    optimizer = torch.optim.SGD(crf.parameters(), lr=0.1)
    before = crf.log_likelihood(emissions, tags, mask).sum().item()
    for _ in range(5):
        optimizer.zero_grad()
        (-crf.log_likelihood(emissions, tags, mask).sum()).backward()
        assert crf.transitions.grad.abs().sum() > 0 and crf.start.grad.abs().sum() > 0
        optimizer.step()
    assert crf.log_likelihood(emissions, tags, mask).sum().item() > before + 0.1


def test_low_precision_emissions_are_scored_in_float32():
    crf = random_crf(3, seed=6)
    emissions, mask = batch(LENGTHS, 3, seed=6)
    low = emissions.to(torch.bfloat16)
    log_z = crf.log_partition(low, mask)
    assert log_z.dtype == torch.float32
    assert torch.allclose(log_z, crf.log_partition(low.float(), mask))


def test_constraints_survive_state_dict_round_trip():
    crf = random_crf(5, seed=7, constrained=True)
    buffer = io.BytesIO()
    torch.save(crf.state_dict(), buffer)
    buffer.seek(0)
    restored = LinearChainCRF(5)
    restored.load_state_dict(torch.load(buffer))
    allowed, allowed_start = bio_transition_constraints(BIO_TAGS)
    assert torch.equal(restored.allowed, allowed)
    assert torch.equal(restored.allowed_start, allowed_start)
    emissions, mask = batch([3, 2], 5, seed=7)
    assert torch.equal(restored.viterbi(emissions, mask)[0], crf.viterbi(emissions, mask)[0])


def test_is_bio_tagset():
    assert is_bio_tagset(BIO_TAGS)
    assert is_bio_tagset(["B-X", "I-X"])
    assert not is_bio_tagset(["O"])
    assert not is_bio_tagset(["O", "I-PER"])
    assert not is_bio_tagset(["O", "B-PER", "S-PER"])
    assert not is_bio_tagset(["NOUN", "VERB"])
