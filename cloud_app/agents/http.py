"""``POST /api/agents/pair`` — the one HTTP call an agent makes: a pairing code for a token.

Request JSON ``{"code", "agent_version", "hostname"}``; answer ``{"agent_id", "agent_token", "portal",
"ws_url"}``; refusals ``{"error", "message"}`` with 400/404/410/415/429 (see :class:`PairingRefused`).
The token is shown to the agent once; only its digest is stored.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from .store import AgentStore, PairingRefused


def blueprint(
    store: AgentStore, ws_url: Callable[[], str], installed: Callable[[str], bool] | None = None
) -> Blueprint:
    """``installed(member_id)``: whether the portal still has the app (a code of an uninstalled portal
    pairs nothing)."""
    bp = Blueprint("agents", __name__)

    @bp.post("/api/agents/pair")
    def pair() -> ResponseReturnValue:
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("code"), str):
            hint = 'Send JSON {"code": "...", "agent_version": "..."}.'
            return jsonify(error="bad_request", message=hint), 400
        version = v if isinstance(v := body.get("agent_version"), str) else ""
        hostname = h if isinstance(h := body.get("hostname"), str) else ""
        try:
            agent_id, token, portal = store.redeem(
                body["code"],
                agent_version=version,
                hostname=hostname,
                source=request.remote_addr or "",
                installed=installed,
            )
        except PairingRefused as exc:
            return jsonify(error=exc.error, message=exc.message), exc.status
        return jsonify(agent_id=agent_id, agent_token=token, portal=portal, ws_url=ws_url())

    return bp
