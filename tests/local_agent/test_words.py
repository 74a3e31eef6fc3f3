"""The agent's page texts: every one in every language the app's pages offer, the same holes in each."""

from __future__ import annotations

import string

from local_agent import words


def _holes(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_text_is_in_russian_with_the_same_holes() -> None:
    assert set(words.RU) == set(words.EN)
    for key, english in words.EN.items():
        assert _holes(words.RU[key]) == _holes(english), key
        assert words.RU[key] != english or key == "download", key


def test_the_language_is_the_asked_one_else_the_browsers_best_we_speak() -> None:
    assert words.pick("ru", "en-US") == "ru"
    assert words.pick("", "de;q=0.9, ru;q=0.8, en;q=0.7") == "ru"
    assert words.pick("", "en;q=0.5, ru;q=0.9") == "ru"
    assert words.pick("", "fr, de") == "en"
    assert words.pick("xx", "") == "en"


def test_a_pairing_refusal_is_english_on_the_command_line_and_russian_on_a_russian_page() -> None:
    from local_agent.pairing import PairingError, check_server

    try:
        check_server("ftp://x")
    except PairingError as exc:
        assert "is not the app's address" in str(exc)
        assert "не адрес приложения" in exc.said("ru")
    else:  # pragma: no cover - the address is refused
        raise AssertionError("ftp:// was taken as the app's address")
