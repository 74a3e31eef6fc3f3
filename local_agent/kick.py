"""The kick: when a person's job arrives, ask the Web Connector to start an update now.

Intuit's *Web Connector Programmer's Guide* v2.0, chapter 6 (p.43–46): QBWC 2.0 registers an asynchronous
pluggable protocol handler for ``qbwc://``; ``qbwc://docontrol/UpdateNow?AppName=…`` "begin[s] an update
immediately for the named web service", where AppName is the ``.qwc``'s AppName (``qwc.APP_NAME``; or an
AppUniqueName, which our ``.qwc`` does not set); ``async=true`` makes the handler answer at once instead
of when the update ends. The guide calls it from Internet Explorer; a program reaches a pluggable protocol
through URL monikers (``urlmon.URLOpenBlockingStreamW``), which is what :func:`windows_opener` does.

UNCONFIRMED: that current QBWC builds (2.3) still register the handler and honour UpdateNow. So the kick
is built to be harmless: it never waits on the Web Connector, a failure is logged and changes nothing,
and the scheduled update (the ``.qwc``'s RunEveryNMinutes) stays the fallback.

When to kick (:class:`KickPolicy`, pure): a person's job (priority 1–2: a deal sync, a tab refresh)
arrives and no session runs → kick. A session running → remember it; when that session ends with work
still queued → kick then (a job that arrived mid-session is usually served by that session already). A
kick sent and its session not begun yet → no second kick (one update takes every queued job). Bulk work
(first sync, background reads) never kicks: it waits for the schedule.
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from .soap.door import LOOPBACK_HOSTS

log = logging.getLogger(__name__)

PERSON = 2  # job priorities up to this one mean someone is waiting (deal_sync, party_tab: 1)
SETTLE = 30.0  # seconds a sent kick is given to start its session before another may be sent

Opener = Callable[[str], None]  # opens a qbwc:// URL; raises OSError when that did not work


class KickError(ValueError):
    """The ``kick`` setting is not one the agent understands; the message says what is allowed."""


def update_now_url(app_name: str) -> str:
    """The trigger for ``app_name`` (the .qwc AppName), asking for an at-once (async) answer (PG p.45)."""
    return f"qbwc://docontrol/UpdateNow?async=true&AppName={quote(app_name, safe='')}"


def windows_opener(url: str) -> None:
    """Open ``url`` through URL monikers, where Windows looks up the ``qbwc`` pluggable protocol."""
    import ctypes

    windll = getattr(ctypes, "windll", None)
    prototype = getattr(ctypes, "WINFUNCTYPE", None)
    if windll is None or prototype is None:
        raise OSError("URL monikers exist only on Windows")
    stream = ctypes.c_void_p()
    result = windll.urlmon.URLOpenBlockingStreamW(None, url, ctypes.byref(stream), 0, None)
    if result != 0:
        raise OSError(f"the qbwc:// handler answered 0x{result & 0xFFFFFFFF:08X}")
    if stream.value:
        release = prototype(ctypes.c_ulong)(2, "Release")  # IUnknown::Release, the stream is not read
        release(stream)


def loopback_opener(base_url: str, *, timeout: float = 5.0) -> Opener:
    """The Web Connector simulator's handler: ``qbwc://docontrol/…`` is served at ``base_url/docontrol/…``."""
    base = base_url.rstrip("/")

    def open_(url: str) -> None:
        target = base + "/" + url.removeprefix("qbwc://")
        try:
            with urllib.request.urlopen(target, timeout=timeout) as answer:  # noqa: S310 - loopback only
                answer.read(4096)
        except urllib.error.HTTPError as exc:
            text = exc.read(200).decode(errors="replace")
            raise OSError(f"the Web Connector answered {exc.code}: {text}") from None

    return open_


def opener_for(setting: str, *, platform: str = sys.platform) -> Opener | None:
    """``auto`` (the trigger on Windows, nothing elsewhere), ``off``, or a loopback ``http://`` address of
    a Web Connector simulator's protocol handler."""
    value = setting.strip()
    if value in ("", "off"):
        return None
    if value == "auto":
        return windows_opener if platform == "win32" else None
    parts = urlsplit(value)
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return loopback_opener(value)
    raise KickError(f"kick must be auto, off or a http://127.0.0.1:PORT address, not {setting!r}")


@dataclass
class KickPolicy:
    """Whether to kick now; the caller passes the time (seconds, monotonic)."""

    settle: float = SETTLE
    in_session: bool = False
    owed: bool = False
    sent_at: float | None = None

    def work_arrived(self, priority: int, now: float) -> bool:
        if priority > PERSON:
            return False
        if self.in_session:
            self.owed = True
            return False
        if self.sent_at is not None and now - self.sent_at < self.settle:
            return False  # the update already asked for will take this job too
        self.sent_at = now
        return True

    def session_started(self) -> None:
        self.in_session = True
        self.sent_at = None

    def session_ended(self, work_left: bool, now: float) -> bool:
        self.in_session = False
        owed, self.owed = self.owed, False
        if owed and work_left:
            self.sent_at = now
            return True
        return False


class Kicker:
    """The policy plus one worker thread that opens the trigger, so no caller waits on the Web Connector."""

    def __init__(self, opener: Opener | None, app_name: str, *, clock: Callable[[], float] = time.monotonic,
                 settle: float = SETTLE) -> None:
        self.opener = opener
        self.url = update_now_url(app_name)
        self.clock = clock
        self.policy = KickPolicy(settle=settle)
        self.sent = 0
        self.failed = 0
        self.last_failure = ""
        self._lock = threading.Lock()
        self._todo: queue.Queue[None] = queue.Queue(maxsize=1)
        self._thread: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        return self.opener is not None

    def work_arrived(self, priority: int) -> None:
        with self._lock:
            fire = self.policy.work_arrived(priority, self.clock()) and self.enabled
        if fire:
            self._fire()

    def session_started(self) -> None:
        with self._lock:
            self.policy.session_started()

    def session_ended(self, work_left: bool) -> None:
        with self._lock:
            fire = self.policy.session_ended(work_left, self.clock()) and self.enabled
        if fire:
            self._fire()

    def _fire(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="qbwc-kick", daemon=True)
            self._thread.start()
        try:
            self._todo.put_nowait(None)
        except queue.Full:
            pass  # a kick is already on its way

    def _run(self) -> None:
        assert self.opener is not None
        while True:
            self._todo.get()
            try:
                self.opener(self.url)
                self.sent += 1
                log.info("asked the Web Connector to update now")
            except Exception as exc:  # harmless by design: the scheduled update still comes
                self.failed += 1
                self.last_failure = str(exc)[:200]
                level = logging.WARNING if self.failed == 1 else logging.DEBUG
                log.log(level, "the Web Connector did not take 'update now' (%s); the scheduled update "
                               "will run the job", self.last_failure)
