"""Input feeding through an `nn.LSTM`'s own weights, one product per step (any LSTM decoder).

Part of layer 0's input is known for every step in advance (the target embeddings): its share of
the gates is one matrix product over the whole sequence. Each step then needs one product for the
fed-back vector and the hidden state together, instead of a full `nn.LSTM` call whose per-call
set-up and backward dominate at one time step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from nmt.models.fast.ops import tanh
from nmt.models.recurrent import RnnState, current_weights, to_rnn_state

if TYPE_CHECKING:  # the decoder imports nothing from here; its builder hands these loops to it
    from nmt.models.decoder import AttentionDecoder, AttentionState


def fed_lstm_loop(
    decoder: AttentionDecoder, embedded: torch.Tensor, tgt_lengths: torch.Tensor,
    state: AttentionState,
) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """The input-feeding loop of `decoder` (an LSTM decoder) through `FedLSTM`; the same function
    as `nmt.models.decoder.step_by_step`."""
    lstm = FedLSTM(decoder.rnn, embedded, to_rnn_state(state.hidden, state.cell))
    input_feed = state.input_feed
    step_features, step_weights = [], []
    for t in range(embedded.size(1)):
        features, weights = decoder.attend(lstm.step(t, input_feed)[:, None], state)
        input_feed = features[:, 0]
        step_features.append(features)
        step_weights.append(weights)
    return torch.cat(step_features, 1), torch.cat(step_weights, 1)


class FedLSTM:
    """Runs an `nn.LSTM`'s own weights one time step at a time, for input feeding in training.
    Same function and parameters as calling the layer step by step (a test pins them equal);
    gradients reach the layer's weights."""

    def __init__(self, rnn: nn.LSTM, known_inputs: torch.Tensor, state: RnnState) -> None:
        """known_inputs `[B, T, E]` (the first E input features of every step), state as
        `nn.LSTM` takes it (`([L, B, H], [L, B, H])`)."""
        if rnn.proj_size or rnn.bidirectional or not rnn.batch_first:
            raise ValueError("FedLSTM runs batch-first, one-directional LSTMs without projections")
        self.rnn = rnn
        known_size = known_inputs.size(-1)
        weights = current_weights(rnn)
        weight_ih = weights["weight_ih_l0"]
        bias = weights["bias_ih_l0"] + weights["bias_hh_l0"] if rnn.bias else None
        known_gates = nn.functional.linear(known_inputs, weight_ih[:, :known_size], bias)
        # unbind, not slicing per step: a slice's backward writes a zero tensor of the full size.
        first_weight = _cast_once(
            torch.cat([weight_ih[:, known_size:], weights["weight_hh_l0"]], dim=1)
        )
        self.layers = [(first_weight, known_gates.unbind(1))]  # weight, T x [B, 4H] to add
        for layer in range(1, rnn.num_layers):
            weight = _cast_once(torch.cat(
                [weights[f"weight_ih_l{layer}"], weights[f"weight_hh_l{layer}"]], dim=1
            ))  # fmt: skip
            added = None
            if rnn.bias:
                added = weights[f"bias_ih_l{layer}"] + weights[f"bias_hh_l{layer}"]
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
