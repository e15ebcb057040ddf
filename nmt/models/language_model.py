"""Recurrent language model (one to many): token embedding -> stacked RNN -> output layer over
the vocabulary, predicting each next token. The state is explicit: training carries it from one
chunk of a long text to the next (truncated backpropagation through time), and sampling gets it
back from every `decode_step`, the same step interface that search uses for translators.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from nmt.models.fast import RnnStep, plain_rnn_step
from nmt.models.recurrent import from_rnn_state, to_rnn_state
from nmt.models.weight_drop import RecurrentWeightDropout


class LmState(NamedTuple):
    hidden: torch.Tensor  # [B, L, H]
    cell: torch.Tensor | None  # [B, L, H] (LSTM only)


class LmStep(NamedTuple):
    log_probs: torch.Tensor  # [B, V]
    state: LmState
    attention: None = None  # what search's step interface carries; a language model has none


class RecurrentLanguageModel(nn.Module):
    def __init__(
        self, embedding: nn.Embedding, rnn: nn.RNNBase, dropout: nn.Module,
        projection: nn.Module, output: nn.Linear, rnn_step: RnnStep = plain_rnn_step,
        weight_dropout: RecurrentWeightDropout | None = None,
    ) -> None:  # fmt: skip
        """`projection` maps the RNN's outputs to the output layer's input (nn.Identity, or a
        Linear to the embedding size when the output layer shares the embedding's weights);
        `rnn_step` runs the RNN over the single step of `decode_step` (nmt.models.fast);
        `weight_dropout` runs it over longer inputs, dropping recurrent weights in training."""
        super().__init__()
        self.embedding = embedding
        self.rnn = rnn
        self.dropout = dropout
        self.projection = projection
        self.output = output
        self.rnn_step = rnn_step
        self.weight_dropout = weight_dropout or RecurrentWeightDropout(0.0)

    def initial_state(self, batch_size: int, device: torch.device | str = "cpu") -> LmState:
        rnn = self.rnn
        hidden = torch.zeros(batch_size, rnn.num_layers, rnn.hidden_size, device=device)
        return LmState(hidden, hidden.clone() if rnn.mode == "LSTM" else None)

    def features(
        self, tokens: torch.Tensor, state: LmState, one_step: bool = False
    ) -> tuple[torch.Tensor, LmState]:
        """Token ids `[B, T]` from `state` -> the output layer's inputs `[B, T, E]` and the
        state after the last position."""
        embedded = self.dropout(self.embedding(tokens))
        rnn_state = to_rnn_state(state.hidden, state.cell)
        if one_step:
            outputs, rnn_state = self.rnn_step(self.rnn, embedded, rnn_state)
        else:
            outputs, rnn_state = self.weight_dropout(self.rnn, embedded, rnn_state)
        return self.projection(self.dropout(outputs)), LmState(*from_rnn_state(rnn_state))

    def forward(self, tokens: torch.Tensor, state: LmState) -> tuple[torch.Tensor, LmState]:
        """Logits `[B, T, V]` of each next token, and the state after the last position."""
        features, state = self.features(tokens, state)
        return self.output(features), state

    def decode_step(self, prev_tokens: torch.Tensor, state: LmState) -> LmStep:
        """prev_tokens `[B]` -> log-probabilities `[B, V]` of the next token."""
        features, state = self.features(prev_tokens[:, None], state, one_step=True)
        return LmStep(torch.log_softmax(self.output(features)[:, 0].float(), dim=-1), state)

    @staticmethod
    def detach(state: LmState) -> LmState:
        """The state without its history: truncated backpropagation stops here."""
        return LmState(*(None if t is None else t.detach() for t in state))
