"""``python -m sandbox`` dispatches to each simulator and refuses names it does not know."""

import pytest

from sandbox.__main__ import main


def test_unknown_simulator_is_refused_with_the_choices(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["frobnicator"]) == 2
    assert "quickbooks" in capsys.readouterr().err


def test_help_lists_the_simulators(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "webconnector" in capsys.readouterr().out
