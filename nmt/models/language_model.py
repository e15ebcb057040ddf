"""Language models (one to many): token embedding -> stacked RNN, or a dilated causal
convolution -> output layer over the vocabulary, predicting each next token. The state is
explicit: training carries it from one chunk of a long text to the next (truncated
backpropagation through time), and sampling gets it back from every `decode_step`, the same step
interface that search uses for translators. A recurrent model's state is its hidden (and cell)
state; a convolution's is the window of inputs it still sees (receptive field - 1 tokens).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from nmt.models.conv import DilatedCausalConv
from nmt.models.fast import RnnStep, plain_rnn_step
from nmt.models.recurrent import from_rnn_state, to_rnn_state
from nmt.models.weight_drop import RecurrentWeightDropout


class LmState(NamedTuple):
    hidden: torch.Tensor  # [B, L, H]; conv: the embedded inputs still in view, [B, W, E]
    cell: torch.Tensor | None  # [B, L, H] (LSTM only)


class LmStep(NamedTuple):
    log_probs: torch.Tensor  # [B, V]
    state: LmState
    attention: None = None  # what search's step interface carries; a language model has none


class NextTokenModel(nn.Module):
    """What every language model shares: `features` (token ids and a state -> the output
    layer's inputs and the next state) is the subclass's; scoring, the step interface and
    truncation are here."""

    output: nn.Linear

    def features(
        self, tokens: torch.Tensor, state: LmState, one_step: bool = False
    ) -> tuple[torch.Tensor, LmState]:
        raise NotImplementedError

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


class RecurrentLanguageModel(NextTokenModel):
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


class ConvLanguageModel(NextTokenModel):
    """A WaveNet-style language model: each next token predicted from the last
    `conv.receptive_field` tokens only. Chunks and single steps see the same window because the
    state keeps the embedded inputs of the previous receptive_field - 1 positions, so a text read
    in chunks (or sampled token by token) gets exactly the outputs of reading it at once."""

    def __init__(
        self, embedding: nn.Embedding, conv: DilatedCausalConv, dropout: nn.Module,
        projection: nn.Module, output: nn.Linear,
    ) -> None:  # fmt: skip
        super().__init__()
        self.embedding = embedding
        self.conv = conv
        self.dropout = dropout
        self.projection = projection
        self.output = output

    def initial_state(self, batch_size: int, device: torch.device | str = "cpu") -> LmState:
        """An empty window: before the text starts the convolution sees its own zero padding."""
        window = torch.zeros(batch_size, 0, self.embedding.embedding_dim, device=device)
        return LmState(window, None)

    def features(
        self, tokens: torch.Tensor, state: LmState, one_step: bool = False
    ) -> tuple[torch.Tensor, LmState]:
        """Token ids `[B, T]` after the window in `state` -> the output layer's inputs
        `[B, T, E]`, and the window the next call needs."""
        embedded = self.dropout(self.embedding(tokens))
        window = torch.cat([state.hidden.to(embedded.dtype), embedded], dim=1)
        outputs = self.conv(window)[:, -tokens.size(1) :]
        kept = window[:, max(0, window.size(1) - (self.conv.receptive_field - 1)) :]
        return self.projection(self.dropout(outputs)), LmState(kept, None)
