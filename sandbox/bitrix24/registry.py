"""Method registry and the call context every REST method receives."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import ApiError, access_denied, wrong_auth_type
from .store import Origin

if TYPE_CHECKING:
    from .emulator import Bitrix24, Install, Portal, User


@dataclass
class Ctx:
    emu: Bitrix24
    portal: Portal
    user: User
    client_id: str | None  # None: an incoming webhook
    scopes: tuple[str, ...]
    params: dict[str, Any]
    in_batch: bool = False
    # the ``auth_connector`` of the HTTP request that carried the call: a batch's sub-commands inherit the
    # outer request's, and one written inside a sub-command is not read (CRestProvider::methodsBatch hands
    # each sub-call the outer request's auth; errata 3 of the contract)
    connector: str | None = None

    @property
    def install(self) -> Install | None:
        return self.portal.installs.get(self.client_id) if self.client_id else None

    @property
    def origin(self) -> Origin:
        return Origin(self.user.id, self.client_id, self.connector or None)

    def require_admin(self, text: str = "Access denied!") -> None:
        if not self.user.admin:
            raise access_denied(text)


@dataclass
class Listed:
    """A list answer: ``result`` plus ``total`` and (only when more) ``next``."""

    result: Any
    total: int
    next: int | None = None


@dataclass(frozen=True)
class Method:
    fn: Callable[[Ctx], Any]
    scope: str
    app_only: bool = False
    admin: bool = False


METHODS: dict[str, Method] = {}


def method(
    *names: str, scope: str, app_only: bool = False, admin: bool = False
) -> Callable[[Callable[[Ctx], Any]], Callable[[Ctx], Any]]:
    def register(fn: Callable[[Ctx], Any]) -> Callable[[Ctx], Any]:
        for name in names:
            METHODS[name] = Method(fn, scope, app_only, admin)
        return fn

    return register


def check_access(m: Method, ctx: Ctx) -> None:
    if m.app_only and ctx.client_id is None:
        raise wrong_auth_type()
    if m.scope not in ("basic",) and m.scope not in ctx.scopes:
        raise ApiError(
            "insufficient_scope",
            "The request requires higher privileges than provided by the access token"
            if ctx.client_id
            else "The request requires higher privileges than provided by the webhook token",
            ctx.emu.settings.scope_status,
        )
    if m.admin:
        ctx.require_admin()
