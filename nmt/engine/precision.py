"""Training precision: the config's names to Lightning's, with `auto` choosing bf16 mixed precision
where the device multiplies bfloat16 natively.

bf16-mixed keeps fp32 weights, optimiser state and loss, and runs matrix products and recurrent
layers in bfloat16 under autocast. On a CPU with AVX512-BF16 (or AMX) those products run about
2.5x faster than fp32; on CPUs without it bfloat16 is emulated and slower, so `auto` keeps fp32
there. On a GPU, `auto` is bf16-mixed where the GPU has bfloat16 units (Ampere and later).
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import torch

logger = logging.getLogger(__name__)


def lightning_precision(precision: str, accelerator: str = "auto") -> str:
    """The Trainer's `precision` for a config value (`auto`, `32`, `32-true`, `bf16-mixed`,
    `16-mixed`) and the config's accelerator."""
    if precision == "32":
        return "32-true"
    gpu = on_gpu(accelerator)
    if precision == "bf16-mixed" and not gpu and not cpu_runs_bf16():
        logger.warning("trainer.precision=bf16-mixed: this CPU has no AVX-512, and oneDNN's "
                       "recurrent layers refuse bfloat16 without it; training in fp32 (32-true)")
        return "32-true"
    if precision != "auto":
        return precision
    native = _gpu_has_bf16() if gpu else cpu_has_bf16()
    chosen = "bf16-mixed" if native else "32-true"
    logger.info("precision auto: %s (%s %s bfloat16 units)", chosen, "GPU" if gpu else "CPU",
                "has" if native else "has no")  # fmt: skip
    return chosen


def on_gpu(accelerator: str) -> bool:
    """Whether Lightning trains on a GPU with this accelerator setting."""
    return accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.is_available())


BF16_FLAGS = ("avx512_bf16", "amx_bf16")  # x86 CPU features that multiply bfloat16
CPUINFO = Path("/proc/cpuinfo")


@functools.cache
def cpu_has_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 natively (x86 AVX512-BF16 or AMX-BF16)."""
    get_capabilities = getattr(torch.cpu, "get_capabilities", None)
    if get_capabilities is not None:
        capabilities = get_capabilities()
        return any(capabilities.get(flag) for flag in BF16_FLAGS)
    try:  # torch before get_capabilities: the kernel's CPU flags (Linux)
        flags = set(CPUINFO.read_text().split())
    except OSError:
        return False
    return any(flag in flags for flag in BF16_FLAGS)


@functools.cache
def cpu_runs_bf16() -> bool:
    """Whether oneDNN runs bfloat16 here at all (natively or emulated with AVX-512): without
    it, an LSTM under bf16 autocast fails to build its primitive."""
    supported = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    try:
        return bool(supported()) if supported is not None else True
    except RuntimeError:
        return True


def _gpu_has_bf16() -> bool:
    if not torch.cuda.is_available():
        return False
    try:
        return torch.cuda.is_bf16_supported(including_emulation=False)
    except TypeError:  # torch before including_emulation
        return torch.cuda.is_bf16_supported()
