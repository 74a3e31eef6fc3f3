"""The Bitrix24 REST client for one portal (contract §2–§7).

JSON bodies to ``{client_endpoint}{method}`` with ``auth``; the stored ``client_endpoint`` and
``server_endpoint`` (recorded at install) are the only URLs it uses: a redirect elsewhere is followed only
when the OAuth server confirms it as the portal's new endpoint. Expired tokens are refreshed once
(:mod:`.oauth`, on authlib), single-flight per portal: a worker that waited for another's refresh uses the
result instead of spending the (single-use) refresh token again. Failures that cannot succeed are raised
at once; the portal is put in "needs attention" when a person must act.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from ..portals import Credentials, PortalStore
from . import oauth, outage
from .errors import ATTENTION_TEXT, B24Error, NeedsAttention
from .pacer import Pacer
from .retry import NOT_RUN, OutageTooLong, Retry, Unsure, repeatable

# the portal's limits refusing a request (it answered, it is up): paced, never shown as an outage
LIMITS = {"QUERY_LIMIT_EXCEEDED", "OPERATION_TIME_LIMIT", "OVERLOAD_LIMIT"}

log = logging.getLogger(__name__)
REFRESH_MARGIN = 60.0  # refresh when the access token has less than this left
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _portal_lock(member_id: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(member_id, threading.Lock())


@dataclass
class BatchResult:
    result: dict[str, Any]
    errors: dict[str, dict[str, Any]]
    total: dict[str, int]
    next: dict[str, int]


def _section(value: Any) -> dict[str, Any]:
    """PHP's empty arrays and numeric-key lists back into maps."""
    if isinstance(value, dict):
        return value
    if isinstance(value, list):
        return {str(i): v for i, v in enumerate(value)}
    return {}


WRITES = (".add", ".update", ".delete", ".set")


def _is_write(method: str) -> bool:
    return method.startswith(("crm.", "catalog.")) and method.endswith(WRITES)


class Client:
    def __init__(
        self,
        store: PortalStore,
        member_id: str,
        client_id: str,
        client_secret: str,
        *,
        http: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        pacer: Pacer | None = None,
        retries: int = 5,
        timeout: float = 30.0,
        connector: str | None = None,
        retry: Retry | None = None,
    ) -> None:
        """``retry``: how outages are waited out (``retries=0``: not at all, for a one-off probe).
        ``connector``: the ``auth_connector`` our writes carry, so Bitrix24 does not put them in the
        offline queue we read (§4.5): our own changes do not come back to us as someone else's."""
        self.connector = connector
        self.store, self.member_id = store, member_id
        self.client_id, self.client_secret = client_id, client_secret
        self.http = http or requests.Session()
        self.clock, self.sleep = clock, sleep
        self.pacer = pacer or Pacer(clock, sleep)
        self.retries, self.timeout = retries, timeout
        self.retry = retry or Retry()
        self.calls = 0  # HTTP requests made (benchmarks count them)
        self.refreshes = 0

    # -- public -----------------------------------------------------------------------------------------

    def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        return self.call_full(method, params)["result"]

    def call_full(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self._request(method, self._tagged(method, params or {}))

    def _tagged(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if self.connector and _is_write(method):
            return {**params, "auth_connector": self.connector}
        return params

    def pages(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        start: int = 0,
        items_key: str | None = None,
    ) -> list[Any]:
        """Every row of a list that pages by ``start`` (50 a page, ``next`` while there is more, §7.1),
        from ``start`` on — for lists that cannot be scanned by ID (``crm.status.list``, ``user.get``).
        ``items_key``: the rows sit under that key of ``result`` (``crm.category.list``: categories)."""
        rows: list[Any] = []
        while True:
            page = self.call_full(method, {**(params or {}), "start": start})
            result = page.get("result") or {}
            rows += list((result.get(items_key) or []) if items_key and isinstance(result, dict) else result)
            if page.get("next") is None:
                return rows
            start = int(page["next"])

    def batch(self, commands: dict[str, tuple[str, dict[str, Any]]], *, halt: bool = False) -> BatchResult:
        """≤50 commands under non-numeric keys; each command's error is reported under its key."""
        if len(commands) > 50:
            raise ValueError("a batch holds at most 50 commands")
        if any(k.isdigit() for k in commands):
            raise ValueError("batch keys must not be numeric (Bitrix24 turns the answer into lists)")
        cmd = {k: f"{m}?{build_query(p)}" if p else m for k, (m, p) in commands.items()}
        outer: dict[str, Any] = {"halt": 1 if halt else 0, "cmd": cmd}
        if self.connector and any(_is_write(m) for m, _ in commands.values()):
            # Bitrix24 reads auth_connector from the HTTP request only: the batch's sub-commands inherit
            # it, one written inside a sub-command is not read (contract errata 3)
            outer["auth_connector"] = self.connector
        body = self._request("batch", outer)["result"]
        return BatchResult(
            _section(body.get("result")),
            _section(body.get("result_error")),
            _section(body.get("result_total")),
            _section(body.get("result_next")),
        )

    def batch_all(self, commands: dict[str, tuple[str, dict[str, Any]]], *, what: str) -> BatchResult:
        """Any number of commands, 50 per batch call. A command the portal refuses is logged (``what`` says
        what it was for) and reported under its key; the others go on."""
        merged = BatchResult({}, {}, {}, {})
        keys = list(commands)
        for start in range(0, len(keys), 50):
            part = self.batch({k: commands[k] for k in keys[start : start + 50]})
            merged.result.update(part.result)
            merged.errors.update(part.errors)
            merged.total.update(part.total)
            merged.next.update(part.next)
        for key, error in merged.errors.items():
            log.warning(
                "%s: %s refused on %s: %s %s",
                what,
                key,
                self.member_id,
                error.get("error"),
                error.get("error_description"),
            )
        return merged

    def scan(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        id_field: str = "ID",
        items_key: str | None = None,
        started: list[str] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every row, fast (§7.2): order by ID, filter ``>ID`` past the last, ``start=-1`` until short.
        ``started`` gets the server's time when the first page was read (``time.date_start``)."""
        params = dict(params or {})
        filt = dict(params.pop("filter", {}) or {})
        last = 0
        while True:
            page_filter = {**filt, f">{id_field}": last}
            answer = self.call_full(
                method, {**params, "filter": page_filter, "order": {id_field: "ASC"}, "start": -1}
            )
            if started is not None and not started and isinstance(answer.get("time"), dict):
                started.append(str(answer["time"].get("date_start") or ""))
            result = answer["result"]
            rows = result[items_key] if items_key else result
            yield from rows
            if len(rows) < 50:
                return
            last = int(rows[-1][id_field])

    # -- the request loop -------------------------------------------------------------------------------

    def _creds(self) -> Credentials:
        creds = self.store.credentials(self.member_id)
        if creds is None:
            raise NeedsAttention("NOT_INSTALLED", ATTENTION_TEXT["NOT_INSTALLED"])
        return creds

    def _request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """Send until answered. An outage is waited out (``self.retry``) and recorded for the portal;
        a write that may have happened is not repeated blindly (:class:`Unsure`); what cannot succeed
        is raised at once."""
        creds = self._creds()
        refreshed = False
        again = repeatable(method, params)
        attempt, down_since = 0, None
        while True:
            if creds.expires_at - self.clock() < REFRESH_MARGIN and not refreshed:
                creds, refreshed = self.refresh(creds), True
            self.pacer.before(method)
            try:
                body = self._post(creds, method, params)
            except B24Error as exc:
                if exc.code == "MOVED":
                    creds = self._creds()
                    continue
                if exc.code == "EXPIRED_TOKEN" and not refreshed:
                    creds, refreshed = self.refresh(creds), True
                    continue
                if exc.code in ("NO_AUTH_FOUND", "INVALID_TOKEN") and not refreshed:
                    creds, refreshed = self.refresh(creds), True
                    continue
                if exc.attention or exc.code in ("NO_AUTH_FOUND", "INVALID_TOKEN", "EXPIRED_TOKEN"):
                    code = exc.code if exc.attention else "INVALID_GRANT"
                    self.store.needs_attention(self.member_id, ATTENTION_TEXT.get(code, exc.description))
                    raise NeedsAttention(
                        code, ATTENTION_TEXT.get(code, exc.description), exc.status, method
                    ) from exc
                if not exc.retryable or self.retries == 0:
                    raise
                down_since = self.clock() if down_since is None else down_since
                if exc.code not in LIMITS:  # being paced is not an outage: Health stays quiet
                    outage.begin(self.store, self.member_id, exc.code, down_since)
                if not again and exc.code not in NOT_RUN:  # it may have happened: the caller checks
                    raise Unsure(exc.code, exc.description, exc.status, method) from exc
                patience = self.retry.patience
                if patience is not None and self.clock() - down_since >= patience:
                    raise OutageTooLong(
                        exc.code, f"no answer for {self.clock() - down_since:.0f} s", exc.status, method
                    ) from exc
                if exc.code == "QUERY_LIMIT_EXCEEDED":
                    self.pacer.limit_hit(attempt, self.retry.delay(attempt + 1))
                elif exc.code == "OPERATION_TIME_LIMIT":
                    self.pacer.operating(method, None)
                else:
                    self.sleep(self.retry.delay(attempt))
                attempt += 1
                continue
            self.pacer.note(method, body.get("time"))
            outage.end(self.store, self.member_id)
            return body

    def _post(self, creds: Credentials, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        url = f"{creds.client_endpoint}{method}"
        try:
            answer = self.http.post(
                url, json={**params, "auth": creds.access_token}, timeout=self.timeout, allow_redirects=False
            )
        except requests.ConnectionError as exc:  # refused or never connected (ConnectTimeout is one
            # too, so this comes before Timeout): never reached the portal; else: may have
            code = "CONNECTION_REFUSED" if _never_sent(exc) else "CONNECTION"
            raise B24Error(code, str(exc), 0, method) from exc
        except requests.Timeout as exc:  # sent, no answer in time (a read timeout): it may have happened
            raise B24Error("TIMEOUT", str(exc), 0, method) from exc
        if answer.status_code in (301, 302, 307, 308):
            self._moved(creds, urljoin(url, answer.headers.get("Location", "")))
            raise B24Error("MOVED", answer.headers.get("Location", ""), answer.status_code, method)
        try:
            body = answer.json()
        except ValueError as exc:  # a gateway's page: the portal is down (5xx) — or the address is wrong
            refused = 400 <= answer.status_code < 500 and answer.status_code != 429
            raise B24Error(
                "HTTP_4XX_PAGE" if refused else "NOT_JSON",
                f"HTTP {answer.status_code}, not JSON",
                answer.status_code,
                method,
            ) from exc
        if not isinstance(body, dict):
            raise B24Error("NOT_JSON", "answer is not an object", answer.status_code, method)
        if "error" in body:
            code = str(body.get("error") or "")
            if not code and answer.status_code >= 500:
                code = "HTTP_5XX"
            raise B24Error(
                code or "ERROR", str(body.get("error_description", "")), answer.status_code, method
            )
        if answer.status_code >= 500:
            raise B24Error("HTTP_5XX", f"HTTP {answer.status_code}", answer.status_code, method)
        return body

    def _moved(self, creds: Credentials, location: str) -> None:
        """A renamed portal answers 302 to its new domain (§2.4). A redirect is only a hint: the token is
        never sent to where it points until the OAuth server (the one recorded at install) says that is
        where this portal's REST endpoint now lives; anything else is refused and nothing is stored."""
        if "/rest/" not in location or not urlsplit(location).netloc:
            raise B24Error("BAD_REDIRECT", location)
        endpoint = location[: location.index("/rest/") + len("/rest/")]
        confirmed = self._endpoint_by_oauth_server(creds)
        if confirmed != endpoint or endpoint == creds.client_endpoint:
            log.warning(
                "portal %s: refused a redirect to %s (the OAuth server says %s)",
                self.member_id,
                urlsplit(endpoint).netloc,
                urlsplit(confirmed or "").netloc or "nothing",
            )
            raise B24Error("BAD_REDIRECT", f"redirect to {urlsplit(endpoint).netloc} not confirmed")
        path = urlsplit(endpoint).path
        domain = (
            path.split("/portal/", 1)[1].split("/", 1)[0]
            if "/portal/" in path
            else urlsplit(endpoint).hostname
        )
        log.info("portal %s moved from %s to %s", self.member_id, creds.domain, domain)
        self.store.moved(self.member_id, domain or creds.domain, endpoint)

    def _endpoint_by_oauth_server(self, creds: Credentials) -> str | None:
        """``install.client_endpoint`` from the OAuth server's ``app.info`` for our token (§1.4), if it
        answers for this portal and our app."""
        try:
            answer = self.http.get(
                creds.server_endpoint + "app.info",
                params={"auth": creds.access_token},
                timeout=self.timeout,
                allow_redirects=False,
            )
            info = answer.json().get("result")
        except (requests.RequestException, ValueError, AttributeError):
            return None
        install = info.get("install") if isinstance(info, dict) else None
        if not isinstance(install, dict) or info.get("client_id") != self.client_id:
            return None
        if install.get("member_id") != self.member_id:
            return None
        endpoint = install.get("client_endpoint")
        return endpoint if isinstance(endpoint, str) else None

    # -- tokens -----------------------------------------------------------------------------------------

    def refresh(self, seen: Credentials) -> Credentials:
        """One refresh per portal at a time; a worker that waited uses the refresh that happened meanwhile.
        The exchange itself is :func:`.oauth.refresh` (authlib)."""
        with _portal_lock(self.member_id):
            current = self._creds()
            if current.version != seen.version:
                return current
            try:
                token = oauth.refresh(
                    oauth.token_url(current.server_endpoint),
                    self.client_id,
                    self.client_secret,
                    current.refresh_token,
                    now=self.clock(),
                    timeout=self.timeout,
                )
            except oauth.Unreachable as exc:
                raise B24Error("TOKEN_SERVER", f"token refresh failed: {exc}", 0, "oauth/token") from None
            except oauth.Refused as exc:
                self.refreshes += 1
                latest = self._creds()
                if latest.version != current.version:  # refreshed elsewhere (another process) meanwhile
                    return latest
                text = ATTENTION_TEXT.get(exc.code, f"Token refresh refused: {exc.code}")
                self.store.needs_attention(self.member_id, text)
                raise NeedsAttention(exc.code, text, exc.status, "oauth/token") from None
            self.refreshes += 1
            self.store.save_tokens(
                self.member_id,
                token.access_token,
                token.refresh_token,
                token.expires_at,
                token.client_endpoint,
            )
            return self._creds()


def _never_sent(exc: BaseException) -> bool:
    """A connection refused or never made (no request reached the portal)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    todo: list[BaseException] = [exc]
    visited: set[int] = set()
    while todo:
        seen = todo.pop()
        if id(seen) in visited:
            continue
        visited.add(id(seen))
        if type(seen).__name__ in ("NewConnectionError", "ConnectionRefusedError", "NameResolutionError"):
            return True
        reason = getattr(seen, "reason", None)
        todo += [
            e for e in (*seen.args, reason, seen.__cause__, seen.__context__) if isinstance(e, BaseException)
        ]
    return False


def build_query(params: dict[str, Any], prefix: str = "") -> str:
    """PHP ``http_build_query``: nested maps and lists as ``a[b][0]=…``; an empty array as ``a[]=``."""
    from urllib.parse import quote

    parts: list[str] = []

    def walk(key: str, value: Any) -> None:
        if isinstance(value, dict):
            if not value:
                parts.append(f"{quote(key)}[]=")
            for k, v in value.items():
                walk(f"{key}[{k}]", v)
        elif isinstance(value, (list, tuple)):
            if not value:
                parts.append(f"{quote(key)}[]=")
            for i, v in enumerate(value):
                walk(f"{key}[{i}]", v)
        elif value is None:
            parts.append(f"{quote(key)}=")
        elif isinstance(value, bool):
            parts.append(f"{quote(key)}={'Y' if value else 'N'}")
        else:
            parts.append(f"{quote(key)}={quote(str(value), safe='')}")

    for k, v in params.items():
        walk(f"{prefix}[{k}]" if prefix else str(k), v)
    return "&".join(parts)
