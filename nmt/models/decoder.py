"""Recurrent decoders: one without attention and one with attention.

Both offer the same three calls:
- `init_state(encoded, hidden, cell)`: the state search carries between steps (a NamedTuple whose
  tensors are all batch-first, so one generic reorder serves every decoder);
- `forward(tgt_in, state)`: the teacher-forced pass over the whole target -> features `[B, T, O]`;
- `step(prev_tokens, state)`: one step -> features `[B, O]`, the new state, attention or None.
Features go through the generator (output layer) owned by `Seq2Seq`. Either decoder may consult
a `SlotMemory` of learned slots, whose read joins the source context before the output layer;
its slots are shared by every sentence, so search carries nothing extra in the state.

Dropout modules and the tanh function come from the builder, which chooses PyTorch's own or the
CPU speed paths of nmt.models.fast (the same functions).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import nn

from nmt.models.encoder import EncoderOutput
from nmt.models.fast import RnnStep, plain_rnn_step
from nmt.models.memory import SlotMemory
from nmt.models.recurrent import from_rnn_state, to_rnn_state
from nmt.models.weight_drop import RecurrentWeightDropout

Activation = Callable[[torch.Tensor], torch.Tensor]


class DecoderOutput(NamedTuple):
    features: torch.Tensor  # [B, T, O]
    attention: torch.Tensor | None  # [B, T, S]


class StepOutput(NamedTuple):
    features: torch.Tensor  # [B, O]
    state: NamedTuple
    attention: torch.Tensor | None  # [B, S]


class ContextState(NamedTuple):
    hidden: torch.Tensor  # [B, L, H]
    cell: torch.Tensor | None  # [B, L, H]
    context: torch.Tensor  # [B, K] fixed summary of the source

    per_sentence = ("context",)  # equal across a sentence's beams (see Seq2Seq.reorder)


class FixedContextDecoder(nn.Module):
    """Decoder without attention (Cho et al. 2014): a fixed source summary — the top encoder
    layer's final state — enters every step's input and every output."""

    def __init__(
        self,
        embedding: nn.Embedding,
        rnn: nn.RNNBase,
        context_size: int,
        output_size: int,
        dropout: nn.Module,
        tanh: Activation = torch.tanh,
        slot_memory: SlotMemory | None = None,
        rnn_step: RnnStep = plain_rnn_step,
        weight_dropout: RecurrentWeightDropout | None = None,
    ) -> None:
        """`rnn_step` runs the recurrent layer over the single position of `step` (search);
        `weight_dropout` drops its recurrent weights in teacher-forced training."""
        super().__init__()
        self.embedding = embedding
        self.rnn = rnn
        self.rnn_step = rnn_step
        self.weight_dropout = weight_dropout or RecurrentWeightDropout(0.0)
        self.slot_memory = slot_memory
        if slot_memory is not None:
            context_size = slot_memory.output_size
        self.output_layer = nn.Linear(rnn.hidden_size + context_size, output_size)
        self.dropout = dropout
        self.tanh = tanh
        self.output_size = output_size

    def init_state(
        self, encoded: EncoderOutput, hidden: torch.Tensor, cell: torch.Tensor | None
    ) -> ContextState:
        return ContextState(hidden, cell, encoded.final_hidden[:, -1])

    def forward(self, tgt_in: torch.Tensor, state: ContextState) -> DecoderOutput:
        embedded = self.dropout(self.embedding(tgt_in))  # [B, T, E]
        context = state.context[:, None, :].expand(-1, tgt_in.size(1), -1)  # [B, T, K]
        with self.weight_dropout.dropped(self.rnn):
            outputs, _ = self.rnn(
                torch.cat([embedded, context], dim=-1), to_rnn_state(state.hidden, state.cell)
            )
        return DecoderOutput(self._features(outputs, context), None)

    def step(self, prev_tokens: torch.Tensor, state: ContextState) -> StepOutput:
        embedded = self.dropout(self.embedding(prev_tokens[:, None]))  # [B, 1, E]
        context = state.context[:, None, :]
        outputs, rnn_state = self.rnn_step(
            self.rnn, torch.cat([embedded, context], dim=-1), to_rnn_state(state.hidden, state.cell)
        )
        hidden, cell = from_rnn_state(rnn_state)
        features = self._features(outputs, context)[:, 0]
        return StepOutput(features, ContextState(hidden, cell, state.context), None)

    def _features(self, outputs: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        if self.slot_memory is not None:
            context = self.slot_memory(outputs, context)
        return self.dropout(self.tanh(self.output_layer(torch.cat([outputs, context], dim=-1))))


class AttentionState(NamedTuple):
    hidden: torch.Tensor  # [B, L, H]
    cell: torch.Tensor | None  # [B, L, H]
    enc_out: torch.Tensor  # [B, S, K] encoder outputs (the attention's values)
    keys: torch.Tensor  # [B, S, A] keys projected once per sentence
    mask: torch.Tensor  # [B, S]
    input_feed: torch.Tensor | None  # [B, O] previous attentional vector (input feeding only)

    per_sentence = ("enc_out", "keys", "mask")  # equal across a sentence's beams (see reorder)


# The teacher-forced loop of an input-feeding decoder: (decoder, embedded targets [B, T, E],
# target lengths [B], initial state) -> attentional vectors [B, T, O], attention [B, T, S].
InputFeedingLoop = Callable[
    ["AttentionDecoder", torch.Tensor, torch.Tensor, AttentionState],
    tuple[torch.Tensor, torch.Tensor],
]


class AttentionDecoder(nn.Module):
    """Attention after the recurrence (Luong et al. 2015): the top decoder state queries the
    encoder outputs and the attentional vector tanh(W [h; context]) is the output feature.

    Without input feeding (`input_feeding=None`) the whole teacher-forced recurrence is one RNN
    call over the target (a single cuDNN kernel on GPU) and attention is one batched matrix
    product. With input feeding the previous attentional vector joins each input, so training
    loops over time steps with the `InputFeedingLoop` the builder chose: `step_by_step` (plain
    PyTorch, any cell) or one of the speed paths in nmt.models.fast.
    """

    def __init__(
        self,
        embedding: nn.Embedding,
        rnn: nn.RNNBase,
        attention: nn.Module,
        context_size: int,
        output_size: int,
        dropout: nn.Module,
        tanh: Activation = torch.tanh,
        slot_memory: SlotMemory | None = None,
        input_feeding: InputFeedingLoop | None = None,
        rnn_step: RnnStep = plain_rnn_step,
        weight_dropout: RecurrentWeightDropout | None = None,
    ) -> None:
        """`rnn_step` runs the recurrent layer over the single position of `step` (search);
        `weight_dropout` drops its recurrent weights in teacher-forced training (one draw for
        the whole target; input-feeding loops read them through `current_weights`)."""
        super().__init__()
        self.embedding = embedding
        self.rnn = rnn
        self.rnn_step = rnn_step
        self.weight_dropout = weight_dropout or RecurrentWeightDropout(0.0)
        self.attention = attention
        self.slot_memory = slot_memory
        if slot_memory is not None:
            context_size = slot_memory.output_size
        self.output_layer = nn.Linear(rnn.hidden_size + context_size, output_size, bias=False)
        self.dropout = dropout
        self.tanh = tanh
        self.input_feeding = input_feeding
        self.output_size = output_size

    def init_state(
        self, encoded: EncoderOutput, hidden: torch.Tensor, cell: torch.Tensor | None
    ) -> AttentionState:
        input_feed = None
        if self.input_feeding is not None:
            input_feed = hidden.new_zeros(hidden.size(0), self.output_size)
        keys = self.attention.project_keys(encoded.outputs)
        return AttentionState(hidden, cell, encoded.outputs, keys, encoded.mask, input_feed)

    def forward(self, tgt_in: torch.Tensor, state: AttentionState) -> DecoderOutput:
        embedded = self.dropout(self.embedding(tgt_in))  # [B, T, E]
        with self.weight_dropout.dropped(self.rnn):
            if self.input_feeding is None:
                outputs, _ = self.rnn(embedded, to_rnn_state(state.hidden, state.cell))
                features, weights = self.attend(outputs, state)  # [B, T, O], [B, T, S]
            else:
                tgt_lengths = (tgt_in != self.embedding.padding_idx).sum(1)
                features, weights = self.input_feeding(self, embedded, tgt_lengths, state)
        return DecoderOutput(self.dropout(features), weights)

    def step(self, prev_tokens: torch.Tensor, state: AttentionState) -> StepOutput:
        rnn_input = self.dropout(self.embedding(prev_tokens[:, None]))  # [B, 1, E]
        if self.input_feeding is not None:
            rnn_input = torch.cat([rnn_input, state.input_feed[:, None]], dim=-1)
        outputs, rnn_state = self.rnn_step(
            self.rnn, rnn_input, to_rnn_state(state.hidden, state.cell)
        )
        features, weights = self.attend(outputs, state)
        hidden, cell = from_rnn_state(rnn_state)
        input_feed = features[:, 0] if self.input_feeding is not None else None
        new_state = state._replace(hidden=hidden, cell=cell, input_feed=input_feed)
        return StepOutput(self.dropout(features[:, 0]), new_state, weights[:, 0])

    def attend(
        self, outputs: torch.Tensor, state: AttentionState
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Decoder states `[B, T, H]` -> attentional vectors `[B, T, O]` (before dropout) and
        attention weights `[B, T, S]`."""
        context, weights = self.attention(outputs, state.keys, state.enc_out, state.mask)
        if self.slot_memory is not None:
            context = self.slot_memory(outputs, context)
        features = self.tanh(self.output_layer(torch.cat([outputs, context], dim=-1)))
        return features, weights


def step_by_step(
    decoder: AttentionDecoder, embedded: torch.Tensor, tgt_lengths: torch.Tensor,
    state: AttentionState,
) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """The plain input-feeding loop: one call of the decoder's recurrent layer per position."""
    rnn_state = to_rnn_state(state.hidden, state.cell)
    input_feed = state.input_feed
    step_features, step_weights = [], []
    for embedded_t in embedded.unbind(1):
        rnn_input = torch.cat([embedded_t, input_feed], dim=-1)[:, None]
        outputs, rnn_state = decoder.rnn(rnn_input, rnn_state)  # [B, 1, H]
        features, weights = decoder.attend(outputs, state)
        input_feed = features[:, 0]
        step_features.append(features)
        step_weights.append(weights)
    return torch.cat(step_features, 1), torch.cat(step_weights, 1)
