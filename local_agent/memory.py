"""The agent process gives freed large blocks back to the system (issue 23: peak memory on a first sync).

glibc's malloc raises its mmap threshold to the size of each large block freed (up to 32 MB): after the
first 16 MB scrypt block of a password check, every later large allocation — another check's block, a
page of QuickBooks' answer, a piece on its way to the cloud — comes from the heap and stays resident after
it is freed. Measured on the SOAP endpoint alone, fed the pages of a 3,000-invoice read: 72 → 61 MB peak
(the whole agent on the full first sync: ``bench/agent_memory.py``). A fixed threshold keeps large blocks
mapped on their own and returned when freed. Only glibc has this knob and this behaviour; elsewhere
(Windows' heap) nothing is changed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys

log = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
LARGE_BLOCK = 256 * 1024  # blocks this large are mapped on their own (a piece of an answer is 256 KB)


def give_back_large_blocks(threshold: int = LARGE_BLOCK) -> bool:
    """Fix glibc's mmap threshold for this process; False where there is no glibc (nothing changed)."""
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.mallopt(M_MMAP_THRESHOLD, threshold))
    except (OSError, AttributeError):  # another C library (musl has no mallopt)
        log.debug("no mallopt here; large blocks are left to the C library")
        return False
