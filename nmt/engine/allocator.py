"""Keep freed memory in the process instead of handing it back to the operating system.

glibc's malloc serves every block of 32 MiB or more with its own `mmap` and unmaps it on `free`.
A training step allocates several such blocks (the `[tokens, vocabulary]` logits, their
log-probabilities and their gradients: 48 MiB each at 1500 tokens x 8000 pieces), so every step
maps fresh pages and the kernel zero-fills each one on first touch. On this project's 2-core
machines a fresh 48 MiB tensor took 16 ms to fill instead of 3, and training ran 12-20% slower
(docs/RESULTS.md). Telling malloc never to use `mmap` and never to trim its heap lets the next step
reuse the same pages. The price is memory: freed blocks stay with the process, and a freed block
serves only later requests that fit in it with torch's alignment (not always one of exactly its
size), so the heap fragments; a run that alternates training and validation peaked about a
quarter higher.

Only glibc (Linux) has these settings; elsewhere this does nothing. Set `NMT_KEEP_FREED_MEMORY=0`
to leave malloc as it is.

oneDNN, which runs PyTorch's LSTMs and matrix products in bfloat16 on CPUs with bf16 units, keeps
every primitive it builds (one per input shape, each with its reordered weights and buffers) in a
cache of 1,024 entries. Translation batches come in as many shapes as there are sentence lengths,
so a 20-minute bf16 run of `multi30k_en_de_cpu` peaked at 5.8 GB resident; `bound_onednn_cache`
holds the cache to 64 primitives: 2.4 GB, with the same updates per minute (docs/RESULTS.md).
PyTorch's ideep layer keeps a second cache of its own (1,024 operations, each holding its
primitive, `LRU_CACHE_CAPACITY`), which kept primitives alive after oneDNN's cache let them go:
with the encoder's loop in bf16 a run peaked at 2.8 GB until that cache was held to 64 as well
(in-process, 400 steps: 1.4-1.6 GB against 1.9-2.0, at the same speed).
"""

from __future__ import annotations

import ctypes
import logging
import os
import platform

logger = logging.getLogger(__name__)

_M_TRIM_THRESHOLD = -1  # mallopt parameter numbers from glibc's <malloc.h>
_M_MMAP_MAX = -4
_INT_MAX = 2**31 - 1
ONEDNN_CACHE_ENTRIES = 64  # oneDNN's own default is 1024
_ONEDNN_CACHE_VARIABLES = ("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "DNNL_PRIMITIVE_CACHE_CAPACITY")
_IDEEP_CACHE_VARIABLE = "LRU_CACHE_CAPACITY"  # ideep's, inside PyTorch


def keep_freed_memory() -> bool:
    """Configure glibc malloc to reuse freed large blocks; True when it took effect.

    Call it once at start-up (the `nmt` command does). It changes the whole process's allocator,
    so a library embedding `nmt` decides for itself whether to call it.
    """
    if os.environ.get("NMT_KEEP_FREED_MEMORY", "1") == "0":
        return False
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the process's own symbols: glibc's malloc
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    # mallopt returns 1 on success.
    applied = mallopt(_M_MMAP_MAX, 0) == 1 and mallopt(_M_TRIM_THRESHOLD, _INT_MAX) == 1
    logger.debug("malloc keeps freed memory: %s", applied)
    return applied


def release_freed_memory() -> bool:
    """Hand the memory malloc holds freed back to the operating system, once (glibc's
    `malloc_trim`); True when it ran. The training loop calls it when preparation is over:
    sentencepiece's trainer frees gigabytes on a big corpus, which `keep_freed_memory` would
    otherwise keep with the process for the whole run."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        malloc_trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return False
    malloc_trim.argtypes = [ctypes.c_size_t]
    malloc_trim(0)
    return True


def bound_onednn_cache(entries: int = ONEDNN_CACHE_ENTRIES) -> bool:
    """Hold oneDNN's primitive cache and ideep's cache of oneDNN operations to `entries` each;
    True when this set either. Both read their variable when they build their first entry, so
    call it before any computation (the `nmt` command does); a value the user already set in the
    environment wins."""
    set_here = False
    if not any(name in os.environ for name in _ONEDNN_CACHE_VARIABLES):
        os.environ[_ONEDNN_CACHE_VARIABLES[0]] = str(entries)
        set_here = True
    if _IDEEP_CACHE_VARIABLE not in os.environ:
        os.environ[_IDEEP_CACHE_VARIABLE] = str(entries)
        set_here = True
    return set_here
