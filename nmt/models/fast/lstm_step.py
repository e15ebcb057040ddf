"""One LSTM step's backward pass, shared by the hand-written loops (`input_feeding`,
`packed_lstm`), which keep each step's gates after their nonlinearities."""

from __future__ import annotations

import torch


def lstm_step_backward_(
    grad_hidden: torch.Tensor,
    carried_cell: torch.Tensor,
    activations: torch.Tensor,
    cell_tanh: torch.Tensor,
    previous_cell: torch.Tensor | None,
    grad_gates: torch.Tensor,
) -> None:
    """With c_t = f c_{t-1} + i u and h_t = o tanh(c_t): from the gradient of h_t and the one of
    c_t carried from later steps (`carried_cell`, updated in place to the gradient of c_{t-1}),
    write the gradient of the gates' pre-activations into `grad_gates`. `activations` holds
    i, f, u, o after their nonlinearities along the last dimension, as `grad_gates` gets them;
    `previous_cell` None means c_{t-1} = 0."""
    input_gate, forget_gate, candidate_value, output_gate = activations.chunk(4, -1)
    grad_input, grad_forget, grad_candidate, grad_out = grad_gates.chunk(4, -1)
    torch.mul(grad_hidden, cell_tanh, out=grad_out)
    grad_out.mul_(output_gate * (1 - output_gate))
    carried_cell.addcmul_(grad_hidden * output_gate, 1 - cell_tanh * cell_tanh)
    torch.mul(carried_cell, candidate_value, out=grad_input)
    grad_input.mul_(input_gate * (1 - input_gate))
    if previous_cell is None:
        grad_forget.zero_()
    else:
        torch.mul(carried_cell, previous_cell, out=grad_forget)
        grad_forget.mul_(forget_gate * (1 - forget_gate))
    torch.mul(carried_cell, input_gate, out=grad_candidate)
    grad_candidate.mul_(1 - candidate_value * candidate_value)
    carried_cell.mul_(forget_gate)
