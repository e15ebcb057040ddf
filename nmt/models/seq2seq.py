"""Encoder-decoder composition and the narrow interface that search uses.

`encode` -> decoder state; `decode_step(prev_tokens, state)` -> log-probabilities, new state and
attention; `reorder(state, index)` follows surviving hypotheses. Training uses the teacher-forced
`forward`, which may take a faster path; a test pins it to T calls of `decode_step`.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from nmt.models.encoder import Bridge, RecurrentEncoder


class SearchStep(NamedTuple):
    log_probs: torch.Tensor  # [B, V]
    state: NamedTuple
    attention: torch.Tensor | None  # [B, S]


class Seq2Seq(nn.Module):
    def __init__(
        self, encoder: RecurrentEncoder, bridge: Bridge, decoder: nn.Module, generator: nn.Linear
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.bridge = bridge
        self.decoder = decoder
        self.generator = generator

    def encode(self, src: torch.Tensor, src_lengths: torch.Tensor) -> NamedTuple:
        """src `[B, S]` -> the decoder's initial state."""
        encoded = self.encoder(src, src_lengths)
        hidden, cell = self.bridge(encoded)
        return self.decoder.init_state(encoded, hidden, cell)

    def features(
        self, src: torch.Tensor, src_lengths: torch.Tensor, tgt_in: torch.Tensor
    ) -> torch.Tensor:
        """Teacher-forced output features `[B, T, O]`, before the output layer (so that a loss can
        project only the non-padding positions)."""
        return self.decoder(tgt_in, self.encode(src, src_lengths)).features

    def forward(
        self, src: torch.Tensor, src_lengths: torch.Tensor, tgt_in: torch.Tensor
    ) -> torch.Tensor:
        """Teacher-forced logits `[B, T, V]`."""
        return self.generator(self.features(src, src_lengths, tgt_in))

    def decode_step(self, prev_tokens: torch.Tensor, state: NamedTuple) -> SearchStep:
        """prev_tokens `[B]` -> log-probabilities `[B, V]` of the next token."""
        step = self.decoder.step(prev_tokens, state)
        log_probs = torch.log_softmax(self.generator(step.features).float(), dim=-1)
        return SearchStep(log_probs, step.state, step.attention)

    @staticmethod
    def reorder(
        state: NamedTuple, index: torch.Tensor, within_sentences: bool = False
    ) -> NamedTuple:
        """Select batch entries `index` `[B']` of every tensor in the state.

        within_sentences: every row moves only among the beams of its own sentence, so fields the
        state lists in `per_sentence` (the same for all beams of a sentence: encoder outputs,
        attention keys, mask) are already right and are not copied.
        """
        keep = getattr(state, "per_sentence", ()) if within_sentences else ()
        return type(state)(
            *(
                field.index_select(0, index)
                if isinstance(field, torch.Tensor) and name not in keep
                else field
                for name, field in zip(state._fields, state)
            )
        )
