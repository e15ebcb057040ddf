"""A dilated causal 1-D convolution encoder (WaveNet, van den Oord et al. 2016; the TCN of Bai et
al. 2018): residual blocks whose dilations grow geometrically, 1, b, b**2, ..., b**(levels-1) with
b = 2 by default (dilations double), so the span of inputs each output sees grows exponentially
with depth while every output looks only back.

Receptive field (steps t' <= t that output t depends on, t itself included):
    1 + (kernel_size - 1) * (b**levels - 1) / (b - 1)
which is 1 + (kernel_size - 1) * (2**levels - 1) for b = 2, and kernel_size**levels for
b = kernel_size (WaveNet's tiling: every offset inside the field reached by exactly one path).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class GatedActivation(nn.Module):
    """WaveNet's gate: tanh(a) * sigmoid(b), a and b the two halves of the channels [B, 2C, T]."""

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        filters, gates = inputs.chunk(2, dim=1)
        return torch.tanh(filters) * torch.sigmoid(gates)


class CausalConvBlock(nn.Module):
    """One residual level, channel-first [B, C, T] -> [B, C, T]: a dilated convolution padded on
    the left only (so output t sees inputs t, t - dilation, ..., never a later one), its
    activation, a 1x1 convolution that mixes the channels, dropout, and the residual sum."""

    def __init__(
        self, channels: int, kernel_size: int, dilation: int, gated: bool, dropout: float
    ) -> None:
        super().__init__()
        self.left_padding = (kernel_size - 1) * dilation
        widths = 2 * channels if gated else channels  # the gate needs a filter and a gate half
        self.conv = nn.Conv1d(channels, widths, kernel_size, dilation=dilation)
        self.activation = GatedActivation() if gated else nn.ReLU()
        self.mix = nn.Conv1d(channels, channels, 1)
        self.dropout = nn.Dropout(dropout)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        hidden = self.activation(self.conv(F.pad(inputs, (self.left_padding, 0))))
        return inputs + self.dropout(self.mix(hidden))


class DilatedCausalConv(nn.Module):
    """Stack of residual blocks of causal 1-D convolutions with dilations 1, b, b**2, ...,
    b**(levels-1) (b = dilation_base), after a 1x1 projection of the inputs to `channels`.

    Batch-first like the recurrent encoders, [B, T, input_size] -> [B, T, channels]: output t
    depends only on inputs t' <= t with t - t' < receptive_field. Unlike a recurrent layer it
    runs every step at once, but it can remember nothing older than its receptive field."""

    def __init__(
        self,
        input_size: int,
        channels: int,
        levels: int,
        kernel_size: int = 2,
        gated: bool = False,
        dropout: float = 0.0,
        dilation_base: int = 2,
    ) -> None:
        super().__init__()
        if levels < 1 or kernel_size < 2 or not 2 <= dilation_base <= kernel_size:
            raise ValueError(f"levels {levels}, kernel_size {kernel_size} and dilation_base "
                             f"{dilation_base}: give levels >= 1, kernel_size >= 2 and 2 <= "
                             "dilation_base <= kernel_size (a larger base leaves offsets inside "
                             "the field unseen)")  # fmt: skip
        self.projection = nn.Conv1d(input_size, channels, 1)
        self.blocks = nn.Sequential(*(
            CausalConvBlock(channels, kernel_size, dilation_base**level, gated, dropout)
            for level in range(levels)
        ))  # fmt: skip
        self.receptive_field = 1 + (kernel_size - 1) * sum(dilation_base**level
                                                           for level in range(levels))
        self.output_size = channels

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        hidden = self.projection(inputs.transpose(1, 2))  # [B, C, T]: Conv1d is channel-first
        return self.blocks(hidden).transpose(1, 2)  # [B, T, C]
