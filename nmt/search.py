"""Search over any model with the encode / decode_step / reorder interface (greedy and beam
search), and sampling over any model with decode_step (language models).

Search never looks inside the model: it only calls the methods of `StepModel`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple, Protocol

import torch

from nmt.data.special import BOS_ID, EOS_ID, PAD_ID


class StepModel(Protocol):
    def encode(self, src: torch.Tensor, src_lengths: torch.Tensor) -> NamedTuple: ...

    def decode_step(self, prev_tokens: torch.Tensor, state: NamedTuple) -> NamedTuple: ...

    def reorder(
        self, state: NamedTuple, index: torch.Tensor, within_sentences: bool = False
    ) -> NamedTuple: ...


class Hypotheses(NamedTuple):
    tokens: torch.Tensor  # [B, T] output ids after BOS, EOS included when produced, PAD after
    scores: torch.Tensor  # [B] sum of log-probabilities
    attention: torch.Tensor | None  # [B, T, S] (attentional models)


def max_output_lengths(src_lengths: torch.Tensor, a: float, b: int) -> torch.Tensor:
    """Per sentence, the most tokens search may produce: a * source length + b."""
    return (src_lengths.float() * a + b).long().clamp(min=1)


@torch.inference_mode()
def greedy_search(
    model: StepModel,
    src: torch.Tensor,
    src_lengths: torch.Tensor,
    bos_id: int,
    eos_id: int,
    pad_id: int,
    max_length_a: float = 1.5,
    max_length_b: int = 10,
) -> Hypotheses:
    """The most probable token at every step, for the whole batch at once."""
    batch_size = src.size(0)
    limits = max_output_lengths(src_lengths, max_length_a, max_length_b).to(src.device)
    state = model.encode(src, src_lengths)
    prev = torch.full((batch_size,), bos_id, dtype=torch.long, device=src.device)
    finished = torch.zeros(batch_size, dtype=torch.bool, device=src.device)
    scores = torch.zeros(batch_size, device=src.device)
    tokens, attention = [], []
    for t in range(int(limits.max())):
        step = model.decode_step(prev, state)
        log_probs = step.log_probs.clone()
        log_probs[:, pad_id] = float("-inf")  # padding is never an output
        best_scores, best = log_probs.max(dim=-1)
        best = best.masked_fill(finished, pad_id)
        scores += best_scores.masked_fill(finished, 0.0)
        tokens.append(best)
        if step.attention is not None:
            attention.append(step.attention)
        finished |= (best == eos_id) | (t + 1 >= limits)
        if bool(finished.all()):
            break
        prev, state = best, step.state
    return Hypotheses(
        torch.stack(tokens, dim=1), scores, torch.stack(attention, dim=1) if attention else None
    )


@dataclass(frozen=True)
class SearchOptions:
    beam_size: int = 5
    n_best: int = 1
    length_penalty: float = 1.0  # GNMT alpha: score = log P / ((5 + length) / 6) ** alpha
    max_length_a: float = 1.5  # at most a * source length + b output tokens
    max_length_b: int = 10
    keep_attention: bool = True  # return each hypothesis's attention (reports, heatmaps)

    def __post_init__(self) -> None:
        if self.beam_size < 1 or not 1 <= self.n_best <= self.beam_size:
            raise ValueError(f"need 1 <= n_best <= beam_size, got {self.n_best}, {self.beam_size}")


class Hypothesis(NamedTuple):
    tokens: list[int]  # output ids; ends with EOS unless the length limit cut it
    score: float  # log_prob normalised by the length penalty: what hypotheses are ranked by
    log_prob: float  # sum of the tokens' log-probabilities
    attention: torch.Tensor | None  # [len(tokens), source length]


def length_penalty(length: int | torch.Tensor, alpha: float):
    """GNMT length penalty (Wu et al. 2016, eq. 14): ((5 + length) / 6) ** alpha."""
    return ((5 + length) / 6) ** alpha


def search(
    model: StepModel, src: torch.Tensor, src_lengths: torch.Tensor, options: SearchOptions
) -> list[list[Hypothesis]]:
    """`options.n_best` hypotheses per sentence, best first: greedy for beam 1, else beam."""
    if options.beam_size == 1:
        found = greedy_search(
            model, src, src_lengths, BOS_ID, EOS_ID, PAD_ID, options.max_length_a,
            options.max_length_b,
        )  # fmt: skip
        return [
            [_greedy_hypothesis(found, row, int(src_lengths[row]), options.length_penalty)]
            for row in range(src.size(0))
        ]
    return beam_search(model, src, src_lengths, options)


def _greedy_hypothesis(found: Hypotheses, row: int, src_length: int, alpha: float) -> Hypothesis:
    tokens = found.tokens[row].tolist()
    if EOS_ID in tokens:
        tokens = tokens[: tokens.index(EOS_ID) + 1]
    elif PAD_ID in tokens:  # cut by its length limit before the longest sentence's
        tokens = tokens[: tokens.index(PAD_ID)]
    log_prob = float(found.scores[row])
    attention = None
    if found.attention is not None:
        attention = found.attention[row, : len(tokens), :src_length].cpu()
    return Hypothesis(tokens, log_prob / length_penalty(len(tokens), alpha), log_prob, attention)


class _Beams(NamedTuple):
    """The live beams of the sentences still being searched (A of them, K beams each)."""

    sentences: torch.Tensor  # [A] index of each sentence in the input batch
    scores: torch.Tensor  # [A, K] summed log-probabilities
    tokens: torch.Tensor  # [A, K, t] tokens so far
    attention: torch.Tensor | None  # [A, K, t, S]


@torch.inference_mode()
def beam_search(
    model: StepModel, src: torch.Tensor, src_lengths: torch.Tensor, options: SearchOptions
) -> list[list[Hypothesis]]:
    """Batched beam search: every sentence and beam advances in one decode_step call per
    time step, and sentences leave the batch once they have beam_size finished hypotheses."""
    batch_size, beam = src.size(0), options.beam_size
    device = src.device
    limits = max_output_lengths(src_lengths, options.max_length_a, options.max_length_b)
    state = model.reorder(
        model.encode(src, src_lengths),
        torch.arange(batch_size, device=device).repeat_interleave(beam),
    )
    scores = torch.full((batch_size, beam), float("-inf"), device=device)
    scores[:, 0] = 0.0  # all beams start identical: let only the first one expand
    beams = _Beams(
        torch.arange(batch_size, device=device), scores,
        torch.empty(batch_size, beam, 0, dtype=torch.long, device=device), None,
    )  # fmt: skip
    finished: list[list[Hypothesis]] = [[] for _ in range(batch_size)]
    prev = torch.full((batch_size * beam,), BOS_ID, dtype=torch.long, device=device)
    for t in range(int(limits.max())):
        step = model.decode_step(prev, state)
        attention = step.attention if options.keep_attention else None
        beams, origin, prev = _advance(beams, step.log_probs, attention, options, finished,
                                       src_lengths)  # fmt: skip
        state = model.reorder(step.state, origin, within_sentences=True)
        at_limit = limits[beams.sentences] <= t + 1
        _finish_at_limit(beams, at_limit, options.length_penalty, finished, src_lengths)
        done = (
            torch.tensor(
                [len(finished[s]) >= beam for s in beams.sentences.tolist()], device=device
            )
            | at_limit
        )
        if bool(done.all()):
            break
        if bool(done.any()):
            keep = (~done).nonzero().squeeze(1)
            rows = (keep[:, None] * beam + torch.arange(beam, device=device)).reshape(-1)
            beams = _Beams(*(f.index_select(0, keep) if f is not None else None for f in beams))
            state, prev = model.reorder(state, rows), prev.index_select(0, rows)
    return [sorted(hyps, key=lambda h: -h.score)[: options.n_best] for hyps in finished]


def _advance(
    beams: _Beams,
    log_probs: torch.Tensor,
    attention: torch.Tensor | None,
    options: SearchOptions,
    finished: list[list[Hypothesis]],
    src_lengths: torch.Tensor,
) -> tuple[_Beams, torch.Tensor, torch.Tensor]:
    """One step: extend every beam, set aside candidates that end in EOS, keep the K best others.

    Returns the new beams, the row each new beam came from (for reorder) and its last token.
    """
    active, beam = beams.scores.shape
    vocab = log_probs.size(-1)
    candidates = beams.scores[:, :, None] + log_probs.view(active, beam, vocab)
    candidates[:, :, PAD_ID] = float("-inf")  # padding is never an output
    candidates = candidates.view(active, beam * vocab)
    # 2K candidates always hold K that do not end in EOS (at most one EOS per beam).
    top_scores, top_index = candidates.topk(min(2 * beam, beam * vocab), dim=1)  # [A, 2K]
    origin, token = top_index // vocab, top_index % vocab
    rows = torch.arange(active, device=log_probs.device)[:, None] * beam + origin  # [A, 2K]
    is_eos = token == EOS_ID
    tokens = beams.tokens.view(active * beam, -1)
    step_attention = None if attention is None else attention.view(active * beam, 1, -1)
    history = None if beams.attention is None else beams.attention.flatten(0, 1)
    # Only an EOS ranked among the K best finishes a hypothesis (fairseq's rule).
    ranks = torch.arange(top_scores.size(1), device=log_probs.device)
    for a, j in (is_eos & (ranks < beam) & top_scores.isfinite()).nonzero().tolist():
        row = int(rows[a, j])
        hyp_tokens = torch.cat([tokens[row], token[a, j : j + 1]])
        hyp_attention = _extend(history, step_attention, row)
        finished[int(beams.sentences[a])].append(
            _hypothesis(hyp_tokens, float(top_scores[a, j]), hyp_attention,
                        options.length_penalty, int(src_lengths[beams.sentences[a]]))
        )  # fmt: skip
    keep = torch.sort(is_eos.int(), dim=1, stable=True).indices[:, :beam]  # [A, K] best non-EOS
    new_rows = rows.gather(1, keep).reshape(-1)
    new_tokens = token.gather(1, keep)
    new_history = None
    if step_attention is not None:
        new_history = torch.cat(
            [history.index_select(0, new_rows), step_attention.index_select(0, new_rows)]
            if history is not None else [step_attention.index_select(0, new_rows)], dim=1
        ).view(active, beam, -1, step_attention.size(-1))  # fmt: skip
    new_beams = _Beams(
        beams.sentences,
        top_scores.gather(1, keep),
        torch.cat([tokens.index_select(0, new_rows), new_tokens.view(-1, 1)], 1).view(
            active, beam, -1
        ),
        new_history,
    )
    return new_beams, new_rows, new_tokens.reshape(-1)


def _extend(history, step_attention, row: int):
    if step_attention is None:
        return None
    rows = [step_attention[row]] if history is None else [history[row], step_attention[row]]
    return torch.cat(rows, dim=0)


def _hypothesis(tokens, log_prob: float, attention, alpha: float, src_length: int) -> Hypothesis:
    length = tokens.numel()
    if attention is not None:
        attention = attention[:, :src_length].cpu()
    return Hypothesis(
        tokens.tolist(), log_prob / length_penalty(length, alpha), log_prob, attention
    )


def _finish_at_limit(
    beams: _Beams,
    at_limit: torch.Tensor,
    alpha: float,
    finished: list[list[Hypothesis]],
    src_lengths: torch.Tensor,
) -> None:
    """Sentences at their length limit keep their live beams as (unfinished) hypotheses."""
    for a in at_limit.nonzero().squeeze(1).tolist():
        sentence = int(beams.sentences[a])
        for k in range(beams.scores.size(1)):
            score = float(beams.scores[a, k])
            if score == float("-inf"):
                continue
            attention = None if beams.attention is None else beams.attention[a, k]
            finished[sentence].append(
                _hypothesis(beams.tokens[a, k], score, attention, alpha, int(src_lengths[sentence]))
            )


class DecodeStepModel(Protocol):
    """What sampling needs of a model: the next token's log-probabilities and a new state."""

    def decode_step(self, prev_tokens: torch.Tensor, state: NamedTuple) -> NamedTuple: ...


@dataclass(frozen=True)
class SamplingOptions:
    temperature: float = 1.0  # divides the logits; 0: always the most likely token
    top_k: int | None = None  # sample among the k most likely tokens only
    top_p: float | None = None  # nucleus: among the fewest tokens holding this much probability
    max_tokens: int = 200

    def __post_init__(self) -> None:
        if self.temperature < 0 or self.max_tokens < 0:
            raise ValueError(f"temperature {self.temperature} and max_tokens {self.max_tokens} "
                             "must be >= 0")  # fmt: skip
        if self.top_k is not None and self.top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {self.top_k}")
        if self.top_p is not None and not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")


def sampling_distribution(log_probs: torch.Tensor, options: SamplingOptions) -> torch.Tensor:
    """Probabilities `[B, V]` to draw the next token from: tempered, then cut to the top k and to
    the nucleus of top_p (renormalised). Temperature 0 puts all mass on the most likely token."""
    if options.temperature == 0:
        return torch.nn.functional.one_hot(log_probs.argmax(-1), log_probs.size(-1)).float()
    logits = log_probs.float() / options.temperature
    if options.top_k is not None and options.top_k < logits.size(-1):
        kth = logits.topk(options.top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = torch.softmax(logits, dim=-1)
    if options.top_p is not None and options.top_p < 1:
        sorted_probs, order = probs.sort(dim=-1, descending=True)
        # Keep a token if the mass before it is below top_p: the most likely always stays.
        outside = sorted_probs.cumsum(-1) - sorted_probs >= options.top_p
        probs = probs.scatter(-1, order, sorted_probs.masked_fill(outside, 0.0))
        probs = probs / probs.sum(-1, keepdim=True)
    return probs


@torch.inference_mode()
def sample(
    model: DecodeStepModel,
    state: NamedTuple,
    prev_tokens: torch.Tensor,
    options: SamplingOptions,
    generator: torch.Generator | None = None,
    stop_id: int | None = None,
) -> Iterator[torch.Tensor]:
    """Draw tokens `[B]` one step at a time after `prev_tokens` `[B]` from `state`, yielding
    each step's tokens as soon as they are drawn (to stream them); stops after
    options.max_tokens steps, or once every row has drawn `stop_id`."""
    finished = torch.zeros_like(prev_tokens, dtype=torch.bool)
    for _ in range(options.max_tokens):
        step = model.decode_step(prev_tokens, state)
        probs = sampling_distribution(step.log_probs, options)
        tokens = torch.multinomial(probs, 1, generator=generator)[:, 0]
        yield tokens
        if stop_id is not None:
            finished |= tokens == stop_id
            if bool(finished.all()):
                return
        prev_tokens, state = tokens, step.state
