"""Query-reduction reader (after the query-reduction networks of Seo et al. 2017): a recurrent
layer reads the story's sentences in order with the question as its state, and each sentence
reduces the question to an easier one ("where is the football?" + "john picked up the football"
-> "where is john?"); the state after the last sentence picks the answer.

The state is updated through gates: an update gate z (how much this sentence changes the
question) and a reset gate r, both from the sentence times the question, and a candidate reduced
question from both: h_t = z_t r_t tanh(W [x_t; q_t] + b) + (1 - z_t) h_{t-1}. The gates are one
number per sentence, or with `vector_gates` one per dimension of the state (the paper's vector
gates), so that a sentence can rewrite part of the question and keep the rest. Because the gates
do not depend on h, the whole recurrence has a closed form, a weighted sum over earlier
sentences (`reduce_in_order`), so a layer is a few batched products instead of a loop over the
story. Layers stack: a layer's questions are the previous layer's states, read forwards and
backwards (the backward direction lets an early sentence learn from later ones).

Unlike the end-to-end memory network (nmt.models.memnet), the reader needs no time embedding
(the order is in the recurrence), no linear start and no null slot (where no sentence matters, the
update gates stay near zero and the answer is read from a state near the initial zero).
"""

from __future__ import annotations

import torch
from torch import nn

from nmt.models.memnet import ReaderOutput, SentenceEncoder

_SMALLEST_KEPT = 1e-6  # 1 - z is kept above this before its log (z can round to exactly 1)


def reduce_in_order(
    update: torch.Tensor, written: torch.Tensor, candidates: torch.Tensor
) -> torch.Tensor:
    """All states h_t = written_t * candidates_t + (1 - update_t) h_{t-1}, h_0 = 0, at once.

    update, written `[B, S]` (scalar gates) or `[B, S, D]` (a gate per dimension); candidates
    `[B, S, D]` -> states `[B, S, D]`. Unrolled, h_t = sum over s <= t of written_s candidates_s
    prod_{s < u <= t} (1 - update_u); the products are differences of a cumulative sum of
    log(1 - update)."""
    kept = torch.log1p(-update.clamp(max=1 - _SMALLEST_KEPT)).cumsum(1)  # [B, S(, D)]
    log_decay = kept[:, :, None] - kept[:, None, :]  # [B, t, s(, D)]: sum over s < u <= t
    later = torch.ones(update.size(1), update.size(1), dtype=torch.bool,
                       device=update.device).triu(1)  # fmt: skip
    if update.dim() == 3:
        later = later[:, :, None]
    decay = log_decay.masked_fill(later, float("-inf")).exp()  # 0 where s > t
    if update.dim() == 2:
        return (decay * written[:, None, :]) @ candidates
    return (decay * (written * candidates)[:, None]).sum(2)


class ReductionLayer(nn.Module):
    """One direction of one layer: sentences `[B, S, E]` and the questions they meet `[B, S, E]`
    -> reduced questions `[B, S, E]` and the update gates `[B, S]` (zero on padding; with
    `vector_gates`, a gate per dimension, reported as their mean)."""

    def __init__(self, size: int, vector_gates: bool = False) -> None:
        super().__init__()
        gates = size if vector_gates else 1
        self.update = nn.Linear(size, gates)
        self.reset = nn.Linear(size, gates)
        self.candidate = nn.Linear(2 * size, size)

    def forward(
        self, sentences: torch.Tensor, questions: torch.Tensor, mask: torch.Tensor,
        reverse: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        """`mask` `[B, S]` 1 on real sentences, 0 on padding (its gates are multiplied by it);
        `reverse` reads the story backwards."""
        match = sentences * questions
        update = torch.sigmoid(self.update(match)) * mask[..., None]
        reset = torch.sigmoid(self.reset(match))
        if update.size(-1) == 1:
            update, reset = update.squeeze(-1), reset.squeeze(-1)
        candidates = torch.tanh(self.candidate(torch.cat([sentences, questions], dim=-1)))
        if reverse:
            flipped = reduce_in_order(update.flip(1), (update * reset).flip(1), candidates.flip(1))
            states = flipped.flip(1)
        else:
            states = reduce_in_order(update, update * reset, candidates)
        return states, update if update.dim() == 2 else update.mean(-1)


class QueryReductionReader(nn.Module):
    """The reader: `layers` forward reductions, each but the last followed by a backward one whose
    states are added to the forward ones as the next layer's questions."""

    linear_start = False  # the interface of MemoryNetworkReader: no softmax to start without
    weights_per = "layer"  # a row of ReaderOutput.weights: one layer's update gates

    def __init__(
        self, vocab_size: int, num_answers: int, embedding_size: int = 50, layers: int = 2,
        dropout: float = 0.0, vector_gates: bool = False,
    ) -> None:  # fmt: skip
        """`dropout`: on the sentence and question vectors, in training only; `vector_gates`: an
        update and a reset gate per dimension instead of one per sentence."""
        super().__init__()
        self.encoder = SentenceEncoder(vocab_size, embedding_size)  # sentences and question
        self.dropout = nn.Dropout(dropout)
        self.forwards = nn.ModuleList(
            ReductionLayer(embedding_size, vector_gates) for _ in range(layers)
        )
        self.backwards = nn.ModuleList(
            ReductionLayer(embedding_size, vector_gates) for _ in range(layers - 1)
        )
        self.answer = nn.Linear(embedding_size, num_answers)

    def forward(
        self, story: torch.Tensor, story_mask: torch.Tensor, question: torch.Tensor
    ) -> ReaderOutput:
        """story `[B, S, W]` word ids (sentences in order), story_mask `[B, S]` True on real
        sentences (a prefix), question `[B, Q]`. ReaderOutput.weights are each layer's forward
        update gates `[B, layers, S]`: how much each sentence changed the question."""
        sentences = self.dropout(self.encoder(story))
        questions = self.dropout(self.encoder(question))[:, None, :].expand_as(sentences)
        mask = story_mask.to(sentences.dtype)
        gates = []
        for depth, layer in enumerate(self.forwards):
            states, update = layer(sentences, questions, mask)
            gates.append(update)
            if depth < len(self.backwards):
                states = states + self.backwards[depth](sentences, questions, mask, True)[0]
            questions = states
        # padding has update 0, so the last position holds the state after the last sentence
        if story.size(1):
            final = questions[:, -1]
        else:  # no sentence at all: the initial state
            final = sentences.new_zeros(story.size(0), sentences.size(-1))
        return ReaderOutput(self.answer(final), torch.stack(gates, dim=1))
