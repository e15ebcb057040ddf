"""The allocator settings (nmt/engine/allocator.py): large freed blocks kept for reuse, oneDNN's
primitive cache held to a bound."""

import os
import platform
import subprocess
import sys

import pytest

# A 66 MiB tensor is freed, then a 64 MiB one is allocated and written: the second one page-faults
# on every page (16384 of 4 KiB, or at least 32 huge pages of 2 MiB) unless malloc kept the first
# one's memory. (The first is larger because a freed block is reused only for a request that
# fits in it with the alignment torch asks for; a request of exactly the same size may not.)
SCRIPT = """
import resource, sys, torch
from nmt.engine.allocator import keep_freed_memory
applied = keep_freed_memory() if sys.argv[1] == "keep" else False
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
torch.zeros(66, 2**18).fill_(1)
before = faults()
torch.zeros(64, 2**18).fill_(1)
print(applied, faults() - before)
"""


def _second_allocation(mode: str, **env: str) -> tuple[str, int]:
    completed = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode],
        capture_output=True, text=True, check=True, env=os.environ | env,
    )  # fmt: skip
    applied, faults = completed.stdout.split()
    return applied, int(faults)


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only"
)
def test_freed_large_blocks_are_reused_without_page_faults_unless_switched_off():
    fresh_mapping = 64 * 2**20 // (2 * 2**20)  # the fewest faults fresh pages can take
    applied, faults = _second_allocation("keep")
    assert applied == "True" and faults < fresh_mapping // 2
    applied, faults = _second_allocation("default")
    assert applied == "False" and faults >= fresh_mapping  # glibc's default maps fresh pages
    applied, faults = _second_allocation("keep", NMT_KEEP_FREED_MEMORY="0")
    assert applied == "False" and faults >= fresh_mapping


BOUND_SCRIPT = """
import os
from nmt.engine.allocator import bound_onednn_cache
set_here = bound_onednn_cache()
print(set_here, os.environ.get("ONEDNN_PRIMITIVE_CACHE_CAPACITY"),
      os.environ.get("LRU_CACHE_CAPACITY"))
"""


@pytest.mark.parametrize(
    "env, expected",
    [({}, "True 1024 1024"),
     ({"ONEDNN_PRIMITIVE_CACHE_CAPACITY": "500"}, "True 500 1024"),
     ({"DNNL_PRIMITIVE_CACHE_CAPACITY": "500"}, "True None 1024"),
     ({"ONEDNN_PRIMITIVE_CACHE_CAPACITY": "500", "LRU_CACHE_CAPACITY": "300"}, "False 500 300")],
)  # fmt: skip
def test_onednn_and_ideep_caches_are_sized_unless_the_user_set_them(env, expected):
    clean = {key: value for key, value in os.environ.items()
             if not key.endswith("CACHE_CAPACITY")}  # fmt: skip
    completed = subprocess.run([sys.executable, "-c", BOUND_SCRIPT], capture_output=True,
                               text=True, check=True, env=clean | env)  # fmt: skip
    assert completed.stdout.strip() == expected
