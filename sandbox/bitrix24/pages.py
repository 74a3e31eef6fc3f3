"""A portal UI good enough to click through (§12.3, §3): deal, contact and company cards that embed the
app's placements as iframes loaded by a real form POST with the frame fields, a list with row menus, the
app page (installer until ``installFinish``), and a small BX24 bridge over ``postMessage``.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, request

from .emulator import Bitrix24, Portal

KINDS = {"deal": (2, "DEAL"), "contact": (3, "CONTACT"), "company": (4, "COMPANY")}

_HERE = Path(__file__).parent
BRIDGE = (_HERE / "bx24.js").read_text(encoding="utf-8")
HOST_SCRIPT = (_HERE / "host.js").read_text(encoding="utf-8")

STYLE = """
body{font-family:"Open Sans","Helvetica Neue",Arial,sans-serif;background:#eef2f4;color:#333;margin:0}
header{background:#2fc6f6;color:#fff;padding:10px 20px;font-size:18px}
main{padding:16px 20px}.card{background:#fff;border-radius:12px;padding:14px 18px;margin-bottom:14px}
.tabs a,.tabs button{margin-right:10px}iframe{width:100%;border:0;min-height:200px;background:#fff}
#slider{position:fixed;top:0;right:0;bottom:0;width:70%;background:#fff;
  box-shadow:-4px 0 16px #0003;padding:8px}
#slider iframe{height:95%}table{border-collapse:collapse}td,th{padding:4px 10px;text-align:left}
"""


def register_pages(app: Flask, emu: Bitrix24, find_portal: Callable[[str], Portal | Response]) -> None:
    def frame(
        portal: Portal,
        client_id: str,
        user_id: int,
        placement: str,
        options: dict[str, Any],
        key: str,
        *,
        hidden_frame: bool = False,
    ) -> str:
        install = portal.installs[client_id]
        if placement == "DEFAULT":
            url = (
                install.app.app_url
                if install.installed
                else (install.app.installer_url or install.app.app_url)
            )
        else:
            url = next(p.handler for p in install.placements if p.placement == placement)
        query, form = emu.frame_fields(
            portal, client_id, user_id, placement, options, request.args.get("lang", "en")
        )
        info = {
            "placement": placement,
            "options": options,
            "lang": query["LANG"],
            "admin": portal.users[user_id].admin,
            "finish_url": f"/portal/{portal.domain}/_app/{client_id}/installFinish",
            "auth": {
                "access_token": form["AUTH_ID"],
                "refresh_token": form["REFRESH_ID"],
                "expires_in": int(emu.clock() * 1000) + 3600 * 1000,
                "domain": portal.domain,
                "member_id": portal.member_id,
                "client_endpoint": emu.client_endpoint(portal),
            },
        }
        inputs = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in form.items()
        )
        action = html.escape(f"{url}{'&' if '?' in url else '?'}{urlencode(query)}")
        auto = "" if hidden_frame else f"<script>document.getElementById('{key}').submit();</script>"
        return (
            f'<form id="{key}" method="post" action="{action}" target="{key}-frame">{inputs}</form>'
            f'<iframe id="{key}-frame" name="{key}-frame" data-info="{html.escape(json.dumps(info))}"'
            f"{' hidden' if hidden_frame else ''}></iframe>{auto}"
        )

    def page(title: str, body: str) -> Response:
        return Response(
            f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style><script>{HOST_SCRIPT}</script></head><body>"
            f"<header>Bitrix24 (sandbox) — {html.escape(title)}</header><main>{body}</main>"
            f"<div id='slider' hidden></div></body></html>",
            mimetype="text/html",
        )

    @app.route("/bx24.js")
    @app.route("/api/v1/")
    def bridge() -> Response:
        return Response(BRIDGE, mimetype="application/javascript")

    @app.route("/portal/<domain>/_app/<client_id>/installFinish", methods=["POST"])
    def install_finish(domain: str, client_id: str) -> Response:
        portal = find_portal(domain)
        if isinstance(portal, Response):
            return portal
        emu.install_finish(portal, client_id)
        return Response("", 204)

    @app.route("/portal/<domain>/marketplace/app/<client_id>/")
    def app_page(domain: str, client_id: str) -> Response:
        portal = find_portal(domain)
        if isinstance(portal, Response):
            return portal
        user = portal.users[int(request.args.get("user_id") or portal.admin().id)]
        install = portal.installs.get(client_id)
        if install is None:
            return page("Application", "<div class='card'>The application is not installed.</div>")
        if not install.installed and not user.admin:
            return page(
                "Application",
                "<div class='card'>The application is not fully installed yet. "
                "Please contact your administrator.</div>",
            )
        return page(install.app.code, frame(portal, client_id, user.id, "DEFAULT", {}, "app"))

    def crm_page(domain: str, kind: str) -> tuple[Portal, int, str] | Response:
        """The portal and CRM entity a page URL names, or the 404 a portal gives."""
        portal = find_portal(domain)
        if isinstance(portal, Response):
            return portal
        if kind not in KINDS:
            return Response("Not found", 404)
        return (portal, *KINDS[kind])

    @app.route("/portal/<domain>/crm/<kind>/details/<int:rid>/")
    def details(domain: str, kind: str, rid: int) -> Response:
        found = crm_page(domain, kind)
        if isinstance(found, Response):
            return found
        portal, entity_type, upper = found
        record = portal.store.records[entity_type].get(rid)
        if record is None:
            return Response("Not found", 404)
        user_id = int(request.args.get("user_id") or portal.admin().id)
        name = (
            record.get("TITLE") or " ".join(str(record.get(k) or "") for k in ("NAME", "LAST_NAME")).strip()
        )
        summary = "".join(
            f"<tr><th>{k}</th><td>{html.escape(str(v))}</td></tr>"
            for k, v in record.items()
            if k
            in ("ID", "TITLE", "NAME", "LAST_NAME", "STAGE_ID", "OPPORTUNITY", "CURRENCY_ID", "COMPANY_ID")
            and v not in (None, "")
        )
        uri = f"/crm/{kind}/details/{rid}/"
        tabs: list[str] = []
        toolbar: list[str] = []
        for client_id, install in portal.installs.items():
            if not install.installed:
                continue  # placements stay hidden until installFinish (§1.2)
            for p in install.placements:
                key = f"p{len(tabs) + len(toolbar)}"
                if p.placement == f"CRM_{upper}_DETAIL_TAB":
                    tabs.append(
                        f"<div class='card'><h3>{html.escape(p.title)}</h3>"
                        + frame(portal, client_id, user_id, p.placement, {"ID": str(rid), "URI": uri}, key)
                        + "</div>"
                    )
                elif p.placement == f"CRM_{upper}_DETAIL_TOOLBAR":
                    toolbar.append(
                        f"<button onclick=\"openSlider('{key}')\">{html.escape(p.title)}</button>"
                        + frame(
                            portal,
                            client_id,
                            user_id,
                            p.placement,
                            {"ID": str(rid), "URI": uri},
                            key,
                            hidden_frame=True,
                        )
                    )
        body = (
            f"<div class='card'><h2>{html.escape(str(name))}</h2><div class='tabs'>{''.join(toolbar)}</div>"
            f"<table>{summary}</table></div>{''.join(tabs)}"
        )
        return page(f"{kind.title()} {rid}", body)

    @app.route("/portal/<domain>/crm/<kind>/list/")
    def listing(domain: str, kind: str) -> Response:
        found = crm_page(domain, kind)
        if isinstance(found, Response):
            return found
        portal, entity_type, upper = found
        user_id = int(request.args.get("user_id") or portal.admin().id)
        rows = []
        menus = [
            (c, p)
            for c, i in portal.installs.items()
            if i.installed
            for p in i.placements
            if p.placement == f"CRM_{upper}_LIST_MENU"
        ]
        for n, record in enumerate(
            sorted(portal.store.records[entity_type].values(), key=lambda r: r["ID"])[:50]
        ):
            name = (
                record.get("TITLE") or f"{record.get('NAME') or ''} {record.get('LAST_NAME') or ''}".strip()
            )
            items = "".join(
                f"<button onclick=\"openSlider('m{n}x{j}')\">{html.escape(p.title)}</button>"
                + frame(
                    portal, c, user_id, p.placement, {"ID": str(record["ID"])}, f"m{n}x{j}", hidden_frame=True
                )
                for j, (c, p) in enumerate(menus)
            )
            rows.append(
                f"<tr><td>{record['ID']}</td><td><a href='/portal/{domain}/crm/{kind}/details/"
                f"{record['ID']}/'>{html.escape(str(name))}</a></td><td>{items}</td></tr>"
            )
        return page(f"{kind.title()} list", f"<div class='card'><table>{''.join(rows)}</table></div>")
