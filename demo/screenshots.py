"""``python3 dev.py screenshots [FOLDER]``: every page of the app as a person sees it, as PNG files.

Starts the demo's world (sandbox portal, real cloud, paired agent, QuickBooks simulator, Web Connector
every second), runs the first sync, then walks the sandbox portal's pages in headless Chromium: a deal's
"Sync to QuickBooks" (preview, then done), the deal tab, a contact's and a company's QuickBooks tab (also
at a phone's width), the deal list's row menu, and each part of the app page — in English, and the app
page once in Russian.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import Page, expect

from .browser import chromium
from .scheduler import Scheduler
from .world import CLIENT_ID, World

OUT = Path("screenshots")


def _first_sync(world: World) -> None:
    world.api("POST", "/initial-sync")
    done = world.until(
        lambda: (world.api("GET", "/initial-sync").json().get("documents") or {}).get("state") == "done",
        timeout=300,
    )
    if not done:
        raise SystemExit("the first sync did not finish")


def _linked(world: World, b24_type: str) -> str:
    """A linked company/contact, one that owes something if there is one (a fuller tab to look at)."""
    rows = world.services.portals.db.conn.execute(
        "select b24_id, qb_id from mappings where member_id = ? and kind = 'customer' and b24_type = ? "
        "order by cast(b24_id as integer)",
        [world.member_id, b24_type],
    ).fetchall()
    records = world.qb.company.records

    def owes(qb_id: str) -> bool:
        record = records.get(qb_id)
        return record is not None and float(record.text("TotalBalance") or 0) > 0

    return str(next((b24 for b24, qb in rows if owes(qb)), rows[0][0]))


def take(out: Path, world: World, page: Page, name: str) -> Path:
    time.sleep(0.3)  # the frame's last resize
    path = out / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"  {path}")
    return path


def run(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    shots: list[Path] = []
    with (
        tempfile.TemporaryDirectory(prefix="qbb24-shots-") as home,
        World(Path(home), plan="professional") as world,
    ):
        scheduler = Scheduler(world, interval=1.0).start()
        try:
            _first_sync(world)
            base = world.emu.portal_url(world.portal)
            store = world.portal.store
            deal = next(d["ID"] for d in store.records[2].values() if store.rows.get(("D", d["ID"])))
            with chromium() as browser:
                page = browser.new_page(viewport={"width": 1280, "height": 860})
                page.set_default_timeout(60_000)
                expect.set_options(timeout=60_000)

                page.goto(f"{base}crm/deal/details/{deal}/")
                page.get_by_role("button", name="Sync to QuickBooks").first.click()
                frame = page.frame_locator("#slider iframe")
                expect(frame.locator("#qb-confirm")).to_be_enabled()
                shots.append(take(out, world, page, "01-deal-sync-preview"))
                frame.locator("#qb-confirm").click()
                expect(frame.locator("#qb-status")).to_have_attribute("data-state", "done")
                shots.append(take(out, world, page, "02-deal-sync-done"))

                page.goto(f"{base}crm/deal/details/{deal}/")
                expect(
                    page.frame_locator(".card iframe:not([hidden])").locator("#qb-balance")
                ).to_be_visible()
                shots.append(take(out, world, page, "03-deal-tab"))

                for kind in ("contact", "company"):
                    page.goto(f"{base}crm/{kind}/details/{_linked(world, kind)}/")
                    card = page.frame_locator(".card iframe:not([hidden])")
                    expect(card.locator("#qb-balance")).to_be_visible()
                    shots.append(take(out, world, page, f"04-{kind}-tab"))

                page.goto(f"{base}crm/deal/list/")
                page.get_by_role("button", name="Sync to QuickBooks").first.click()
                expect(
                    page.frame_locator("#slider iframe").locator(".qb-preview, #qb-status").first
                ).to_be_visible()
                shots.append(take(out, world, page, "05-deal-list-menu"))

                page.goto(f"{base}marketplace/app/{CLIENT_ID}/")
                app = page.frame_locator("iframe")
                for n, (tab, ready) in enumerate(
                    [("Setup", "ol"), ("Health", "dl"), ("Settings", "form"), ("First sync", ".qb-progress"),
                     ("Sync log", "table")],
                ):  # fmt: skip
                    app.get_by_role("tab", name=tab).click()
                    expect(app.locator(f"#qb-panel {ready}").first).to_be_visible()
                    shots.append(take(out, world, page, f"06-app-{n + 1}-{tab.lower().replace(' ', '-')}"))

                page.goto(f"{base}marketplace/app/{CLIENT_ID}/?lang=ru")
                expect(page.frame_locator("iframe").get_by_role("tab", name="Настройка")).to_be_visible()
                shots.append(take(out, world, page, "07-app-russian"))

                narrow = browser.new_page(viewport={"width": 420, "height": 860})
                narrow.set_default_timeout(60_000)
                narrow.goto(f"{base}crm/company/details/{_linked(world, 'company')}/")
                expect(
                    narrow.frame_locator(".card iframe:not([hidden])").locator("#qb-balance")
                ).to_be_visible()
                shots.append(take(out, world, narrow, "08-company-tab-narrow"))
                narrow.goto(f"{base}crm/deal/details/{deal}/")
                card = narrow.frame_locator(".card iframe:not([hidden])")
                expect(card.locator("#qb-balance")).to_be_visible()
                shots.append(take(out, world, narrow, "09-deal-tab-narrow"))
                narrow.get_by_role("button", name="Sync to QuickBooks").first.click()
                expect(narrow.frame_locator("#slider iframe").locator("#qb-confirm")).to_be_visible()
                shots.append(take(out, world, narrow, "10-deal-sync-narrow"))
                narrow.goto(f"{base}marketplace/app/{CLIENT_ID}/")
                expect(narrow.frame_locator("iframe").locator("#qb-panel ol")).to_be_visible()
                shots.append(take(out, world, narrow, "11-app-setup-narrow"))
                narrow.frame_locator("iframe").get_by_role("tab", name="Sync log").click()
                expect(narrow.frame_locator("iframe").locator("#qb-panel table")).to_be_visible()
                shots.append(take(out, world, narrow, "12-app-sync-log-narrow"))
        finally:
            scheduler.stop()
    return shots


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python3 dev.py screenshots", description=__doc__.split("\n")[0])
    ap.add_argument("out", nargs="?", type=Path, default=OUT, help=f"where the PNG files go ({OUT}/)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("waitress").setLevel(logging.CRITICAL)
    print(f"Screenshots of every page into {args.out}/ …")
    shots = run(args.out)
    print(f"{len(shots)} screenshots.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
