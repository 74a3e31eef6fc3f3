"""Every word a page shows is in the page's language: the page script's own strings, and the texts the
server writes (outcomes, reasons, fixes, notes, refusals) that reach a page. A string added in English
only fails here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests

from cloud_app import qb_reach
from cloud_app import services as services_module
from cloud_app.b24.errors import ATTENTION_TEXT
from cloud_app.b24.retry import Retry
from cloud_app.b24_placement import server_words
from cloud_app.b24_placement.server_words import FIELDS_RU, MISSED, say, status_texts
from cloud_app.b24_placement.strings import EN, RU
from cloud_app.sync.field_words import WORDS, words
from cloud_app.sync.statement import AGING

from ..harness import CLIENT_ID
from ..product import World, a_deal, wait

SCRIPT = Path(server_words.__file__).parent / "static" / "qb.js"
SAME_IN_RUSSIAN = {"side.qb", "party.aging.1-30", "party.aging.31-60", "party.aging.61-90"}
# names of things that stay as written in Russian too: products, menus of QuickBooks, our own name
PROPER = re.compile(
    r"QuickBooks|Web Connector|Bitrix24|Verify Data|Edit > Preferences > Integrated Applications|"
    r"Edit > Preferences|Company > Users|File > Utilities > Verify Data|Company → Set Closing Date|"
    r"QBB24_CLIENT_ID|QBB24_CLIENT_SECRET|client id|client secret|Admin|Other|USD|e-mail"
)


def latin_words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z]{3,}", PROPER.sub("", text))


def test_every_string_the_page_script_asks_for_is_in_english_and_russian() -> None:
    script = SCRIPT.read_text()
    literal = set(re.findall(r"\bt\('([^']+)'\s*[,)]", script))
    dynamic = {f"kind.{k}" for k in ("Invoice", "Estimate", "SalesOrder")}
    dynamic |= {f"status.{s}" for s in ("open", "paid", "partially paid", "overdue")}
    dynamic |= {f"party.aging.{bucket}" for bucket in AGING}  # the statement's buckets, "over 90" too
    dynamic |= {f"sync.step.{s}" for s in ("queued", "waiting", "sent", "done", "failed", "preview",
                                           "recovering", "sending", "retried")}  # fmt: skip
    dynamic |= {f"tab.{n}" for n in ("setup", "health", "settings", "first_sync", "log")}
    assert literal, "no t('…') calls found: the script changed shape"
    for key in sorted(literal | dynamic):
        assert key in EN, f"{key} is not in the English strings"
        assert key in RU, f"{key} has no Russian translation"


def test_russian_strings_are_translations_not_copies_of_the_english() -> None:
    copied = [k for k, v in RU.items() if v == EN.get(k) and k not in SAME_IN_RUSSIAN]
    assert copied == []
    assert not [k for k, v in RU.items() if k not in SAME_IN_RUSSIAN and not re.search("[а-яА-Я]", v)]


def test_every_quickbooks_status_and_connection_error_is_explained_in_russian() -> None:
    untranslated = [t for t in status_texts() if say(t, "ru") == t]
    assert untranslated == []


def test_every_reason_a_portal_needs_attention_is_in_russian() -> None:
    assert [t for t in ATTENTION_TEXT.values() if say(t, "ru") == t] == []


def test_field_names_are_a_bookkeepers_words_in_both_languages() -> None:
    assert words("BillAddress.Addr1") == "billing address, line 1"
    assert words("CompanyName") == "company name"
    assert set(WORDS.values()) <= set(FIELDS_RU)
    note = (
        "Customer’s company name: shortened to 41 characters (the most QuickBooks keeps for the company name)"
    )
    assert say(note, "ru") == (
        "Клиент, название компании: сокращено до 41 символов (больше QuickBooks не хранит в поле "
        "«название компании»)"
    )


def test_a_text_no_template_knows_is_shown_as_written_and_remembered() -> None:
    MISSED.discard("Something brand new happened.")
    assert say("Something brand new happened.", "ru") == "Something brand new happened."
    assert "Something brand new happened." in MISSED
    assert say("Something brand new happened.", "en") == "Something brand new happened."
    MISSED.discard("Something brand new happened.")


def test_a_deals_sync_speaks_russian_to_a_russian_page(world: World) -> None:
    """The preview's notes and problems, the outcome, the log and a refusal: each in Russian, none
    missed by the catalogue — for a client whose name needs shortening and transliterating."""
    MISSED.clear()
    ru = {"X-Lang": "ru"}
    long_name = "Строительная компания Северный Ветер и партнёры из Подмосковья"
    deal = a_deal(world, long_name, [(0, "Монтаж трубопровода", "120.00", "2")])
    started = world.api("POST", f"/deals/{deal}/sync", json={"preview": True}, headers=ru).json()
    wait(lambda: world.agent.queue.depth()["pending"] >= 1)
    world.web_connector_runs()

    def previewed() -> bool:
        return bool(world.api("GET", f"/syncs/{started['sync_id']}").json()["state"] == "preview")

    assert wait(previewed, timeout=15)
    detail = world.api("GET", f"/syncs/{started['sync_id']}", headers=ru).json()["detail"]
    notes = detail["notes"]
    assert any(n.startswith("Клиент, название компании: сокращено до 41 символов") for n in notes), notes
    assert any("записано латиницей" in n for n in notes), notes
    for text in notes + detail["problems"]:
        assert latin_words(text) == [] or "“" in text or "«" in text, text  # only quoted names stay Latin
    english = world.api("GET", f"/syncs/{started['sync_id']}").json()["detail"]["notes"]
    assert any("shortened to 41 characters" in n for n in english)  # the English page keeps English

    assert world.api("POST", f"/syncs/{started['sync_id']}/confirm", json={}, headers=ru).status_code == 202
    wait(lambda: world.agent.queue.depth()["pending"] >= 1)
    world.web_connector_runs()

    def done() -> bool:
        return bool(world.api("GET", f"/syncs/{started['sync_id']}").json()["state"] == "done")

    assert wait(done, timeout=15)
    outcome = world.api("GET", f"/syncs/{started['sync_id']}", headers=ru).json()["outcome"]
    assert re.fullmatch(r"Счёт \S+ создан в QuickBooks, 240\.00 USD", outcome), outcome
    log = world.api("GET", "/syncs", headers=ru).json()["syncs"]
    assert log[0]["outcome"] == outcome

    empty = a_deal(world, "Пустая сделка", [])
    refused = world.api("POST", f"/deals/{empty}/sync", json={"preview": True}, headers=ru)
    sync_id = refused.json()["sync_id"]
    wait(lambda: world.agent.queue.depth()["pending"] >= 1)
    world.web_connector_runs()
    assert wait(lambda: world.api("GET", f"/syncs/{sync_id}").json()["state"] == "preview", timeout=15)
    problems = world.api("GET", f"/syncs/{sync_id}", headers=ru).json()["detail"]["problems"]
    assert "В сделке нет товаров. Сначала добавьте в сделку товарные позиции." in problems
    assert MISSED == set(), MISSED


def test_a_refusal_reaches_a_russian_page_in_russian(world: World) -> None:
    someone = next(u for u in world.cloud.portal.users.values() if not u.admin)
    page = world.cloud.emu.open_app(world.cloud.portal, CLIENT_ID, someone.id, lang="ru")
    session = re.search(r"data-session='([^']+)'", page.text).group(1)  # type: ignore[union-attr]
    answer = requests.post(
        f"{world.cloud.url}/api/portals/{world.cloud.portal.member_id}/initial-sync",
        headers={"X-Session": session, "X-Lang": "ru"},
        timeout=10,
    )
    assert answer.status_code == 403
    assert "Запустить первую синхронизацию может только администратор Битрикс24." in answer.text


def test_a_wrong_kind_a_credit_memo_without_preview_and_why_nothing_waits_speak_russian(
    world: World,
) -> None:
    """The refusals of a sync's kind, and the Web Connector's block reason on Health, in the page's
    language — no internal names (``SalesOrder``) and nothing the catalogue misses."""
    MISSED.clear()
    ru = {"X-Lang": "ru"}
    deal = a_deal(world, "Kowalski & Sons", [(1, "Labor", "55.00", "1")])
    wrong = world.api("POST", f"/deals/{deal}/sync", json={"kind": "Bill"})
    assert wrong.status_code == 400
    assert wrong.text == "Choose an invoice, estimate, sales order or credit memo."
    wrong = world.api("POST", f"/deals/{deal}/sync", json={"kind": "Bill"}, headers=ru)
    assert wrong.status_code == 400 and wrong.text == "Выберите счёт, смету, заказ или кредит-ноту."
    credit = world.api("POST", f"/deals/{deal}/sync", json={"kind": "CreditMemo"}, headers=ru)
    assert credit.status_code == 400
    assert credit.json()["message"].startswith("Кредит-нота создаётся только из просмотра"), credit.text

    world.cloud.services.portals.set_setting(
        world.cloud.portal.member_id,
        qb_reach.BLOCKED,
        {
            "cause": "blocked",
            "since": "2026-12-01T09:00:00+00:00",
            "at": "2026-12-01T09:00:00+00:00",
            "hresult": "0x80040410",
        },
    )
    english = world.api("GET", "/status").json()["why_waiting"]["detail"]
    assert english.startswith("The company file is open in a different mode"), english
    detail = world.api("GET", "/status", headers=ru).json()["why_waiting"]["detail"]
    assert detail != english and re.search("[а-яА-Я]", detail), detail
    assert MISSED == set(), MISSED


def test_a_page_told_bitrix24_is_down_hears_no_code_and_no_empty_since(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bitrix24 refusing for a while with its limit (no outage on record): the person is told it is not
    answering — without "since  UTC" and without QUERY_LIMIT_EXCEEDED — in English and Russian."""
    monkeypatch.setattr(services_module, "PAGE_PATIENCE", 0.3)
    world.cloud.services.retry = Retry(base=0.02, cap=0.1)
    deal = a_deal(world, "Kowalski & Sons", [(1, "Labor", "55.00", "1")])
    world.cloud.emu.settings.outage = "503"
    try:
        english = world.api("POST", f"/deals/{deal}/sync", json={"preview": True})
        russian = world.api("POST", f"/deals/{deal}/sync", json={"preview": True}, headers={"X-Lang": "ru"})
    finally:
        world.cloud.emu.settings.outage = ""
    assert english.status_code == 503 and russian.status_code == 503
    assert english.json()["message"].startswith("Bitrix24 is not answering; we keep trying."), english.text
    assert russian.json()["message"].startswith("Битрикс24 не отвечает; мы продолжаем попытки."), russian.text
    for text in (english.json()["message"], russian.json()["message"]):
        assert "UTC" not in text and "QUERY_LIMIT" not in text


def test_russian_strings_call_bitrix24_by_its_russian_name() -> None:
    assert [k for k, v in RU.items() if "Bitrix24" in v] == []
