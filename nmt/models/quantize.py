"""Dynamic int8 quantization for CPU inference: translation, and sampling and scoring with a
language model.

Weights of the linear layers (the output layer above all) and of the recurrent layers are stored
as int8; activations are quantized on the fly per batch, so int8 matrix products (fbgemm on x86)
replace float ones. This is a CPU inference option: the quantized model cannot be trained and
does not run on a GPU. Its cost is measured: BLEU by `nmt translate bench --quantize`, the
language model's loss and sampling speed by benchmarks/tiny_shakespeare.py (docs/RESULTS.md).
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

from nmt.errors import NmtError


def quantize_dynamic_int8(model: nn.Module, device: torch.device) -> nn.Module:
    """An int8 copy of `model` for CPU inference (linear and recurrent layers)."""
    if device.type != "cpu":
        raise NmtError(f"--quantize (int8 weights) is for the CPU; it cannot run on {device}")
    if "fbgemm" not in torch.backends.quantized.supported_engines and (
        "x86" not in torch.backends.quantized.supported_engines
    ):
        raise NmtError("--quantize needs torch's x86 quantized engine, which this build lacks")
    with warnings.catch_warnings():
        # torch.ao's eager quantization warns that it moves to torchao; it still ships with torch.
        warnings.simplefilter("ignore")
        from torch.ao.quantization import quantize_dynamic

        return quantize_dynamic(model.eval(), {nn.Linear, nn.LSTM, nn.GRU}, dtype=torch.qint8)
