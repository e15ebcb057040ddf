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

oneDNN, which runs PyTorch's LSTMs and matrix products in bfloat16 on CPUs with bf16 units, builds
a primitive for every shape it meets (compiled kernels, about half a megabyte each) and keeps it
in its primitive cache; PyTorch's ideep layer keeps a second cache of operations that hold
primitives (`ONEDNN_PRIMITIVE_CACHE_CAPACITY`, `LRU_CACHE_CAPACITY`; 1,024 entries each by
default). A cache pays only when it holds every shape a training step meets; smaller, each step
builds its primitives anew. When the encoder ran through torch's LSTM (a new row count at every
time step) and the products over a batch's tokens met a new row count with every batch, the
caches filled up to 5.8 GB in a 20-minute run of `multi30k_en_de_cpu`, and the command held them
to 64 entries, which cost 7% of the updates. Now the encoder runs its own loop and those
products run in a few row counts (nmt.models.fast): training meets about 600 primitives, which
caches of 1,024 hold, and the same run peaked at 2.1-2.3 GB in four runs (docs/RESULTS.md).
`bound_onednn_cache` pins both caches to that size, whatever a library version's default; a
smaller value in the environment trades speed for memory.
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
ONEDNN_CACHE_ENTRIES = 1024  # oneDNN's and ideep's defaults at torch 2.13
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
    """Set oneDNN's primitive cache and ideep's cache of oneDNN operations to `entries` each;
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
