"""``python -m sandbox`` dispatches to each simulator and refuses names it does not know."""

from sandbox.__main__ import main


def test_unknown_simulator_is_refused_with_the_choices(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["frobnicator"]) == 2
    assert "quickbooks" in capsys.readouterr().err


def test_help_lists_the_simulators(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["--help"]) == 0
    assert "webconnector" in capsys.readouterr().out
