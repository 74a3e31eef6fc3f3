"""The ``.qwc`` file a bookkeeper adds to the QuickBooks Web Connector (contract §3).

OwnerID and FileID come from the config and stay the same for the life of the install, so re-writing the
file (``qb-agent qwc``) never makes QuickBooks think a new application is asking for access.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape

from .config import AgentConfig
from .soap.door import LOOPBACK_HOSTS
from .support import SUPPORT_PATH

APP_NAME = "Bitrix24 CRM Sync"
APP_DESCRIPTION = "Keeps QuickBooks customers, items, invoices and estimates in step with Bitrix24 CRM."


@dataclass(frozen=True)
class Qwc:
    app_url: str
    app_support: str
    user_name: str
    owner_id: str
    file_id: str
    run_every_minutes: int
    app_name: str = APP_NAME
    run_every_seconds: int = 0  # > 0: <RunEveryNSeconds> instead of minutes


def from_config(config: AgentConfig) -> Qwc:
    host = "localhost" if config.host in LOOPBACK_HOSTS else config.host
    # The Web Connector refuses an AppSupport on another domain than AppURL (QBWC1000) and one it cannot
    # reach when the file is added (QBWC1003/1004): the agent serves that page itself (support.py).
    return Qwc(
        app_url=f"http://{host}:{config.port}/qbwc",
        app_support=f"http://{host}:{config.port}{SUPPORT_PATH}",
        user_name=config.user_name,
        owner_id=config.owner_id,
        file_id=config.file_id,
        run_every_minutes=max(1, config.run_every_minutes),
        run_every_seconds=max(0, config.run_every_seconds),
    )


def scheduler(q: Qwc) -> str:
    """One interval only: with both, QBWC takes whichever comes first in the file (PG p.38)."""
    if q.run_every_seconds > 0:
        return f"<RunEveryNSeconds>{q.run_every_seconds}</RunEveryNSeconds>"
    return f"<RunEveryNMinutes>{q.run_every_minutes}</RunEveryNMinutes>"


def render(q: Qwc) -> str:
    e = escape
    return (
        '<?xml version="1.0"?>\n'
        "<QBWCXML>\n"
        f"  <AppName>{e(q.app_name)}</AppName>\n"
        "  <AppID></AppID>\n"
        f"  <AppURL>{e(q.app_url)}</AppURL>\n"
        f"  <AppDescription>{e(APP_DESCRIPTION)}</AppDescription>\n"
        f"  <AppSupport>{e(q.app_support)}</AppSupport>\n"
        f"  <UserName>{e(q.user_name)}</UserName>\n"
        f"  <OwnerID>{e(q.owner_id)}</OwnerID>\n"
        f"  <FileID>{e(q.file_id)}</FileID>\n"
        "  <QBType>QBFS</QBType>\n"
        f"  <Scheduler>{scheduler(q)}</Scheduler>\n"
        "  <IsReadOnly>false</IsReadOnly>\n"
        "  <PersonalDataPref>pdpOptional</PersonalDataPref>\n"
        "  <UnattendedModePref>umpOptional</UnattendedModePref>\n"
        "</QBWCXML>\n"
    )
