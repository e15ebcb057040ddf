"""Recurrent encoder: embeddings -> (bi)directional stacked RNN over packed sequences."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from nmt.models.recurrent import RunPacked, run_packed
from nmt.models.weight_drop import RecurrentWeightDropout


class EncoderOutput(NamedTuple):
    outputs: torch.Tensor  # [B, S, D*H] top-layer states, directions concatenated
    mask: torch.Tensor  # [B, S] True on real tokens
    final_hidden: torch.Tensor  # [B, L, D*H] last state of every layer
    final_cell: torch.Tensor | None  # [B, L, D*H] (LSTM only)


class RecurrentEncoder(nn.Module):
    """Reads a padded batch of source ids; padding never enters the recurrence (packing).
    `weight_dropout` drops the recurrent weights in training (none by default); `run` runs the
    layer (`nmt.models.recurrent.run_packed`, or a faster equal function of nmt.models.fast)."""

    def __init__(
        self, embedding: nn.Embedding, rnn: nn.RNNBase, dropout: nn.Module,
        weight_dropout: RecurrentWeightDropout | None = None, run: RunPacked = run_packed,
    ) -> None:  # fmt: skip
        super().__init__()
        self.embedding = embedding
        self.rnn = rnn
        self.dropout = dropout
        self.weight_dropout = weight_dropout or RecurrentWeightDropout(0.0)
        self.run = run
        self.num_directions = 2 if rnn.bidirectional else 1

    @property
    def output_size(self) -> int:
        return self.rnn.hidden_size * self.num_directions

    def forward(self, src: torch.Tensor, src_lengths: torch.Tensor) -> EncoderOutput:
        """src `[B, S]`, src_lengths `[B]` -> EncoderOutput."""
        batch_size, src_len = src.shape
        embedded = self.dropout(self.embedding(src))  # [B, S, E]
        with self.weight_dropout.dropped(self.rnn):
            outputs, state = self.run(self.rnn, embedded, src_lengths)
        outputs = self.dropout(outputs)
        positions = torch.arange(src_len, device=src.device)
        mask = positions[None, :] < src_lengths.to(src.device)[:, None]
        hidden, cell = state if isinstance(state, tuple) else (state, None)
        return EncoderOutput(
            outputs=outputs,
            mask=mask,
            final_hidden=self._merge_directions(hidden, batch_size),
            final_cell=None if cell is None else self._merge_directions(cell, batch_size),
        )

    def _merge_directions(self, state: torch.Tensor, batch_size: int) -> torch.Tensor:
        """`[L*D, B, H]` -> `[B, L, D*H]`."""
        layers = state.view(self.rnn.num_layers, self.num_directions, batch_size, -1)
        merged = torch.cat(layers.unbind(1), dim=-1)  # [L, B, D*H]
        return merged.transpose(0, 1)


class Bridge(nn.Module):
    """Maps the encoder's final states to the decoder's initial states (linear + tanh).

    With equal layer counts each encoder layer initialises its decoder layer; otherwise the top
    encoder layer initialises every decoder layer.
    """

    def __init__(
        self, encoder_size: int, decoder_size: int, decoder_layers: int, lstm: bool
    ) -> None:
        super().__init__()
        self.decoder_layers = decoder_layers
        self.hidden_proj = nn.Linear(encoder_size, decoder_size)
        self.cell_proj = nn.Linear(encoder_size, decoder_size) if lstm else None

    def forward(self, encoded: EncoderOutput) -> tuple[torch.Tensor, torch.Tensor | None]:
        """-> (hidden `[B, L_dec, H_dec]`, cell or None)."""
        hidden = torch.tanh(self.hidden_proj(self._align_layers(encoded.final_hidden)))
        if self.cell_proj is None:
            return hidden, None
        source = encoded.final_cell if encoded.final_cell is not None else encoded.final_hidden
        return hidden, torch.tanh(self.cell_proj(self._align_layers(source)))

    def _align_layers(self, state: torch.Tensor) -> torch.Tensor:
        if state.size(1) == self.decoder_layers:
            return state
        return state[:, -1:].expand(-1, self.decoder_layers, -1)
