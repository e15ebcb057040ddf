"""Recurrent decoders: one without attention and one with attention.

Both offer the same three calls:
- `init_state(encoded, hidden, cell)`: the state search carries between steps (a NamedTuple whose
  tensors are all batch-first, so one generic reorder serves every decoder);
- `forward(tgt_in, state)`: the teacher-forced pass over the whole target -> features `[B, T, O]`;
- `step(prev_tokens, state)`: one step -> features `[B, O]`, the new state, attention or None.
Features go through the generator (output layer) owned by `Seq2Seq`. Either decoder may consult
a `DecoderMemory` of learned slots, whose read joins the source context before the output layer;
its slots are shared by every sentence, so search carries nothing extra in the state.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from nmt.models.encoder import EncoderOutput
from nmt.models.fast_ops import Dropout, tanh
from nmt.models.input_feeding import loop_applies, run_input_feeding
from nmt.models.memory import DecoderMemory
from nmt.models.recurrent import FedLSTM, RnnState, from_rnn_state, to_rnn_state


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
        dropout: float = 0.0,
        slot_memory: DecoderMemory | None = None,
    ) -> None:
        super().__init__()
        self.embedding = embedding
        self.rnn = rnn
        self.slot_memory = slot_memory
        if slot_memory is not None:
            context_size = slot_memory.output_size
        self.output_layer = nn.Linear(rnn.hidden_size + context_size, output_size)
        self.dropout = Dropout(dropout)
        self.output_size = output_size

    def init_state(
        self, encoded: EncoderOutput, hidden: torch.Tensor, cell: torch.Tensor | None
    ) -> ContextState:
        return ContextState(hidden, cell, encoded.final_hidden[:, -1])

    def forward(self, tgt_in: torch.Tensor, state: ContextState) -> DecoderOutput:
        embedded = self.dropout(self.embedding(tgt_in))  # [B, T, E]
        context = state.context[:, None, :].expand(-1, tgt_in.size(1), -1)  # [B, T, K]
        outputs, _ = self.rnn(
            torch.cat([embedded, context], dim=-1), to_rnn_state(state.hidden, state.cell)
        )
        return DecoderOutput(self._features(outputs, context), None)

    def step(self, prev_tokens: torch.Tensor, state: ContextState) -> StepOutput:
        embedded = self.dropout(self.embedding(prev_tokens[:, None]))  # [B, 1, E]
        context = state.context[:, None, :]
        outputs, rnn_state = self.rnn(
            torch.cat([embedded, context], dim=-1), to_rnn_state(state.hidden, state.cell)
        )
        hidden, cell = from_rnn_state(rnn_state)
        features = self._features(outputs, context)[:, 0]
        return StepOutput(features, ContextState(hidden, cell, state.context), None)

    def _features(self, outputs: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        if self.slot_memory is not None:
            context = self.slot_memory(outputs, context)
        return self.dropout(tanh(self.output_layer(torch.cat([outputs, context], dim=-1))))


class AttentionState(NamedTuple):
    hidden: torch.Tensor  # [B, L, H]
    cell: torch.Tensor | None  # [B, L, H]
    memory: torch.Tensor  # [B, S, K] encoder outputs (attention values)
    keys: torch.Tensor  # [B, S, A] keys projected once per sentence
    mask: torch.Tensor  # [B, S]
    input_feed: torch.Tensor | None  # [B, O] previous attentional vector (input feeding only)

    per_sentence = ("memory", "keys", "mask")  # equal across a sentence's beams (see reorder)


class AttentionDecoder(nn.Module):
    """Attention after the recurrence (Luong et al. 2015): the top decoder state queries the
    encoder outputs and the attentional vector tanh(W [h; context]) is the output feature.

    Without input feeding the whole teacher-forced recurrence is one RNN call over the target
    (a single cuDNN kernel on GPU) and attention is one batched matrix product. With input feeding
    the previous attentional vector joins each input, so training must loop over time steps: one
    LSTM layer with additive attention runs `InputFeedingLoop` (a hand-written backward through
    time), any other LSTM a `FedLSTM` (embeddings projected once, one product per step).
    """

    def __init__(
        self,
        embedding: nn.Embedding,
        rnn: nn.RNNBase,
        attention: nn.Module,
        memory_size: int,
        output_size: int,
        input_feeding: bool,
        dropout: float = 0.0,
        slot_memory: DecoderMemory | None = None,
    ) -> None:
        super().__init__()
        self.embedding = embedding
        self.rnn = rnn
        self.attention = attention
        self.slot_memory = slot_memory
        if slot_memory is not None:
            memory_size = slot_memory.output_size
        self.output_layer = nn.Linear(rnn.hidden_size + memory_size, output_size, bias=False)
        self.dropout = Dropout(dropout)
        self.input_feeding = input_feeding
        self.output_size = output_size

    def init_state(
        self, encoded: EncoderOutput, hidden: torch.Tensor, cell: torch.Tensor | None
    ) -> AttentionState:
        input_feed = None
        if self.input_feeding:
            input_feed = hidden.new_zeros(hidden.size(0), self.output_size)
        keys = self.attention.project_keys(encoded.outputs)
        return AttentionState(hidden, cell, encoded.outputs, keys, encoded.mask, input_feed)

    def forward(self, tgt_in: torch.Tensor, state: AttentionState) -> DecoderOutput:
        embedded = self.dropout(self.embedding(tgt_in))  # [B, T, E]
        rnn_state = to_rnn_state(state.hidden, state.cell)
        if not self.input_feeding:
            outputs, _ = self.rnn(embedded, rnn_state)  # [B, T, H]
            features, weights = self._attend(outputs, state)
            return DecoderOutput(self.dropout(features), weights)
        input_feed = state.input_feed
        if loop_applies(self.rnn, self.attention, self.slot_memory):
            lengths = (tgt_in != self.embedding.padding_idx).sum(1)
            features, weights = run_input_feeding(
                self.rnn, self.attention, self.output_layer, embedded, lengths, state.hidden[:, 0],
                state.cell[:, 0], input_feed, state.keys, state.memory, state.mask,
            )  # fmt: skip
            return DecoderOutput(self.dropout(features), weights)
        step_features, step_weights = [], []
        if isinstance(self.rnn, nn.LSTM):
            lstm = FedLSTM(self.rnn, embedded, rnn_state)
            for t in range(tgt_in.size(1)):
                features, weights = self._attend(lstm.step(t, input_feed)[:, None], state)
                input_feed = features[:, 0]
                step_features.append(features)
                step_weights.append(weights)
        else:
            for embedded_t in embedded.unbind(1):
                rnn_input = torch.cat([embedded_t, input_feed], dim=-1)[:, None]
                features, weights, rnn_state = self._step_native(rnn_input, rnn_state, state)
                input_feed = features[:, 0]
                step_features.append(features)
                step_weights.append(weights)
        return DecoderOutput(self.dropout(torch.cat(step_features, 1)), torch.cat(step_weights, 1))

    def step(self, prev_tokens: torch.Tensor, state: AttentionState) -> StepOutput:
        rnn_input = self.dropout(self.embedding(prev_tokens[:, None]))  # [B, 1, E]
        if self.input_feeding:
            rnn_input = torch.cat([rnn_input, state.input_feed[:, None]], dim=-1)
        features, weights, rnn_state = self._step_native(
            rnn_input, to_rnn_state(state.hidden, state.cell), state
        )
        hidden, cell = from_rnn_state(rnn_state)
        input_feed = features[:, 0] if self.input_feeding else None
        new_state = state._replace(hidden=hidden, cell=cell, input_feed=input_feed)
        return StepOutput(self.dropout(features[:, 0]), new_state, weights[:, 0])

    def _step_native(
        self, rnn_input: torch.Tensor, rnn_state: RnnState, state: AttentionState
    ) -> tuple[torch.Tensor, torch.Tensor, RnnState]:
        outputs, rnn_state = self.rnn(rnn_input, rnn_state)  # [B, 1, H]
        features, weights = self._attend(outputs, state)
        return features, weights, rnn_state

    def _attend(
        self, outputs: torch.Tensor, state: AttentionState
    ) -> tuple[torch.Tensor, torch.Tensor]:
        context, weights = self.attention(outputs, state.keys, state.memory, state.mask)
        if self.slot_memory is not None:
            context = self.slot_memory(outputs, context)
        features = tanh(self.output_layer(torch.cat([outputs, context], dim=-1)))
        return features, weights  # [B, T, O], [B, T, S]
