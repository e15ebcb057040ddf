"""A glossary memory for a translation decoder: per-sentence entries it reads and copies from.

Each sentence brings its own memory: one slot per target piece of every glossary entry found in
it (the term "Kasse" split into "▁Kas" "se" gives two slots). A slot's key comes from the encoder
states of the matched source span and from the piece before it in the term; its value is the
piece itself. At every step the decoder state (and the token it just emitted) queries the memory
with the shared `KeyValueMemory`, and a copy gate mixes the addressed pieces into the output
distribution (a pointer-generator, See et al. 2017, with the sentinel of Merity et al. 2016:
the slots compete in one softmax with a learned "no copy" score, and g is what they win):

    P(w) = (1 - g) softmax(logits)_w + sum of the addressing weights of the slots holding w

so a term comes out right even where the output layer never learned its pieces. Two fixed
features sharpen the addressing: whether a slot is the first piece of its term, and whether the
token just emitted is the piece before it in the term (which walks the decoder through a
several-piece term in order). A sentence with no slot reads nothing and keeps its plain
distribution, bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import nn

from nmt.data.term_slots import GlossarySlots
from nmt.models.fast.row_blocks import RowWise, plain_rows
from nmt.models.loss import TokenScores
from nmt.models.memory import KeyValueMemory


class GlossaryBank(NamedTuple):
    """The slots of a batch with their keys computed once per sentence."""

    keys: torch.Tensor  # [B, M, A]
    pieces: torch.Tensor  # [B, M] what each slot copies (its value)
    prev_pieces: torch.Tensor  # [B, M] the piece before each slot's in its term (first: itself)
    first: torch.Tensor  # [B, M]
    mask: torch.Tensor  # [B, M]
    predecessor: torch.Tensor  # [B, M]
    span: torch.Tensor  # [B, M, S] 1 on the source positions of the slot's term


class CopyWeights(NamedTuple):
    """The copy path at N target positions, beside the output layer's log-probabilities."""

    weights: torch.Tensor  # [N, M] of the slots, summing to the gate
    gate: torch.Tensor  # [N]
    pieces: torch.Tensor  # [N, M] the slots' pieces


class GlossaryMemory(nn.Module):
    """Keys, addressing and the copy gate of the glossary memory (see the module docstring).

    `embedding` is the decoder's target embedding (shared, not copied): it describes the piece
    before a slot in its key and the emitted token in the query. `copy_scores` computes the
    training loss's scores of the mixture (`mixture_scores`, or a faster equal function of
    nmt.models.fast); `rows` runs the query projection, the one product of the memory that is not
    small, over the target's positions (`plain_rows` or nmt.models.fast's `in_row_blocks`).
    """

    def __init__(
        self,
        embedding: nn.Embedding,
        encoder_size: int,
        feature_size: int,
        memory_size: int,
        copy_scores: CopyScores | None = None,
        rows: RowWise = plain_rows,
    ) -> None:
        super().__init__()
        self.copy_scores = copy_scores or mixture_scores
        self.rows = rows
        self.embedding = embedding
        embedding_size = embedding.embedding_dim
        self.span_key = nn.Linear(encoder_size, memory_size)
        self.piece_key = nn.Linear(embedding_size, memory_size, bias=False)
        self.start_key = nn.Parameter(torch.zeros(memory_size))
        query_size = feature_size + embedding_size
        # Its query projection and addressing; what a slot gives is its piece, so no value
        # vectors and no read projections.
        self.memory = KeyValueMemory(query_size, memory_size, query_size, project_reads=False)
        # Learned weights of the fixed addressing features: [is first piece, follows the token
        # just emitted, attention on the term's source span]; they start strong enough to
        # matter before training says otherwise.
        self.feature_weights = nn.Parameter(torch.tensor([1.0, 4.0, 4.0]))
        # The sentinel: a slot that means "no copy", scored from the query (Merity et al. 2016).
        self.sentinel = nn.Linear(query_size, 1)

    def prepare(self, encoder_outputs: torch.Tensor, slots: GlossarySlots) -> GlossaryBank:
        """Encoder outputs `[B, S, K]` and a batch's slots -> their keys `[B, M, A]`."""
        with outside_autocast(encoder_outputs):
            encoder_outputs = at_least_float32(encoder_outputs)
            span = slots.span.to(encoder_outputs.dtype) @ encoder_outputs  # [B, M, K]
            prev_pieces = slots.pieces.gather(1, slots.predecessor)  # a first piece: itself
            prev = self.piece_key(self.embedding(prev_pieces))
            prev = torch.where(slots.first[..., None], self.start_key.to(prev.dtype), prev)
            keys = self.span_key(span) + prev
        on_span = (slots.span > 0).to(encoder_outputs.dtype)
        return GlossaryBank(keys, slots.pieces, prev_pieces, slots.first, slots.mask,
                            slots.predecessor, on_span)  # fmt: skip

    @staticmethod
    def follows(prev_tokens: torch.Tensor, due: torch.Tensor, bank: GlossaryBank) -> torch.Tensor:
        """Which slots continue a term the output is spelling: the token just emitted `[B]` is
        the piece before the slot in its term, and that piece's slot was itself due (`due`
        `[B, M]`: first pieces are always due, later ones when they follow). So a term's
        pieces are offered in order, and a piece that happens to equal one inside a term does
        not jump into its middle."""
        return (
            (bank.prev_pieces == prev_tokens[:, None])
            & ~bank.first
            & due.gather(1, bank.predecessor)
        )

    def follows_over_time(self, prev_tokens: torch.Tensor, bank: GlossaryBank) -> torch.Tensor:
        """`follows` at every position of a teacher-forced target `[B, T]` -> `[B, T, M]`."""
        due = bank.first
        found = []
        for prev in prev_tokens.unbind(1):
            follows = self.follows(prev, due, bank)
            found.append(follows)
            due = bank.first | follows
        return torch.stack(found, dim=1)

    def copy(
        self,
        features: torch.Tensor,
        prev_tokens: torch.Tensor,
        follows: torch.Tensor,
        bank: GlossaryBank,
        attention: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Output features `[B, T, O]`, the tokens before them `[B, T]` and which slots follow
        them (`follows` `[B, T, M]`), and the decoder's attention `[B, T, S]` where it has one
        -> copy weights `[B, T, M]` of the slots and the copy gate `[B, T]`: the weight the
        slots win against the sentinel, which stands for "no copy" (0 for a sentence without
        slots). Attention on a term's source span says that its translation is due. The weights
        come in float32 (or the features' dtype where wider): see `outside_autocast`."""
        query = torch.cat([features, self.embedding(prev_tokens)], dim=-1)
        projected = self.rows(self.memory.query_projection, query.flatten(0, 1))
        with outside_autocast(features):
            projected = at_least_float32(projected).view(*query.shape[:2], -1)  # [B, T, A]
            return self._copy(at_least_float32(query), projected, follows, bank, attention)

    def _copy(
        self,
        query: torch.Tensor,
        projected: torch.Tensor,
        follows: torch.Tensor,
        bank: GlossaryBank,
        attention: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        scores = projected @ bank.keys.transpose(1, 2) / math.sqrt(bank.keys.size(-1))
        first = bank.first[:, None, :].expand_as(scores)
        scores = scores + self.feature_weights[0] * first + self.feature_weights[1] * follows
        if attention is not None:
            on_span = attention.to(bank.span.dtype) @ bank.span.transpose(1, 2)  # [B, T, M]
            scores = scores + self.feature_weights[2] * on_span
        scores = torch.cat([scores, self.sentinel(query)], dim=-1)  # [B, T, M + 1]
        mask = torch.cat([bank.mask, bank.mask.new_ones(bank.mask.size(0), 1)], dim=1)
        copy_weights = self.memory.address_scores(scores, mask)[..., :-1]
        return copy_weights, copy_weights.sum(-1)


def outside_autocast(tensor: torch.Tensor) -> torch.autocast:
    """Autocast off for the memory's keys and addressing (all but the query projection, which
    `rows` keeps to a few shapes): their products are small (a few slots per sentence), but their
    shapes change with every batch (slots, source and target lengths), and under bfloat16
    autocast on the CPU each new shape costs oneDNN a primitive, built and then cached: 13
    instead of 5 new primitives per training step, and a process that grew to 4.2 GB over 20
    minutes of `multi30k_en_de_glossary` (docs/RESULTS.md). In float32 they run through BLAS,
    which keeps nothing per shape."""
    return torch.autocast(tensor.device.type, enabled=False)


def at_least_float32(tensor: torch.Tensor) -> torch.Tensor:
    """bfloat16 or float16 -> float32; float32 and float64 as they are."""
    return tensor.to(torch.promote_types(tensor.dtype, torch.float32))


def mixture_scores(
    log_probs: torch.Tensor, copy: CopyWeights, target: torch.Tensor, with_mean: bool
) -> TokenScores:
    """The copy mixture's scores of target `[N]` (`TokenScores`, the mean only `with_mean`),
    from the output layer's log-probabilities `[N, V]`."""
    mixed = mix_copy(log_probs, *copy)
    return TokenScores.of(mixed, target, with_mean)


CopyScores = Callable[[torch.Tensor, CopyWeights, torch.Tensor, bool], TokenScores]


def copy_changes(
    at_pieces: torch.Tensor, weights: torch.Tensor, gate: torch.Tensor, pieces: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """What copying does to log-probabilities (float; `at_pieces` `[N, M]`: theirs at the slot
    pieces `[N, M]`), with copy weights `[N, M]` summing to the gate `[N]`: log(1 - g) `[N]`,
    added to every piece, and per slot `[N, M]` what its piece gains on top. A piece held by k
    slots (padding slots all hold the padding piece) gets its gain in k equal parts, so that
    adding every slot's part gives each piece its gain once, and its gradient once."""
    keep = (1 - gate.float()).clamp_min(1e-6).log()  # [N]
    # Each slot's piece gets the weight of every slot holding the same piece.
    same = pieces[:, :, None] == pieces[:, None, :]  # [N, M, M]
    copied = (same * weights.float()[:, None, :]).sum(-1)  # [N, M]
    # log 0 = -inf where nothing is copied (padding slots); where() keeps the gradient finite.
    log_copied = torch.where(copied > 0, copied.clamp_min(1e-30).log(), float("-inf"))
    before = at_pieces + keep[:, None]
    return keep, (torch.logaddexp(before, log_copied) - before) / same.sum(-1)


def mix_copy(
    log_probs: torch.Tensor,
    weights: torch.Tensor,
    gate: torch.Tensor,
    pieces: torch.Tensor,
) -> torch.Tensor:
    """log((1 - g) P_vocab + sum_m w_m [piece_m = w]) for N positions (the arguments of
    `copy_changes`); rows without slots (gate 0, padding pieces of weight 0) keep `log_probs`
    exactly (x + log 1 is x, and logaddexp(x, -inf) - x is 0).

    Copying touches only the M slot pieces of a row, so the vocabulary-wide work is one
    addition; the slots' gains are added in at their pieces."""
    # No early return for a batch without slots: under DDP every parameter must take part.
    keep, changes = copy_changes(log_probs.gather(1, pieces), weights, gate, pieces)
    return (log_probs + keep[:, None]).scatter_add(1, pieces, changes)
