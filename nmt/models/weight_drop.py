"""Weight dropout on the recurrent (hidden-to-hidden) matrices of an nn.RNN/GRU/LSTM, the
DropConnect regulariser of AWD-LSTM (Merity et al. 2017): during training each forward pass
drops entries of W_hh, the same entries at every time step, so the recurrence itself is
regularised without breaking the fused kernels. Outside training the layer runs untouched."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn


class RecurrentWeightDropout(nn.Module):
    """Runs `rnn(inputs, state)` (or a block of calls, `dropped`) with its hidden-to-hidden
    weights dropped (probability `p`, scaled by 1 / (1 - p)) while this module is training."""

    def __init__(self, p: float = 0.0) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"weight dropout must be in [0, 1), got {p}")
        self.p = p

    def forward(
        self, rnn: nn.RNNBase, inputs: torch.Tensor, state: Any
    ) -> tuple[torch.Tensor, Any]:
        with self.dropped(rnn):
            return rnn(inputs, state)

    @contextmanager
    def dropped(self, rnn: nn.RNNBase) -> Iterator[None]:
        """Inside the block, every call of `rnn` uses one draw of dropped recurrent weights (the
        same mask at every time step and in every call, as a step-by-step loop needs); nothing
        is dropped outside training."""
        if not self.training or self.p == 0.0:
            yield
            return
        # nn.RNNBase hands its kernels the list `_flat_weights`; dropped copies go in its place
        # for the block (gradients reach the parameters through them), the originals come back.
        original = rnn._flat_weights
        rnn._flat_weights = [
            nn.functional.dropout(weight, self.p, True) if name.startswith("weight_hh") else weight
            for name, weight in zip(rnn._flat_weights_names, original)
        ]
        try:
            yield
        finally:
            rnn._flat_weights = original

    def extra_repr(self) -> str:
        return f"p={self.p}"
