"""Recurrent cell factory (rnn | gru | lstm) and conversions of their hidden state.

States cross module boundaries batch-first (`[B, L, H]`) so that one generic reorder works for
search; `torch.nn` recurrent layers want them layer-first (`[L, B, H]`), which these helpers handle.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from nmt.models.fast_ops import tanh

CellType = Literal["rnn", "gru", "lstm"]
CELLS: dict[str, type[nn.RNNBase]] = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}

RnnState = torch.Tensor | tuple[torch.Tensor, torch.Tensor]


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


class FedLSTM:
    """Runs an `nn.LSTM`'s own weights one time step at a time, for input feeding in training.

    Part of layer 0's input is known for every step in advance (the target embeddings): its share
    of the gates is one matrix product over the whole sequence. Each step then needs one product
    for the fed-back vector and the hidden state together, instead of a full `nn.LSTM` call whose
    per-call set-up and backward dominate at one time step. Same function and parameters as
    calling the layer step by step (a test pins them equal); gradients reach the layer's weights.
    """

    def __init__(self, rnn: nn.LSTM, known_inputs: torch.Tensor, state: RnnState) -> None:
        """known_inputs `[B, T, E]` (the first E input features of every step), state as
        `nn.LSTM` takes it (`([L, B, H], [L, B, H])`)."""
        if rnn.proj_size or rnn.bidirectional or not rnn.batch_first:
            raise ValueError("FedLSTM runs batch-first, one-directional LSTMs without projections")
        self.rnn = rnn
        known_size = known_inputs.size(-1)
        weight_ih = rnn.weight_ih_l0
        bias = rnn.bias_ih_l0 + rnn.bias_hh_l0 if rnn.bias else None
        known_gates = nn.functional.linear(known_inputs, weight_ih[:, :known_size], bias)
        # unbind, not slicing per step: a slice's backward writes a zero tensor of the full size.
        first_weight = _cast_once(torch.cat([weight_ih[:, known_size:], rnn.weight_hh_l0], dim=1))
        self.layers = [(first_weight, known_gates.unbind(1))]  # weight, T x [B, 4H] to add
        for layer in range(1, rnn.num_layers):
            weight = _cast_once(torch.cat(
                [getattr(rnn, f"weight_ih_l{layer}"), getattr(rnn, f"weight_hh_l{layer}")], dim=1
            ))  # fmt: skip
            added = None
            if rnn.bias:
                added = getattr(rnn, f"bias_ih_l{layer}") + getattr(rnn, f"bias_hh_l{layer}")
            self.layers.append((weight, [added] * known_inputs.size(1)))
        hidden, cell = state
        if torch.is_autocast_enabled(cell.device.type):
            cell = cell.float()  # see _lstm_cell
        self.hidden = list(hidden.unbind(0))
        self.cell = list(cell.unbind(0))

    def step(self, t: int, fed: torch.Tensor) -> torch.Tensor:
        """Advance every layer by step t, with `fed` `[B, F]` the rest of layer 0's input;
        returns the top layer's output `[B, H]`."""
        below = fed
        for layer, (weight, added) in enumerate(self.layers):
            if layer > 0:
                below = nn.functional.dropout(below, self.rnn.dropout, self.rnn.training)
            inputs = torch.cat([below, self.hidden[layer]], 1)
            gates = (
                inputs @ weight.t()
                if added[t] is None
                else torch.addmm(added[t], inputs, weight.t())
            )
            self.hidden[layer], self.cell[layer] = _lstm_cell(gates, self.cell[layer])
            below = self.hidden[layer]
        return self.hidden[-1]


def _cast_once(weight: torch.Tensor) -> torch.Tensor:
    """The weight in autocast's dtype when autocast is on. Autocast caches its casts of
    parameters, not of tensors computed from them, so a step-loop product would cast anew at
    every step."""
    device = weight.device.type
    if torch.is_autocast_enabled(device):
        return weight.to(torch.get_autocast_dtype(device))
    return weight


def _lstm_cell(gates: torch.Tensor, cell: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """LSTM update from pre-activations `[B, 4H]` in `nn.LSTM`'s gate order (i, f, g, o).
    The cell runs in the state's precision (fp32 under bf16 autocast), as a sum over many steps
    would lose too much in bfloat16."""
    gates = gates.to(cell.dtype)
    size = cell.size(1)
    # One sigmoid over all gates (the candidate's share is unused) is cheaper than three calls.
    sigmoid = torch.sigmoid(gates)
    input_gate, forget_gate, _, output_gate = sigmoid.chunk(4, dim=1)
    candidate = tanh(gates[:, 2 * size : 3 * size])
    cell = torch.addcmul(forget_gate * cell, input_gate, candidate)
    return output_gate * tanh(cell), cell
