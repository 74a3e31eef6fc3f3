"""The OAuth server double: refresh rotation, its errors, the code flow, app.info (contract §2, §12.2)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import requests

from .conftest import World


def token_url(world: World) -> str:
    # Derived the documented way: server_endpoint minus "rest/" plus "oauth/token/".
    return world.emu.server_endpoint().removesuffix("rest/") + "oauth/token/"


def refresh(
    world: World, refresh_token: str, secret: str = "s3cr3t", client_id: str | None = None
) -> requests.Response:
    return requests.get(
        token_url(world),
        params={
            "grant_type": "refresh_token",
            "client_id": client_id or world.app.client_id,
            "client_secret": secret,
            "refresh_token": refresh_token,
        },
        timeout=5,
    )


def test_refresh_rotates_and_the_old_refresh_token_dies(world: World) -> None:
    world.installed()
    first = world.tokens()
    fresh = refresh(world, first["refresh_token"])
    assert fresh.status_code == 200
    body = fresh.json()
    assert set(body) == {
        "access_token",
        "refresh_token",
        "expires",
        "expires_in",
        "scope",
        "domain",
        "server_endpoint",
        "client_endpoint",
        "member_id",
        "status",
        "user_id",
    }
    assert body["expires_in"] == 3600 and body["client_endpoint"] == world.rest
    assert body["member_id"] == world.portal.member_id
    again = refresh(world, first["refresh_token"])  # a second worker using the same refresh token loses
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")
    assert world.call("crm.deal.get", {"id": 1}, token=body["access_token"]).status_code == 200


def test_oauth_errors(world: World) -> None:
    world.installed()
    pair = world.tokens()
    wrong_client = refresh(world, pair["refresh_token"], client_id="app.nope")
    assert wrong_client.status_code == 200 and wrong_client.json() == {"error": "wrong_client"}
    assert refresh(world, pair["refresh_token"], secret="guess").json()["error"] == "invalid_client"
    assert refresh(world, "").json()["error"] == "invalid_request"
    world.emu.uninstall(world.portal, world.app.client_id)
    gone = refresh(world, pair["refresh_token"])
    assert gone.status_code == 400 and gone.json()["error"] == "invalid_grant"


def test_authorization_code_flow_and_code_expiry(world: World) -> None:
    world.installed()
    start = requests.get(
        f"{world.emu.portal_url(world.portal)}oauth/authorize/",
        params={"client_id": world.app.client_id, "state": "xyz"},
        allow_redirects=False,
        timeout=5,
    )
    assert start.status_code == 302
    query = parse_qs(urlparse(start.headers["Location"]).query)
    assert query["state"] == ["xyz"] and query["domain"] == ["acme.bitrix24.com"]
    code = query["code"][0]
    params = {"grant_type": "authorization_code", "client_id": world.app.client_id, "client_secret": "s3cr3t"}
    ok = requests.get(token_url(world), params={**params, "code": code}, timeout=5)
    assert ok.status_code == 200 and ok.json()["access_token"]
    reused = requests.get(token_url(world), params={**params, "code": code}, timeout=5)
    assert reused.json()["error"] == "invalid_grant"
    again = requests.get(
        f"{world.emu.portal_url(world.portal)}oauth/authorize/",
        params={"client_id": world.app.client_id},
        allow_redirects=False,
        timeout=5,
    )
    late = parse_qs(urlparse(again.headers["Location"]).query)["code"][0]
    world.clock.advance(31)
    assert (
        requests.get(token_url(world), params={**params, "code": late}, timeout=5).json()["error"]
        == "invalid_grant"
    )


def test_oauth_app_info_tells_which_portal_a_token_belongs_to(world: World) -> None:
    token = world.installed()
    info = requests.get(world.emu.server_endpoint() + "app.info", params={"auth": token}, timeout=5).json()[
        "result"
    ]
    assert info["client_id"] == world.app.client_id
    assert info["install"]["member_id"] == world.portal.member_id and info["install"]["installed"] is True
    portal_info = world.call("app.info", token=token).json()["result"]
    assert portal_info["INSTALLED"] is True and portal_info["STATUS"] == "F"
