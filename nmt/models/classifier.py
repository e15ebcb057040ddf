"""Sequence classifier (many to one): token embedder -> stacked (bi)directional RNN, or a dilated
causal convolution -> pooling over the positions -> a linear layer of class scores.

Its parts are small modules chosen by the classification task's builder (nmt.classify.model):
the embedder of nmt.models.embedding (words and characters, or subword pieces), the sequence
encoder with the function that runs it over padded batches (`run_recurrent`, `run_causal_conv`),
and one of the poolings of nmt.models.pooling.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import torch
from torch import nn

from nmt.models.embedding import TokenEmbedder
from nmt.models.recurrent import run_packed


class ClassifierOutput(NamedTuple):
    logits: torch.Tensor  # [B, C]
    weights: torch.Tensor | None  # [B, T] where the pooling weighs positions (attention)


# (encoder, embedded [B, T, E], lengths [B]) -> outputs [B, T, D] and final vectors [B, D]
SequenceRun = Callable[[nn.Module, torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def run_recurrent(
    rnn: nn.RNNBase, inputs: torch.Tensor, lengths: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The RNN over packed sequences (padding never enters the recurrence); final: the top
    layer's last states, both directions concatenated."""
    outputs, state = run_packed(rnn, inputs, lengths)
    hidden = state[0] if isinstance(state, tuple) else state  # [L*D, B, H]
    directions = 2 if rnn.bidirectional else 1
    return outputs, torch.cat(list(hidden[-directions:]), dim=-1)


def run_causal_conv(
    conv: nn.Module, inputs: torch.Tensor, lengths: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """A causal convolution over the padded batch: padding comes after each text, so no real
    position sees it; final: the output at each text's last position."""
    outputs = conv(inputs)
    last = (lengths.to(inputs.device) - 1).clamp(min=0)
    return outputs, outputs[torch.arange(outputs.size(0), device=inputs.device), last]


class SequenceClassifier(nn.Module):
    def __init__(
        self, embedder: TokenEmbedder, encoder: nn.Module, encoder_size: int, pooling: nn.Module,
        num_classes: int, dropout: nn.Module, run: SequenceRun = run_recurrent,
    ) -> None:  # fmt: skip
        """`encoder` gives `encoder_size` features per position when `run` runs it."""
        super().__init__()
        self.embedder = embedder
        self.encoder = encoder
        self.run = run
        self.pooling = pooling
        self.dropout = dropout
        self.head = nn.Linear(encoder_size, num_classes)
        self._register_load_state_dict_pre_hook(_renamed_recurrent_layer)

    def forward(
        self, tokens: torch.Tensor, chars: torch.Tensor | None, lengths: torch.Tensor
    ) -> ClassifierOutput:
        """Class scores of padded token ids `[B, T]` (with their characters `[B, T, C]` for a
        character encoder) of `lengths` `[B]` (each at least 1)."""
        embedded = self.dropout(self.embedder(tokens, chars))
        outputs, final = self.run(self.encoder, embedded, lengths)  # [B, T, D], [B, D]
        positions = torch.arange(tokens.size(1), device=tokens.device)
        mask = positions[None, :] < lengths.to(tokens.device)[:, None]
        pooled = self.pooling(outputs, mask, final)
        return ClassifierOutput(self.head(self.dropout(pooled.vector)), pooled.weights)


def _renamed_recurrent_layer(state_dict: dict[str, Any], prefix: str, *args: Any) -> None:
    """Checkpoints from before the encoder could be a convolution name it `rnn.`."""
    for key in [k for k in state_dict if k.startswith(f"{prefix}rnn.")]:
        state_dict[f"{prefix}encoder.{key[len(prefix) + 4 :]}"] = state_dict.pop(key)
