"""Keep freed memory in the process instead of handing it back to the operating system.

glibc's malloc serves every block of 32 MiB or more with its own `mmap` and unmaps it on `free`.
A training step allocates several such blocks (the `[tokens, vocabulary]` logits, their
log-probabilities and their gradients: 48 MiB each at 1500 tokens x 8000 pieces), so every step
maps fresh pages and the kernel zero-fills each one on first touch. On this project's 2-core
machines that made a fill of such a tensor take 15 ms instead of 1 ms, and the whole
fp32 training step about 15% slower. Telling malloc never to use `mmap` and never to trim its heap
lets the next step reuse the same pages. The process's peak memory is unchanged (it is reached
every step anyway); memory freed after the peak stays with the process until it exits.

Only glibc (Linux) has these settings; elsewhere this does nothing. Set `NMT_KEEP_FREED_MEMORY=0`
to leave malloc as it is.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import platform

logger = logging.getLogger(__name__)

_M_TRIM_THRESHOLD = -1  # mallopt parameter numbers from glibc's <malloc.h>
_M_MMAP_MAX = -4
_INT_MAX = 2**31 - 1


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
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    # mallopt returns 1 on success.
    applied = mallopt(_M_MMAP_MAX, 0) == 1 and mallopt(_M_TRIM_THRESHOLD, _INT_MAX) == 1
    logger.debug("malloc keeps freed memory: %s", applied)
    return applied
