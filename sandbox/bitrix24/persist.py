"""The emulator's portals on disk: what a portal keeps between runs (the demo resumes from it).

Portals (CRM store, users, installs with their placements, bindings, options and offline queue), the apps
registered, and the issued tokens with their expiry — so that a cloud that stored tokens before the stop
finds them valid, expired or rotated exactly as a real portal would. The call log, deliveries and rate
limit buckets start empty, as after a restart. Written to a temporary file and renamed.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from ..files import write_atomically
from .emulator import Bitrix24

FORMAT = 1
PORTAL_CALLABLES = ("clock", "store")  # rebuilt by add_portal: the shared clock, the change hook
STORE_CALLABLES = ("now", "on_change")


def save(emu: Bitrix24, path: Path) -> None:
    with emu.lock:
        portals = []
        for p in emu.portals.values():
            own = {k: v for k, v in vars(p).items() if k not in PORTAL_CALLABLES}
            store = {k: v for k, v in vars(p.store).items() if k not in STORE_CALLABLES}
            portals.append((own, store))
        data = {"format": FORMAT, "portals": portals, "apps": emu.apps, "tokens": emu.tokens,
                "rotated": emu.rotated, "kept_options": emu.kept_options}  # fmt: skip
        blob = pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)
    write_atomically(path, blob)


def load(emu: Bitrix24, path: Path) -> None:
    """Put the saved portals, apps and tokens into a fresh emulator; ValueError if not one of ours."""
    with open(path, "rb") as f:
        data: dict[str, Any] = pickle.load(f)  # our own file, written by save()
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"{path} is not a saved Bitrix24 emulator state")
    with emu.lock:
        for own, store in data["portals"]:
            portal = emu.add_portal(own["domain"], member_id=own["member_id"], plan=own["plan"])
            vars(portal).update(own)
            vars(portal.store).update(store)
        emu.apps.update(data["apps"])
        emu.tokens.update(data["tokens"])
        emu.rotated.update(data["rotated"])
        emu.kept_options.update(data["kept_options"])
