"""Speed paths: hand-written kernels and loops that compute the same functions as plain PyTorch,
faster on the CPUs nmt is measured on (docs/RESULTS.md).

- `ops`: tanh through sigmoid, a cheaper dropout mask, one RNN step without oneDNN (CPU; other
  devices use torch's own);
- `fed_lstm`: input feeding through an nn.LSTM's own weights, one product per step;
- `input_feeding`: the one-layer LSTM + additive attention loop with a hand-written backward (its
  per-step products through `packed`: oneDNN with each weight laid out once per batch);
- `packed_lstm`: the encoder's one-layer (bidirectional) LSTM over packed sequences, the same way;
- `copy_scores`: the glossary memory's training scores without its vocabulary-wide mixture;
- `row_blocks`: products over a batch's tokens (the output layer) in a few row counts under
  bfloat16 autocast, so that oneDNN's caches hold their primitives.

Model builders choose them once, from the config switch `model.custom_kernels`: `kernels` gives
the elementwise functions and the encoder's recurrence, `choose_input_feeding` the teacher-forced
loop. With the switch off every model runs plain PyTorch; tests pin each speed path to the plain
one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import torch
from torch import nn

from nmt.models.fast import ops
from nmt.models.fast.copy_scores import copy_scores
from nmt.models.fast.fed_lstm import fed_lstm_loop
from nmt.models.fast.input_feeding import fused_input_feeding, fused_loop_applies
from nmt.models.fast.packed_lstm import packed_lstm
from nmt.models.fast.row_blocks import RowWise, in_row_blocks, plain_rows
from nmt.models.glossary import CopyScores, mixture_scores
from nmt.models.recurrent import RunPacked, run_packed

RnnStep = Callable[[nn.RNNBase, torch.Tensor, Any], tuple[torch.Tensor, Any]]


class Kernels(NamedTuple):
    """The elementwise functions a builder hands to the modules it makes."""

    tanh: Callable[[torch.Tensor], torch.Tensor]
    dropout: Callable[[float], nn.Module]  # probability -> dropout module
    rnn_step: RnnStep  # (rnn, inputs [B, 1, E], state) -> rnn(inputs, state), one time step
    copy_scores: CopyScores  # the glossary memory's training scores (nmt.models.glossary)
    run_packed: RunPacked  # (rnn, inputs [B, T, E], lengths [B]) -> nmt.models.recurrent.run_packed
    rows: RowWise  # (function, inputs [N, D]) -> function(inputs), for a row-by-row function


def plain_rnn_step(rnn: nn.RNNBase, inputs: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
    return rnn(inputs, state)


PLAIN = Kernels(torch.tanh, nn.Dropout, plain_rnn_step, mixture_scores, run_packed, plain_rows)
CUSTOM = Kernels(ops.tanh, ops.Dropout, ops.rnn_step, copy_scores, packed_lstm, in_row_blocks)


def kernels(custom: bool) -> Kernels:
    return CUSTOM if custom else PLAIN


def choose_input_feeding(rnn: nn.RNNBase, attention: nn.Module, slot_memory: nn.Module | None):
    """The fastest teacher-forced input-feeding loop for a decoder with these parts, or None
    when only the plain loop (`nmt.models.decoder.step_by_step`) covers it."""
    if fused_loop_applies(rnn, attention, slot_memory):
        return fused_input_feeding
    if isinstance(rnn, nn.LSTM) and not rnn.proj_size and not rnn.bidirectional:
        return fed_lstm_loop
    return None
