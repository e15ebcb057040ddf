"""Replacements for torch operations that are slow on CPU: same functions, cheaper kernels.

Measured with torch 2.13 on 2 cores (benchmarks/cpu_limits.py prints these):
- `torch.tanh` takes about 1 ms on a [64, 17, 512] tensor, `torch.sigmoid` about 0.15 ms; so
  `tanh` here computes tanh(x) = 2 sigmoid(2x) - 1 (absolute error under 2e-7 in float32) with
  the usual backward, (1 - y^2) * grad.
- `nn.Dropout` draws its mask with `bernoulli_`, about 7 ms for 655k elements; `Dropout` here
  compares 16-bit slices of 64-bit random integers with a threshold, about 2 ms.
- one time step of an nn.LSTM/GRU/RNN (`rnn_step`: sampling) runs without oneDNN.
On other devices all fall back to torch's own kernels, which are fast there.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class _SigmoidTanh(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, inputs: torch.Tensor) -> torch.Tensor:
        outputs = tanh_of_doubled_(inputs * 2)
        ctx.save_for_backward(outputs)
        return outputs

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        (outputs,) = ctx.saved_tensors
        return torch.ops.aten.tanh_backward(grad, outputs)


def tanh(inputs: torch.Tensor) -> torch.Tensor:
    """torch.tanh, computed through sigmoid on CPU."""
    if inputs.device.type != "cpu":
        return torch.tanh(inputs)
    return _SigmoidTanh.apply(inputs)


def tanh_of_doubled_(doubled: torch.Tensor) -> torch.Tensor:
    """tanh(z) written over `doubled` = 2z, in place: 2 sigmoid(2z) - 1."""
    return doubled.sigmoid_().mul_(2).sub_(1)


class Dropout(nn.Module):
    """nn.Dropout with a cheaper mask on CPU: the drop probability is rounded to a multiple of
    2^-16 (0.3 becomes 0.300003). Draws from torch's generator: `torch.manual_seed` repeats it."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = p
        self._threshold = round(p * 65536) - 32768  # keep a 16-bit draw at or above this

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return inputs
        if inputs.device.type != "cpu":
            return nn.functional.dropout(inputs, self.p, True)
        count = inputs.numel()
        draws = torch.empty((count + 3) // 4, dtype=torch.int64)
        draws.random_(-(2**63), None)  # all 64 bits uniform: four 16-bit draws per integer
        keep = draws.view(torch.int16)[:count].view(inputs.shape) >= self._threshold
        return inputs * keep.to(inputs.dtype).mul_(1.0 / (1.0 - self.p))

    def extra_repr(self) -> str:
        return f"p={self.p}"


def rnn_step(rnn: nn.RNNBase, inputs: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
    """`rnn(inputs, state)` for a single time step. On the CPU PyTorch runs nn.LSTM/GRU/RNN
    through oneDNN, which prepares the weights anew at every call: a step of a 2-layer 512 LSTM
    took 3.1 ms that way and 0.4 ms through PyTorch's own kernels (docs/RESULTS.md), so a single
    step runs with oneDNN off. Longer inputs (training, scoring) keep oneDNN."""
    if inputs.device.type != "cpu" or not torch._C._get_mkldnn_enabled():
        return rnn(inputs, state)
    # The switch behind torch.backends.mkldnn.flags, set alone: flags() also resets the TF32
    # settings and warns about them at every call, once per sampled token here.
    torch._C._set_mkldnn_enabled(False)
    try:
        return rnn(inputs, state)
    finally:
        torch._C._set_mkldnn_enabled(True)
