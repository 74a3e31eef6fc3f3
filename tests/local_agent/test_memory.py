"""The agent process gives a freed password-check block back (local_agent/memory.py), in its own process
(Linux, glibc: what the tests and the benchmarks run on)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHILD = """
import re, sys
sys.path.insert(0, {root!r})
from local_agent.memory import give_back_large_blocks
from local_agent.soap.session import check_password, hash_password
def rss():
    return int(re.search(r"VmRSS:\\s+(\\d+)", open("/proc/self/status").read()).group(1)) // 1024
if sys.argv[1] == "fixed":
    assert give_back_large_blocks()
stored = hash_password("secret")  # one 16 MB scrypt block, freed
before = rss()
for _ in range(3):  # the Web Connector signs in once per update
    assert check_password("secret", stored)
print(rss() - before)
"""


def kept_after_sign_ins(mode: str) -> int:
    code = CHILD.format(root=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code, mode], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return int(out.stdout)


def test_sign_ins_leave_no_password_check_block_resident() -> None:
    assert kept_after_sign_ins("default") >= 12  # glibc keeps the 16 MB block once it raised its threshold
    assert kept_after_sign_ins("fixed") < 4
