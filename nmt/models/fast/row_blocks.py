"""Products over a batch's tokens in a few row counts, so that oneDNN's caches can hold them.

Under bfloat16 autocast on the CPU, PyTorch runs every matrix product through oneDNN, which
builds a primitive (compiled kernels, about half a megabyte) for every shape it meets and keeps
it in two caches of 1,024 entries (nmt.engine.allocator). A product over all of a batch's real
tokens (the encoder's input share of the gates, the output layer) has as many row counts as
batches have token counts: 334 in one epoch of `multi30k_en_de_cpu`, three primitives each (the
product and its two gradients), more than the caches hold, so training kept building them anew.
With the rows padded by zeros to a multiple of `ROW_BLOCK` the same epoch has 27 source and 32
target row counts, and training meets about 600 primitives in all, which the caches keep: over
600 steps oneDNN built 603 primitives in 0.26 s instead of 4,124 in 3.7 s (3% of the steps'
time; docs/RESULTS.md). The zero rows cost 3% of those products on average.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

ROW_BLOCK = 64

RowWise = Callable[[Callable[[torch.Tensor], torch.Tensor], torch.Tensor], torch.Tensor]


def plain_rows(
    function: Callable[[torch.Tensor], torch.Tensor], inputs: torch.Tensor
) -> torch.Tensor:
    """`function(inputs)`: the plain counterpart of `in_row_blocks`."""
    return function(inputs)


def pad_rows(inputs: torch.Tensor, block: int = ROW_BLOCK) -> torch.Tensor:
    """`inputs` with zero rows appended up to a multiple of `block` rows (itself if none are)."""
    padding = -inputs.size(0) % block
    if not padding:
        return inputs
    return nn.functional.pad(inputs, (0, 0) * (inputs.dim() - 1) + (0, padding))


def in_row_blocks(
    function: Callable[[torch.Tensor], torch.Tensor], inputs: torch.Tensor
) -> torch.Tensor:
    """`function(inputs)` for a function that maps each row of `inputs` on its own (a linear
    layer): under CPU autocast (whose bfloat16 or float16 products run through oneDNN),
    computed over `pad_rows(inputs)` and cut back, so its gradients run over the padded rows as
    well; elsewhere called as it is (float32 products go to MKL, which keeps nothing per shape)."""
    if inputs.device.type != "cpu" or not torch.is_autocast_enabled("cpu"):
        return function(inputs)
    return function(pad_rows(inputs))[: inputs.size(0)]
