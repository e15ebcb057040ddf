"""The encoder's LSTM over packed sequences with a hand-written backward pass through time.

On the CPU, torch runs an `nn.LSTM` over a packed sequence step by step: each step multiplies its
input and its state by the weights separately, with as many rows as sentences are still going,
and autograd records every step's dozen operations and walks them back one by one. The
reference model's encoder took 64 ms of a 414 ms float32 training step that way (docs/RESULTS.md).
`packed_lstm` computes the same function for the common case (one layer, biases, no
projection, float32 or float64 on the CPU; under bfloat16 autocast its products run in bfloat16
and the rest in float32, as autocast runs `nn.LSTM`):
- the input's share of the gates is one product over all real positions, per direction;
- the two directions step together, their element-wise work in one operation per step;
- each step's state product runs through `PackedWeight` (oneDNN, weight laid out once);
- the backward pass walks back by hand, and each weight gradient is one product.
Outputs at padding positions are zero, as `pad_packed_sequence` gives them. A test pins outputs,
final states and gradients to `nn.LSTM`'s.

Step t of a direction, with the input's share `known_t = W_ih x_t + b` given:
    gates = known_t + W_hh h_{t-1};  i, f, o = sigmoid(gates);  u = tanh(gates)
    c_t = f c_{t-1} + i u;  h_t = o tanh(c_t)
The backward pass overwrites some saved buffers, so the graph supports one backward call.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import torch
from torch import nn

from nmt.models.fast.lstm_step import lstm_step_backward_
from nmt.models.fast.ops import tanh_of_doubled_
from nmt.models.fast.packed import PackedWeight
from nmt.models.fast.row_blocks import in_row_blocks, pad_rows
from nmt.models.fast.rows import Packing, pack, unpack, unsort
from nmt.models.recurrent import RnnState, current_weights, run_packed


def packed_lstm_applies(rnn: nn.RNNBase, inputs: torch.Tensor) -> bool:
    """Whether `packed_lstm` covers running `rnn` on `inputs`: a one-layer batch-first LSTM with
    biases and no projection on the CPU, float32 or float64 inputs without autocast or float32
    under bfloat16 autocast (otherwise torch's LSTM runs, with autocast's casts; on a GPU,
    cuDNN's fused LSTM)."""
    product_dtype = _product_dtype(inputs)
    return (
        inputs.device.type == "cpu"
        and type(rnn) is nn.LSTM
        and rnn.num_layers == 1
        and rnn.bias
        and not rnn.proj_size
        and rnn.batch_first
        and (
            inputs.dtype in (torch.float32, torch.float64)
            if product_dtype is None
            else (inputs.dtype, product_dtype) == (torch.float32, torch.bfloat16)
        )
    )


def _product_dtype(inputs: torch.Tensor) -> torch.dtype | None:
    """The dtype autocast runs products in, None where it is off."""
    if not torch.is_autocast_enabled(inputs.device.type):
        return None
    return torch.get_autocast_dtype(inputs.device.type)


def packed_lstm(
    rnn: nn.RNNBase, inputs: torch.Tensor, lengths: torch.Tensor
) -> tuple[torch.Tensor, RnnState]:
    """`nmt.models.recurrent.run_packed(rnn, inputs, lengths)`: outputs `[B, T, D*H]` (zero on
    padding) and the final `(hidden, cell)` `[D, B, H]`, through `PackedLSTMLoop` where
    `packed_lstm_applies`, else through `run_packed`."""
    if not packed_lstm_applies(rnn, inputs):
        return run_packed(rnn, inputs, lengths)
    batch, steps, _ = inputs.shape
    packing = pack(lengths.cpu(), steps)
    weights = current_weights(rnn)
    flat = inputs.reshape(batch * steps, -1)
    suffixes = ["_l0", "_l0_reverse"][: 2 if rnn.bidirectional else 1]
    row_positions = [packing.positions, packing.reversed_positions(steps)][: len(suffixes)]
    known = [
        in_row_blocks(
            partial(
                nn.functional.linear,
                weight=weights["weight_ih" + suffix],
                bias=weights["bias_ih" + suffix] + weights["bias_hh" + suffix],
            ),
            flat.index_select(0, rows),
        ).to(inputs.dtype)  # from autocast's dtype: the loop's own work is in the inputs'
        for suffix, rows in zip(suffixes, row_positions)
    ]
    recurrent = [weights["weight_hh" + suffix] for suffix in suffixes]
    product_dtype = _product_dtype(inputs)
    hidden, cells = PackedLSTMLoop.apply(packing, product_dtype, *known, *recurrent)  # [D, N, H]
    outputs = torch.cat(
        [unpack(hidden[d], rows, batch, steps) for d, rows in enumerate(row_positions)], dim=-1
    )
    last = packing.last_rows()
    final_hidden, final_cell = (
        unsort(states[:, last].transpose(0, 1), packing.order).transpose(0, 1).contiguous()
        for states in (hidden, cells)
    )
    return outputs, (final_hidden, final_cell)


class PackedLSTMLoop(torch.autograd.Function):
    """Inputs: the `packing` of the batch, the dtype of the products (None: the inputs'), then
    per direction the input's share of the gates `[N, 4H]` (biases included; a backward
    direction's rows read each sentence from its end, `Packing.reversed_positions`), then per
    direction the recurrent weight `[4H, H]`. Returns the hidden states and the cells `[D, N, H]`
    of every packed row; initial states are zero."""

    @staticmethod
    def forward(
        ctx: Any, packing: Packing, product_dtype: torch.dtype | None, *tensors: torch.Tensor
    ) -> tuple[torch.Tensor, ...]:
        directions = len(tensors) // 2
        known, recurrent = tensors[:directions], tensors[directions:]
        total, hidden_size = known[0].size(0), recurrent[0].size(1)
        new = known[0].new_empty
        activations = new(directions, total, 4 * hidden_size)  # i, f, u, o after nonlinearity
        cells = new(directions, total, hidden_size)
        cell_tanh = new(directions, total, hidden_size)
        hidden = new(directions, total, hidden_size)
        candidate = slice(2 * hidden_size, 3 * hidden_size)
        # tanh(z) = 2 sigmoid(2z) - 1 (see nmt.models.fast.ops): with the candidate's rows of the
        # gates doubled, one sigmoid gives all four gates.
        doubled_known, products = [], []
        for known_gates, weight in zip(known, recurrent):
            doubled_known.append(known_gates.clone())
            doubled_known[-1][:, candidate] *= 2
            doubled_weight = weight.clone()
            doubled_weight[candidate] *= 2
            products.append(PackedWeight(doubled_weight, packing.counts[0], product_dtype))
        for t in range(len(packing.counts)):
            rows = packing.rows(t)
            act = activations[:, rows]
            for d in range(directions):
                gates = doubled_known[d][rows]  # h_{-1} = 0
                if t > 0:
                    gates = products[d](hidden[d, packing.before(t)], gates)
                torch.sigmoid(gates, out=act[d])
            act[:, :, candidate].mul_(2).sub_(1)
            input_gate, forget_gate, candidate_value, output_gate = act.chunk(4, 2)
            new_cell = cells[:, rows]
            torch.mul(input_gate, candidate_value, out=new_cell)
            if t > 0:
                new_cell.addcmul_(forget_gate, cells[:, packing.before(t)])
            tanh_of_doubled_(torch.mul(new_cell, 2, out=cell_tanh[:, rows]))
            torch.mul(output_gate, cell_tanh[:, rows], out=hidden[:, rows])
        ctx.packing, ctx.product_dtype = packing, product_dtype
        ctx.save_for_backward(activations, cells, cell_tanh, hidden, *recurrent)
        return hidden, cells

    @staticmethod
    def backward(ctx: Any, grad_hidden: torch.Tensor, grad_cells: torch.Tensor) -> tuple:
        activations, cells, cell_tanh, hidden, *recurrent = ctx.saved_tensors
        packing: Packing = ctx.packing
        directions, _, hidden_size = cells.shape
        batch = packing.counts[0]
        grad_gates = torch.empty_like(activations)
        # Carried to the step before, for the sentences in length order; rows of sentences that
        # have not started yet (seen from the end) stay zero.
        carried_hidden = cells.new_zeros(directions, batch, hidden_size)
        carried_cell = cells.new_zeros(directions, batch, hidden_size)
        product_dtype = ctx.product_dtype or cells.dtype
        hidden_from_gates = [PackedWeight(weight.t(), batch, product_dtype) for weight in recurrent]
        for t in reversed(range(len(packing.counts))):
            rows, count = packing.rows(t), packing.counts[t]
            total_hidden = grad_hidden[:, rows] + carried_hidden[:, :count]
            cell_grad = carried_cell[:, :count]
            cell_grad += grad_cells[:, rows]
            previous_cell = None if t == 0 else cells[:, packing.before(t)]  # c_{-1} = 0
            lstm_step_backward_(
                total_hidden, cell_grad, activations[:, rows], cell_tanh[:, rows], previous_cell,
                grad_gates[:, rows],
            )  # fmt: skip
            if t == 0:
                break
            for d in range(directions):
                carried_hidden[d, :count] = hidden_from_gates[d](grad_gates[d, rows])
        previous = packing.previous_rows()
        after_first = slice(packing.counts[0], None)
        # In bfloat16 (oneDNN) the shared dimension is padded with zeros to one of a few sizes,
        # as in nmt.models.fast.row_blocks.
        pad = pad_rows if ctx.product_dtype is not None else (lambda rows: rows)
        grad_recurrent = [
            (
                pad(grad_gates[d, after_first].to(product_dtype)).t()
                @ pad(hidden[d].index_select(0, previous).to(product_dtype))
            ).to(weight.dtype)
            for d, weight in enumerate(recurrent)
        ]
        return None, None, *grad_gates.unbind(0), *grad_recurrent
