"""Recurrent sequence classifier (many to one): token embedder -> stacked (bi)directional RNN ->
pooling over the positions -> a linear layer of class scores.

Its parts are small modules chosen by the classification task's builder (nmt.classify.model):
the embedder of nmt.models.embedding (words and characters, or subword pieces), the recurrent
layer, and one of the poolings of nmt.models.pooling.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from nmt.models.embedding import TokenEmbedder
from nmt.models.recurrent import run_packed


class ClassifierOutput(NamedTuple):
    logits: torch.Tensor  # [B, C]
    weights: torch.Tensor | None  # [B, T] where the pooling weighs positions (attention)


class SequenceClassifier(nn.Module):
    def __init__(
        self, embedder: TokenEmbedder, rnn: nn.RNNBase, pooling: nn.Module, num_classes: int,
        dropout: nn.Module,
    ) -> None:  # fmt: skip
        super().__init__()
        self.embedder = embedder
        self.rnn = rnn
        self.pooling = pooling
        self.dropout = dropout
        self.directions = 2 if rnn.bidirectional else 1
        self.head = nn.Linear(rnn.hidden_size * self.directions, num_classes)

    def forward(
        self, tokens: torch.Tensor, chars: torch.Tensor | None, lengths: torch.Tensor
    ) -> ClassifierOutput:
        """Class scores of padded token ids `[B, T]` (with their characters `[B, T, C]` for a
        character encoder) of `lengths` `[B]` (each at least 1)."""
        embedded = self.dropout(self.embedder(tokens, chars))
        outputs, state = run_packed(self.rnn, embedded, lengths)  # [B, T, D*H]
        positions = torch.arange(tokens.size(1), device=tokens.device)
        mask = positions[None, :] < lengths.to(tokens.device)[:, None]
        pooled = self.pooling(outputs, mask, self._final(state))
        return ClassifierOutput(self.head(self.dropout(pooled.vector)), pooled.weights)

    def _final(self, state: torch.Tensor | tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """The top layer's last states, both directions concatenated: `[B, D*H]`."""
        hidden = state[0] if isinstance(state, tuple) else state  # [L*D, B, H]
        return torch.cat(list(hidden[-self.directions :]), dim=-1)
