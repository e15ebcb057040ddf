"""Search against a toy model whose probabilities are written here (so the right answers can be
worked out by hand), and against a trained model."""

import math
from pathlib import Path
from typing import NamedTuple

import pytest
import torch

from nmt.data.special import BOS_ID, EOS_ID
from nmt.search import SearchOptions, beam_search, search
from nmt.translation.predict import Translator

A, B = 4, 5
VOCAB = 6
# P(next | previous token): after BOS, A is likelier, but A leads nowhere good.
NEXT = {
    BOS_ID: {A: 0.6, B: 0.4},
    A: {EOS_ID: 0.4, A: 0.3, B: 0.3},
    B: {EOS_ID: 0.9, A: 0.05, B: 0.05},
}


class ToyState(NamedTuple):
    row: torch.Tensor  # [B] which input sentence a hypothesis belongs to


class ToyModel:
    """decode_step depends only on the previous token, through the table above."""

    def encode(self, src, src_lengths):
        return ToyState(torch.arange(src.size(0)))

    def decode_step(self, prev_tokens, state):
        probs = torch.full((prev_tokens.numel(), VOCAB), 1e-9)
        for row, token in enumerate(prev_tokens.tolist()):
            for nxt, p in NEXT.get(token, {EOS_ID: 1.0}).items():
                probs[row, nxt] = p
        return NamedTuple("Step", [("log_probs", torch.Tensor), ("state", ToyState),
                                   ("attention", object)])(probs.log(), state, None)  # fmt: skip

    def reorder(self, state, index, within_sentences=False):
        return ToyState(state.row.index_select(0, index))


def toy_batch(size: int = 2):
    return torch.full((size, 3), 7), torch.full((size,), 3)


def test_greedy_takes_the_locally_best_path_and_beam_finds_the_better_one():
    src, src_lengths = toy_batch()
    options = dict(length_penalty=0.0, max_length_a=0.0, max_length_b=5)
    greedy = search(ToyModel(), src, src_lengths, SearchOptions(beam_size=1, **options))
    beam = search(ToyModel(), src, src_lengths, SearchOptions(beam_size=2, **options))
    assert greedy[0][0].tokens == [A, EOS_ID]
    assert greedy[0][0].log_prob == pytest.approx(math.log(0.6 * 0.4), abs=1e-6)
    assert beam[1][0].tokens == [B, EOS_ID]
    assert beam[1][0].log_prob == pytest.approx(math.log(0.4 * 0.9), abs=1e-6)


def test_n_best_lists_are_sorted_and_complete():
    src, src_lengths = toy_batch(3)
    options = SearchOptions(
        beam_size=3, n_best=3, length_penalty=0.0, max_length_a=0, max_length_b=5
    )
    for hypotheses in search(ToyModel(), src, src_lengths, options):
        assert [h.tokens for h in hypotheses] == [[B, EOS_ID], [A, EOS_ID], [A, B, EOS_ID]]
        expected = [0.4 * 0.9, 0.6 * 0.4, 0.6 * 0.3 * 0.9]
        assert [h.log_prob for h in hypotheses] == pytest.approx([math.log(p) for p in expected])


def test_length_penalty_divides_by_the_gnmt_factor():
    src, src_lengths = toy_batch(1)
    options = SearchOptions(
        beam_size=3, n_best=3, length_penalty=1.0, max_length_a=0, max_length_b=5
    )
    for h in search(ToyModel(), src, src_lengths, options)[0]:
        assert h.score == pytest.approx(h.log_prob / ((5 + len(h.tokens)) / 6))


def test_the_length_limit_cuts_hypotheses():
    src, src_lengths = toy_batch(1)
    options = SearchOptions(beam_size=2, length_penalty=0.0, max_length_a=0, max_length_b=1)
    (best,) = search(ToyModel(), src, src_lengths, options)[0]
    assert best.tokens == [A]  # no room for EOS: the most probable first token


def read_test_sources(folder: Path) -> list[str]:
    return (folder / "test.src").read_text("utf-8").splitlines()


def batch_of(translator: Translator, sentences: list[str]):
    ids = translator.tokenizer.encode_src(sentences)
    return translator._pad(ids, list(range(len(ids))))


def test_beam_one_equals_greedy_and_wider_beams_score_no_worse(reversal_run, reverse_task):
    translator = Translator.load(reversal_run)
    # Perturb the trained weights so the model is unsure and search choices matter.
    torch.manual_seed(0)
    with torch.no_grad():
        for parameter in translator.model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.3)
    src, src_lengths = batch_of(translator, read_test_sources(reverse_task)[:40])
    limits = dict(length_penalty=0.0, max_length_a=1.5, max_length_b=5)
    greedy = search(translator.model, src, src_lengths, SearchOptions(beam_size=1, **limits))
    beam_one = beam_search(translator.model, src, src_lengths, SearchOptions(beam_size=1, **limits))
    beam_five = search(translator.model, src, src_lengths, SearchOptions(beam_size=5, **limits))
    for g, b1, b5 in zip(greedy, beam_one, beam_five):
        assert b1[0].tokens == g[0].tokens
        assert b1[0].log_prob == pytest.approx(g[0].log_prob, abs=1e-4)
        torch.testing.assert_close(b1[0].attention, g[0].attention)
        assert b5[0].log_prob >= g[0].log_prob - 1e-4
    assert any(b5[0].log_prob > g[0].log_prob + 1e-3 for g, b5 in zip(greedy, beam_five))


def test_a_sentence_gets_the_same_beam_output_alone_and_in_a_batch(reversal_run, reverse_task):
    translator = Translator.load(reversal_run)
    sentences = read_test_sources(reverse_task)[:12]
    options = SearchOptions(beam_size=4, n_best=2)
    together = translator.translate_nbest(sentences, options)
    for sentence, hypotheses in zip(sentences, together):
        alone = translator.translate_nbest([sentence], options)[0]
        assert [h.text for h in alone] == [h.text for h in hypotheses]
        assert [h.score for h in alone] == pytest.approx([h.score for h in hypotheses], abs=1e-4)
