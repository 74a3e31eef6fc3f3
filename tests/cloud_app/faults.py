"""Killing the cloud at a chosen Bitrix24 call, for the resume tests: the cloud's HTTP session is swapped
for one that, at the first request matching ``when``, dies — before sending it, or after Bitrix24 carried
it out (the answer lost with the process). From then on that process does nothing more: every request
it tries dies too. :class:`Killed` is a ``BaseException``, so no ``except Exception`` of the product
survives it (nothing is cleaned up, marked or logged as handled, as with ``kill -9``)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import requests


class Killed(BaseException):
    """The cloud process died here."""


def commands(method: str, body: dict[str, Any]) -> list[str]:
    """The methods a request runs: its own, or a batch's commands."""
    if method == "batch":
        return [str(c).split("?", 1)[0] for c in (body.get("cmd") or {}).values()]
    return [method]


class KillSwitch(requests.Session):
    def __init__(self, when: Callable[[str, dict[str, Any]], bool], *, after: bool) -> None:
        super().__init__()
        self.when, self.after = when, after
        self.dead = threading.Event()

    def request(self, method: str, url: str, *args: Any, **kw: Any) -> requests.Response:  # type: ignore[override]
        if self.dead.is_set():
            raise Killed("the process is gone")
        name = str(url).rsplit("/", 1)[-1].split("?", 1)[0]
        if "/rest/" in str(url) and self.when(name, kw.get("json") or {}):
            self.dead.set()
            if self.after:
                super().request(method, url, *args, **kw)  # Bitrix24 did it; nobody reads the answer
            raise Killed(name)
        return super().request(method, url, *args, **kw)


def nth(n: int, test: Callable[[list[str]], bool]) -> Callable[[str, dict[str, Any]], bool]:
    """The ``n``-th request (1-based) whose commands pass ``test``."""
    seen = [0]
    lock = threading.Lock()

    def when(method: str, body: dict[str, Any]) -> bool:
        if not test(commands(method, body)):
            return False
        with lock:
            seen[0] += 1
            return seen[0] == n

    return when
