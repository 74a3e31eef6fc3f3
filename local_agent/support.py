"""The AppSupport page the ``.qwc`` names: ``http://localhost:<port>/support``, served by the agent itself.

The Web Connector loads an application only when AppSupport is on the AppURL's domain (QBWC1000) and
answers 200 when the file is added (QBWC1003/1004; Intuit's Web Connector Programmer's Guide, Appendix A).
A bookkeeper who clicks the link in the Web Connector lands here: what this program is, how it is doing,
and where the app is in Bitrix24. Plain small HTML, English or Russian by the browser's language; no
secrets (no token, no password, no ticket) — only what ``qb-agent status`` prints anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from html import escape
from typing import Any

SUPPORT_PATH = "/support"

@dataclass(frozen=True)
class SupportState:
    portal: str  # the Bitrix24 address this agent serves, "" when not paired
    link: str  # the cloud link's state: offline | connecting | online | revoked | stopped
    last_session: str  # the last Web Connector session's summary, "" when none yet
    last_error: str
    pending: int  # jobs waiting for the Web Connector

TEXT = {
    "en": {
        "title": "QuickBooks connector for Bitrix24",
        "what": "This program runs on this PC beside QuickBooks. The QuickBooks Web Connector calls it to "
        "exchange customers, items, invoices and estimates with Bitrix24 CRM.",
        "portal": "Bitrix24",
        "unpaired": "not paired yet — run “qb-agent pair” with the code shown in the app in Bitrix24",
        "link": "Connection to the cloud",
        "session": "Last Web Connector run",
        "never": "none yet",
        "error": "Last problem",
        "pending": "Waiting for the Web Connector",
        "open": "Open the app in Bitrix24 (Applications → QuickBooks)",
        "help": "If something is wrong, open the app in Bitrix24: its status page says what to do.",
        "links": {"online": "connected", "connecting": "connecting…", "offline": "offline — retrying",
                  "revoked": "disconnected in Bitrix24 — pair again", "stopped": "stopped"},
    },
    "ru": {
        "title": "Коннектор QuickBooks для Битрикс24",
        "what": "Эта программа работает на этом компьютере рядом с QuickBooks. QuickBooks Web Connector "
        "вызывает её, чтобы обмениваться с CRM Битрикс24 клиентами, товарами, счетами и сметами.",
        "portal": "Битрикс24",
        "unpaired": "ещё не подключена — выполните «qb-agent pair» с кодом из приложения в Битрикс24",
        "link": "Связь с облаком",
        "session": "Последний запуск Web Connector",
        "never": "ещё не было",
        "error": "Последняя проблема",
        "pending": "Ждут Web Connector",
        "open": "Открыть приложение в Битрикс24 (Приложения → QuickBooks)",
        "help": "Если что-то не так, откройте приложение в Битрикс24: на его странице состояния написано, "
        "что делать.",
        "links": {"online": "есть", "connecting": "подключается…", "offline": "нет — повторяем",
                  "revoked": "отключено в Битрикс24 — подключите заново", "stopped": "остановлена"},
    },
}  # fmt: skip

def language(accept_language: str) -> str:
    """``ru`` when the browser puts Russian before English, else ``en``."""
    for part in accept_language.split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("ru"):
            return "ru"
        if tag.startswith("en"):
            return "en"
    return "en"

def page(state: SupportState, lang: str = "en") -> str:
    t = TEXT.get(lang, TEXT["en"])
    links: dict[str, str] = t["links"]  # type: ignore[assignment]
    portal = state.portal.strip().removeprefix("https://").removeprefix("http://").strip("/")
    rows = [
        (t["portal"], escape(portal) if portal else escape(str(t["unpaired"]))),
        (t["link"], escape(links.get(state.link, state.link))),
        (t["session"], escape(state.last_session or str(t["never"]))),
        (t["pending"], str(state.pending)),
    ]
    if state.last_error:
        rows.append((t["error"], escape(state.last_error)))
    table = "".join(f"<tr><th>{escape(str(k))}</th><td>{v}</td></tr>" for k, v in rows)
    app = (
        f'<p><a href="https://{escape(portal, quote=True)}/marketplace/">{escape(str(t["open"]))}</a></p>'
        if portal
        else ""
    )
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{escape(str(t["title"]))}'
        f"</title></head><body><h1>{escape(str(t['title']))}</h1><p>{escape(str(t['what']))}</p>"
        f"<table>{table}</table>{app}<p>{escape(str(t['help']))}</p></body></html>"
    )

Start = Callable[..., Any]

Screen = Callable[[dict[str, Any]], tuple[int, str] | None]

def make_app(
    state: Callable[[], SupportState], screen: Screen = lambda environ: None
) -> Callable[[dict[str, Any], Start], Iterable[bytes]]:
    """A WSGI app answering GET/HEAD with the page (the Web Connector's check is a GET); ``screen`` is the
    endpoint door's header check (a Host that is not this machine is refused: DNS rebinding)."""

    def app(environ: dict[str, Any], start_response: Start) -> Iterable[bytes]:
        refused = screen(environ)
        if refused is not None:
            body = (refused[1] + "\n").encode()
            start_response(f"{refused[0]} Refused", [("Content-Type", "text/plain"),
                                                     ("Content-Length", str(len(body)))])  # fmt: skip
            return [body]
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            body = b"Only GET.\n"
            start_response("405 Method Not Allowed", [("Content-Type", "text/plain"), ("Allow", "GET, HEAD"),
                                                      ("Content-Length", str(len(body)))])  # fmt: skip
            return [body]
        body = page(state(), language(environ.get("HTTP_ACCEPT_LANGUAGE", ""))).encode("utf-8")
        headers = [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body))),
                   ("Cache-Control", "no-store")]
        start_response("200 OK", headers)

        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]

    return app
