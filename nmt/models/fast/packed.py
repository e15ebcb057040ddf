"""Products with one weight over many small inputs, through oneDNN with the weight laid out once.

A step loop multiplies a few dozen rows by the same weight at every time step. For the
input-feeding loop's gates (1024 -> 2048) at 64 and 20 rows torch's float32 `mm` (MKL) ran at
121 and 98 GFLOP/s on the 2-core AVX512 AMD EPYC, oneDNN's matmul with the weight already in its
own blocked layout at 195 and 193 (`benchmarks/cpu_limits.py` prints these). Laying out a
[2048, 1024] weight takes about 1 ms, so a loop packs its weights once per call.

oneDNN builds a primitive for every input row count and keeps it in a cache of limited size
(nmt.engine.allocator). A packed loop's steps have every row count from 1 to the batch size, six
weights each: with the cache at 64 entries it evicted every primitive before its next use, and
building them anew ate the whole gain (in-process rounds: no faster than torch's product). So
inputs are padded to a multiple of `ROW_MULTIPLE` rows: four row counts per weight, and the
padding costs little since length-bucketed batches have few short steps. (Products over a whole
batch's tokens are padded the same way, to coarser blocks: nmt.models.fast.row_blocks.)
"""

from __future__ import annotations

import torch

from nmt.models.fast.row_blocks import pad_rows

ROW_MULTIPLE = 16


def onednn_applies(weight: torch.Tensor) -> bool:
    """Whether `PackedWeight` can run `weight` through oneDNN: float32 (or bfloat16 where the
    CPU has bf16 units) on the CPU, oneDNN built in and enabled."""
    return (
        weight.device.type == "cpu"
        and (
            weight.dtype == torch.float32
            or (weight.dtype == torch.bfloat16 and torch.ops.mkldnn._is_mkldnn_bf16_supported())
        )
        and torch.backends.mkldnn.is_available()
        and torch._C._get_mkldnn_enabled()
        and hasattr(torch.ops.mkldnn, "_reorder_linear_weight")
    )


class PackedWeight:
    """`inputs @ weight.t()` (a linear layer without bias) for many inputs of up to `rows` rows,
    optionally plus `added`; the same values as torch's product up to float32 rounding. Falls
    back to torch's product where oneDNN does not apply. The weight is read once, at packing:
    later changes to it are not seen. Carries no gradient.

    With `dtype` (bfloat16 under autocast, say) the product runs in it: the weight is cast once,
    each input at its call, and the result comes back in the input's dtype."""

    def __init__(self, weight: torch.Tensor, rows: int, dtype: torch.dtype | None = None) -> None:
        weight = weight.detach().to(dtype or weight.dtype)
        self.dtype = weight.dtype
        self.weight, self.packed = weight, None  # torch's product uses the weight, oneDNN `packed`
        if onednn_applies(weight):
            # from a contiguous copy: oneDNN lays out a transposed view several times slower
            self.packed = torch.ops.mkldnn._reorder_linear_weight(weight.contiguous(), max(rows, 1))
            self.weight = None

    def __call__(self, inputs: torch.Tensor, added: torch.Tensor | None = None) -> torch.Tensor:
        if inputs.dtype != self.dtype:
            result = self(inputs.to(self.dtype)).to(inputs.dtype)
            return result if added is None else result.add_(added)
        if self.weight is not None:
            if added is None:
                return inputs @ self.weight.t()
            return torch.addmm(added, inputs, self.weight.t())
        product = torch.ops.mkldnn._linear_pointwise
        padded = pad_rows(inputs, ROW_MULTIPLE)
        if padded is not inputs:
            result = product(padded, self.packed, None, "none", [], "")[: inputs.size(0)]
            return result if added is None else result.add_(added)
        if added is None:
            return product(inputs, self.packed, None, "none", [], "")
        return product.binary(inputs, added, self.packed, None, "add")
