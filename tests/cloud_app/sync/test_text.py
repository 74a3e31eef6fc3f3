"""Text reaches QuickBooks only in a form it can store, and every change is said out loud."""

import pytest

from cloud_app.sync.text import Unstorable, fit


def test_latin1_text_passes_untouched() -> None:
    assert fit("Café Müller & Søn", 41) == fit("Café Müller & Søn", 41)
    assert fit("Café Müller & Søn", 41).value == "Café Müller & Søn"
    assert not fit("Café Müller & Søn", 41).changed


def test_cyrillic_is_transliterated_with_a_note() -> None:
    f = fit("ООО «Ромашка» Щукин", 41, field="Name")
    assert f.value == "OOO «Romashka» Shchukin"
    assert any("transliterated" in n for n in f.notes)


def test_other_scripts_lose_accents_or_are_dropped() -> None:
    f = fit("Łódź Budowa 🚧", 41)
    assert f.value == "Lódz Budowa"  # ó is in the code page; Ł, ź and the emoji are not
    assert len(f.notes) == 3


def test_long_values_are_cut_to_the_limit() -> None:
    f = fit("Northern Nevada Residential Construction Services", 41, field="Name")
    assert f.value == "Northern Nevada Residential Construction"
    assert "41" in f.notes[-1]


def test_a_value_with_nothing_storable_is_refused() -> None:
    with pytest.raises(Unstorable, match="Latin"):
        fit("株式会社", 41, field="Name")
