"""The agent's download from the app page: the files ``tools/build_agent.py`` built into ``dist/``
(``QBB24_DOWNLOADS`` names another folder). What exists is what the page offers — nothing is promised
that was not built: today a wheel (pure Python; it installs with ``py -m pip install`` on a PC with
Python 3.11), no Windows ``.exe``."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, send_file

ROOT = Path(__file__).resolve().parents[1]
SAFE = re.compile(r"qb_bitrix24-[\w.+-]+\.whl\Z")


def folder() -> Path:
    return Path(os.environ.get("QBB24_DOWNLOADS") or ROOT / "dist")


def available() -> list[dict[str, Any]]:
    """The agent builds there are, newest first: name, size and what it is, for the setup page."""
    found = sorted(
        (p for p in folder().glob("qb_bitrix24-*.whl") if SAFE.match(p.name)),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    return [
        {"name": p.name, "size": p.stat().st_size, "kind": "wheel", "url": f"/download/{p.name}"}
        for p in found
    ]


blueprint = Blueprint("downloads", __name__)


@blueprint.get("/download/<name>")
def download(name: str) -> Response:
    if not SAFE.match(name) or not (folder() / name).is_file():
        abort(404)
    return send_file(folder() / name, as_attachment=True, download_name=name, mimetype="application/zip")
