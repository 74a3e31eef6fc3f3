#!/usr/bin/env python3
"""The two commands of the README, with nothing but Python 3.11 installed.

    python3 dev.py run    # run the product (on the sandbox when nothing real is configured)
    python3 dev.py test   # lint + type check + the whole test suite

Both create and reuse ``.venv`` beside this file; it is rebuilt when ``pyproject.toml`` changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".pyproject.sha256"


def _say(msg: str) -> None:
    print(f"[dev] {msg}", flush=True)


def ensure_venv() -> None:
    """Create the virtual environment and install the project (editable, with dev extras) if needed."""
    if sys.version_info[:2] != (3, 11):
        _say(f"warning: Python 3.11 is the supported version; this is {sys.version.split()[0]}")
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if PY.exists() and STAMP.exists() and STAMP.read_text().strip() == want:
        return
    if not PY.exists():
        _say(f"creating virtual environment in {VENV}")
        venv.EnvBuilder(with_pip=True).create(VENV)
    _say("installing the project and its dependencies (first run only)")
    run([str(PY), "-m", "pip", "install", "-q", "--upgrade", "pip"])
    run([str(PY), "-m", "pip", "install", "-q", "-e", f"{ROOT}[dev]"])
    STAMP.write_text(want)


def run(cmd: list[str]) -> None:
    code = subprocess.call(cmd, cwd=ROOT)
    if code != 0:
        raise SystemExit(code)


APT_LOCK_WAIT = 600.0  # seconds: an unattended upgrade or another install may hold apt's lock that long


def apt_get(*args: str, wait: float = APT_LOCK_WAIT, step: float = 5.0) -> int:
    """``apt-get ARGS`` (through ``sudo -n`` when not root) that waits for apt's lock instead of failing
    when another program holds it: apt's own ``DPkg::Lock::Timeout`` for the dpkg lock, and a retry for
    the lists lock ``apt-get update`` takes, which that option does not cover. The exit code."""
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = [*sudo, "apt-get", "-o", f"DPkg::Lock::Timeout={int(wait)}", *args]
    deadline = time.monotonic() + wait
    said = False
    while True:
        done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, text=True)
        locked = "Could not get lock" in done.stderr or "is another process using it" in done.stderr
        if done.returncode == 0 or not locked or time.monotonic() > deadline:
            if done.returncode != 0 and done.stderr:
                sys.stderr.write(done.stderr)
            return done.returncode
        if not said:
            _say(f"another program is using apt (its lock is held); waiting up to {wait / 60:.0f} minutes…")
            said = True
        time.sleep(step)


def ensure_chromium() -> None:
    """The page tests drive Debian's Chromium (Playwright's own download does not work here): install the
    package when it is missing (``QBB24_CHROMIUM`` names another binary instead)."""
    if os.environ.get("QBB24_CHROMIUM") or Path("/usr/bin/chromium").exists():
        return
    _say("installing Debian's chromium for the page tests (first run only)")
    if apt_get("install", "-y", "-q", "chromium") != 0:
        apt_get("update", "-q")
        if apt_get("install", "-y", "-q", "chromium") != 0:
            raise SystemExit("could not install chromium (apt-get install chromium); the page tests need it")


def cmd_test(args: list[str]) -> None:
    ensure_venv()
    ensure_chromium()
    _say("ruff")
    run([str(PY), "-m", "ruff", "check", "."])
    _say("mypy: the whole tree (strict on the pure packages shared/ and cloud_app/sync/)")
    run([str(PY), "-m", "mypy"])  # what and how: [tool.mypy] in pyproject.toml; cached in .mypy_cache/
    # The tests mostly wait on loopback servers and on each other's threads: two worker processes
    # (pytest-xdist) keep both cores busy, each test module on one worker (its module-scoped browser and
    # demo world built once). QBB24_TEST_WORKERS=0 runs them in this one process instead.
    workers = os.environ.get("QBB24_TEST_WORKERS", "2")
    parallel = ["-n", workers, "--dist", "loadfile"] if workers != "0" else []
    group = args or [*parallel, "tests"]
    _say("pytest " + " ".join(group))
    code = subprocess.call([str(PY), "-m", "pytest", *group], cwd=ROOT)
    if code == 5:  # pytest's "no tests collected" is a failure, not green
        _say("pytest collected no tests: failing")
        code = 1
    raise SystemExit(code)


def cmd_run(args: list[str]) -> None:
    """The demo on the simulators; with real settings (QBB24_CLIENT_ID and QBB24_CLIENT_SECRET, or a
    QBB24_CONFIG file) the cloud app itself, for production."""
    ensure_venv()
    real = (os.environ.get("QBB24_CLIENT_ID") and os.environ.get("QBB24_CLIENT_SECRET")) or os.environ.get(
        "QBB24_CONFIG"
    )
    if real:
        _say("real settings found: serving the cloud app (python -m cloud_app serve)")
        os.execv(str(PY), [str(PY), "-m", "cloud_app", "serve", *args])
    os.execv(str(PY), [str(PY), "-m", "demo", *args])


def cmd_screenshots(args: list[str]) -> None:
    """Every page as PNG files (``screenshots/`` unless a folder is given), for a person to look at."""
    ensure_venv()
    ensure_chromium()
    run([str(PY), "-m", "demo.screenshots", *args])


def main() -> None:
    commands = {"test": cmd_test, "run": cmd_run, "screenshots": cmd_screenshots}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        raise SystemExit(2)
    commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
