"""``python tools/build_agent.py``: build what of the agent can be built on Linux, into ``dist/``.

Built: a wheel of the project (pure Python; on the QuickBooks PC ``py -3.11 -m pip install
qb_bitrix24-….whl`` then ``qb-agent run`` — its dependencies come from PyPI). Not built: a one-file
Windows ``.exe`` (PyInstaller makes those only on Windows) and a signed installer; a Windows CI runner
would add them here.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    out = ROOT / "dist"
    out.mkdir(exist_ok=True)
    code = subprocess.call(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)]
    )
    shutil.rmtree(ROOT / "build", ignore_errors=True)  # setuptools' scratch folder, not a product
    for wheel in sorted(out.glob("qb_bitrix24-*.whl")):
        print(f"built {wheel.relative_to(ROOT)} ({wheel.stat().st_size // 1024} KB)")
    print("not built: a Windows .exe (needs a Windows build machine)")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
