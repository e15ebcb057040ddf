"""Recurrent cell factory (rnn | gru | lstm), packed runs, and conversions of their hidden state.

States cross module boundaries batch-first (`[B, L, H]`) so that one generic reorder works for
search; `torch.nn` recurrent layers want them layer-first (`[L, B, H]`), which these helpers handle.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

CellType = Literal["rnn", "gru", "lstm"]
CELLS: dict[str, type[nn.RNNBase]] = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}

RnnState = torch.Tensor | tuple[torch.Tensor, torch.Tensor]
# (rnn, inputs [B, T, E], lengths [B]) -> outputs and final state: `run_packed` or an equal function
RunPacked = Callable[[nn.RNNBase, torch.Tensor, torch.Tensor], tuple[torch.Tensor, RnnState]]


def build_rnn(
    cell: CellType,
    input_size: int,
    hidden_size: int,
    num_layers: int = 1,
    dropout: float = 0.0,
    bidirectional: bool = False,
) -> nn.RNNBase:
    """A batch-first stacked recurrent layer; dropout applies between layers only."""
    return CELLS[cell](
        input_size,
        hidden_size,
        num_layers=num_layers,
        dropout=dropout if num_layers > 1 else 0.0,
        bidirectional=bidirectional,
        batch_first=True,
    )


def run_packed(
    rnn: nn.RNNBase, inputs: torch.Tensor, lengths: torch.Tensor
) -> tuple[torch.Tensor, RnnState]:
    """Run a batch-first layer over padded `inputs` [B, T, E] without letting padding into the
    recurrence; returns outputs [B, T, D*H] (zeros on padding) and the final state."""
    # pack_padded_sequence wants lengths on the CPU, whatever the device of the data.
    packed = pack_padded_sequence(inputs, lengths.cpu(), batch_first=True, enforce_sorted=False)
    packed_out, state = rnn(packed)
    outputs, _ = pad_packed_sequence(packed_out, batch_first=True, total_length=inputs.size(1))
    return outputs, state


def current_weights(rnn: nn.RNNBase) -> dict[str, torch.Tensor]:
    """The weights `rnn`'s own kernels use now, by name (`weight_hh_l0`, ...): its parameters,
    or their dropped copies inside `RecurrentWeightDropout.dropped`. Code that runs a layer's
    weights by hand reads them here, so that it computes what calling the layer computes."""
    rnn._update_flat_weights()  # what the layer's own forward does first (parameters swapped)
    return dict(zip(rnn._flat_weights_names, rnn._flat_weights))


def to_rnn_state(hidden: torch.Tensor, cell: torch.Tensor | None) -> RnnState:
    """Batch-first `[B, L, H]` state -> what `nn.RNNBase` takes (`[L, B, H]`, paired for LSTM)."""
    hidden = hidden.transpose(0, 1).contiguous()
    if cell is None:
        return hidden
    return hidden, cell.transpose(0, 1).contiguous()


def from_rnn_state(state: RnnState) -> tuple[torch.Tensor, torch.Tensor | None]:
    """What `nn.RNNBase` returns -> batch-first `(hidden, cell)`, cell None unless LSTM."""
    if isinstance(state, tuple):
        return state[0].transpose(0, 1), state[1].transpose(0, 1)
    return state.transpose(0, 1), None
