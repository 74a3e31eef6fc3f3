"""``python3 dev.py``: the test command waits for apt's lock instead of failing (a fake ``apt-get`` on
PATH plays the other program holding it: apt's own message, then success)."""

from __future__ import annotations

import importlib.util
import os
import stat
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
# apt's message when another program holds the lock (apt-pkg's "Could not get lock %s. It is held by
# process %d"; the older wording ends "is another process using it?")
LOCKED = "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)"


def _dev() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dev_script", ROOT / "dev.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fake_apt(tmp_path: Path, locked_times: int, then: int = 0) -> Path:
    calls = tmp_path / "calls"
    script = tmp_path / "bin" / "apt-get"
    script.parent.mkdir()
    script.write_text(
        f"#!{sys.executable}\n"
        "import sys, pathlib\n"
        f"calls = pathlib.Path({str(calls)!r})\n"
        "n = len(calls.read_text().splitlines()) if calls.exists() else 0\n"
        "calls.open('a').write(' '.join(sys.argv[1:]) + '\\n')\n"
        f"if n < {locked_times}:\n"
        f"    sys.stderr.write({LOCKED!r} + '\\n'); sys.exit(100)\n"
        f"sys.exit({then})\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return calls


@pytest.fixture
def as_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 0)  # no sudo in front of the fake apt-get
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")


def test_apt_waits_while_another_program_holds_its_lock_then_installs(
    tmp_path: Path, as_root: None, capsys: pytest.CaptureFixture[str]
) -> None:
    calls = _fake_apt(tmp_path, locked_times=2)
    assert _dev().apt_get("install", "-y", "chromium", wait=30, step=0.01) == 0
    made = calls.read_text().splitlines()
    assert len(made) == 3  # two refusals while locked, then the install
    assert all("DPkg::Lock::Timeout=30" in c and c.endswith("install -y chromium") for c in made)
    assert "another program is using apt" in capsys.readouterr().out


def test_apt_gives_up_on_the_lock_after_the_wait_and_says_why(
    tmp_path: Path, as_root: None, capsys: pytest.CaptureFixture[str]
) -> None:
    _fake_apt(tmp_path, locked_times=10_000)
    assert _dev().apt_get("install", "-y", "chromium", wait=0.2, step=0.05) == 100
    assert "Could not get lock" in capsys.readouterr().err


def test_an_error_that_is_not_the_lock_is_not_waited_for(tmp_path: Path, as_root: None) -> None:
    calls = _fake_apt(tmp_path, locked_times=0, then=100)
    assert _dev().apt_get("install", "-y", "nosuchpackage", wait=30, step=0.01) == 100
    assert len(calls.read_text().splitlines()) == 1
