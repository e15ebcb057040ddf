"""What bounds a CPU training step here: allocation, matrix-product rates and FLOPs per token.

Prints three things (docs/RESULTS.md, issue 7, third sitting):
- the time to allocate and fill a logits-sized fp32 tensor ([1500, 8000], 48 MiB) fresh each time,
  against refilling one kept tensor, under this process's malloc setting
  (`NMT_KEEP_FREED_MEMORY=0` leaves glibc's default; run it both ways);
- fp32 and bf16 `torch.mm` rates for the output layer's shape and the input-feeding loop's
  per-step product, and the fp32 rate of the same products through oneDNN;
- `torch.tanh` against tanh through sigmoid, and `nn.Dropout` against `nmt.models.fast_ops`'
  Dropout, on attention-energy and decoder-output sized tensors (issue 7, fourth sitting);
- matrix-product MFLOP per target token of one training step (forward + backward) of the
  reference model and of its fast path, counted by `torch.utils.flop_counter` over 20 batches.
  It counts with oneDNN off, so that the input-feeding loop's packed products
  (nmt.models.fast.packed) run through torch's and are seen; the fast path's decoder `nn.LSTM`
  then runs torch's own kernels and is counted too (46.0 MFLOP; 36.0 with oneDNN on, before
  2026-12-06). The encoder's LSTM is counted too (5.9 of the reference's 53.1 MFLOP per target
  token, fifth sitting of 2026-12-06): through `nmt.models.fast.packed_lstm`, and equally through
  torch's packed `nn.LSTM`, which with oneDNN off runs products the counter sees (53.2 with it in
  the encoder, sixth sitting).

    python benchmarks/cpu_limits.py --data ../shared/data/multi30k
    NMT_KEEP_FREED_MEMORY=0 python benchmarks/cpu_limits.py --data ../shared/data/multi30k

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from nmt.data.special import PAD_ID
from nmt.engine.allocator import keep_freed_memory
from nmt.models.fast import ops as fast_ops
from nmt.translation.config import load as load_config
from nmt.translation.datamodule import TranslationDataModule
from nmt.translation.model import build_seq2seq
from nmt.translation.module import LitSeq2Seq

VARIANTS = {
    "reference (Bahdanau + input feeding)": [],
    "fast path (Luong, no input feeding)": ["model.input_feeding=false", "model.attention=luong"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="Multi30k folder (train/val/test2016)")
    args = parser.parse_args()
    print(f"malloc keeps freed memory: {keep_freed_memory()}")
    kept = torch.empty(1500, 8000)
    print(f"fresh [1500, 8000] zeros: {_milliseconds(lambda: torch.zeros(1500, 8000)):.1f} ms")
    print(f"refill of a kept one:     {_milliseconds(lambda: kept.fill_(0)):.1f} ms")
    for rows, inner, columns in ((1280, 512, 8000), (64, 1024, 2048), (20, 1024, 2048)):
        for dtype in (torch.float32, torch.bfloat16):
            left = torch.randn(rows, inner, dtype=dtype)
            right = torch.randn(inner, columns, dtype=dtype)
            seconds = _milliseconds(lambda a=left, b=right: a @ b) / 1000
            rate = 2 * rows * inner * columns / seconds / 1e9
            print(f"mm {rows}x{inner}x{columns} {str(dtype)[6:]}: {rate:.0f} GFLOP/s")
        print(f"  fp32 through oneDNN, weight laid out once: {_onednn_rate(rows, inner, columns)}")
    energies, outputs = torch.randn(64, 17, 512), torch.randn(64, 20, 512)
    print(f"torch.tanh [64, 17, 512]:   {_milliseconds(lambda: torch.tanh(energies)):.2f} ms")
    print(f"fast_ops.tanh:              {_milliseconds(lambda: fast_ops.tanh(energies)):.2f} ms")
    torch_dropout, our_dropout = torch.nn.Dropout(0.3), fast_ops.Dropout(0.3)
    print(f"nn.Dropout [64, 20, 512]:   {_milliseconds(lambda: torch_dropout(outputs)):.2f} ms")
    print(f"fast_ops.Dropout:           {_milliseconds(lambda: our_dropout(outputs)):.2f} ms")
    for name, overrides in VARIANTS.items():
        print(f"{name}: {_flops_per_token(args.data, overrides) / 1e6:.1f} MFLOP per target token")


def _onednn_rate(rows: int, inner: int, columns: int) -> str:
    """GFLOP/s of the same fp32 product through oneDNN's matmul with its weight reordered once
    (torch's own fp32 `mm` calls MKL), as nmt.models.fast.packed runs the input-feeding loop's."""
    if not hasattr(torch.ops.mkldnn, "_reorder_linear_weight"):
        return "not in this torch build"
    inputs, weight = torch.randn(rows, inner), torch.randn(columns, inner)
    packed = torch.ops.mkldnn._reorder_linear_weight(weight, rows)
    product = torch.ops.mkldnn._linear_pointwise
    result = product(inputs, packed, None, "none", [], "")
    if not torch.allclose(result, inputs @ weight.t(), atol=1e-3, rtol=1e-4):
        return "differs from torch.mm (reduced precision?)"
    seconds = _milliseconds(lambda: product(inputs, packed, None, "none", [], "")) / 1000
    return f"{2 * rows * inner * columns / seconds / 1e9:.0f} GFLOP/s"


def _milliseconds(work: Callable[[], object], repeats: int = 20) -> float:
    work()
    started = time.perf_counter()
    for _ in range(repeats):
        work()
    return (time.perf_counter() - started) / repeats * 1000


def _flops_per_token(data: str, overrides: list[str]) -> float:
    config = load_config("multi30k_en_de_reference", [f"data.path={data}", *overrides])
    with tempfile.TemporaryDirectory() as scratch:
        datamodule = TranslationDataModule(
            config.data, config.tokenizer, Path(scratch) / "tokenizer", seed=config.trainer.seed
        )
        datamodule.prepare_data()
        datamodule.setup("fit")
        batches = list(itertools.islice(datamodule.train_dataloader(), 20))
    tokenizer = datamodule.tokenizer
    model = build_seq2seq(config.model, tokenizer.src_vocab_size, tokenizer.tgt_vocab_size)
    module = LitSeq2Seq(lambda: model, config.optim)
    module.configure_model()
    module.train()
    tokens = sum(int((batch.tgt_out != PAD_ID).sum()) for batch in batches)
    # The counter does not see oneDNN's packed products (nmt.models.fast.packed): with oneDNN
    # off the input-feeding loop runs the same products through torch's, which it counts.
    torch._C._set_mkldnn_enabled(False)  # flags() would also warn about TF32 (see ops.rnn_step)
    try:
        with FlopCounterMode(display=False) as counter:
            for batch in batches:
                module.token_loss(batch).loss.backward()
    finally:
        torch._C._set_mkldnn_enabled(True)
    return counter.get_total_flops() / tokens


if __name__ == "__main__":
    main()
