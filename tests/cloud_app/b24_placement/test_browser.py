"""The pages in a real browser (Debian's headless Chromium, driven by Playwright) on the sandbox portal's
own deal, contact and app pages, with the whole product behind them: the real cloud, a paired agent, the
Web Connector simulator polling every second and the QuickBooks simulator's sample company."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, FrameLocator, Page, expect

from demo.browser import chromium
from demo.scheduler import Scheduler
from demo.world import CLIENT_ID, World
from sandbox.quickbooks import currencies
from shared.qbxml.parser import parse_response

TIMEOUT = 60_000  # ms: a click waits for the Web Connector's next runs
expect.set_options(timeout=30_000)  # a page's own polling (1.5–2 s) on a busy 2-core runner


@dataclass
class Site:
    world: World
    browser: Browser
    scheduler: Scheduler

    def url(self, path: str) -> str:
        return self.world.emu.portal_url(self.world.portal) + path

    def page(self, width: int = 1200) -> Page:
        page = self.browser.new_page(viewport={"width": width, "height": 900})
        page.set_default_timeout(TIMEOUT)
        return page

    def qb(self, body: str) -> list[dict[str, Any]]:
        doc = (
            '<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="stopOnError">'
            f"{body}</QBXMLMsgsRq></QBXML>"
        )
        return [dict(r) for res in parse_response(self.world.qb.process(doc)).results for r in res.records]

    def previewed(self, deal: int) -> tuple[Page, FrameLocator]:
        """The deal's page with "Sync to QuickBooks" clicked and its preview ready to confirm."""
        page = self.page()
        page.goto(self.url(f"crm/deal/details/{deal}/"))
        page.get_by_role("button", name="Sync to QuickBooks").first.click()
        frame = slider(page)
        expect(frame.locator("#qb-confirm")).to_be_enabled()
        return page, frame

    def deal_for(self, field: str, party_id: int, template: int = 1) -> int:
        """A new deal for the company/contact, with the product rows of a seeded deal."""
        store = self.world.portal.store
        rows = [
            {k: r[k] for k in ("PRODUCT_ID", "PRODUCT_NAME", "PRICE", "QUANTITY")}
            for r in store.rows[("D", template)]
        ]
        client = self.world.services.client(self.world.member_id)
        deal = int(client.call("crm.deal.add", {"fields": {"TITLE": "Browser test", field: party_id,
                                                            "CURRENCY_ID": "USD"}}))  # fmt: skip
        client.call("crm.deal.productrows.set", {"id": deal, "rows": [{**r, "PRICE": str(r["PRICE"]),
                                                                        "QUANTITY": str(r["QUANTITY"])}
                                                                       for r in rows]})  # fmt: skip
        return deal


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with World(tmp_path_factory.mktemp("site"), plan="professional") as world, chromium() as browser:
        site = Site(world, browser, Scheduler(world, interval=1.0).start())
        try:
            yield site
        finally:
            site.scheduler.stop()


def wait_for(predicate: Callable[[], bool], timeout: float = 30) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def slider(page: Page) -> FrameLocator:
    return page.frame_locator("#slider iframe")


def tab(page: Page) -> FrameLocator:
    return page.frame_locator(".card iframe:not([hidden])")


def test_sync_to_quickbooks_from_the_deal_toolbar_previews_confirms_and_reaches_done(site: Site) -> None:
    client = site.world.services.client(site.world.member_id)
    company = int(client.call("crm.company.add", {"fields": {"TITLE": "Browser & Sons Builders"}}))
    deal = site.deal_for("COMPANY_ID", company)
    page = site.page()
    page.goto(site.url(f"crm/deal/details/{deal}/"))
    page.get_by_role("button", name="Sync to QuickBooks").first.click()
    frame = slider(page)
    confirm = frame.locator("#qb-confirm")
    expect(confirm).to_be_enabled()
    preview = frame.locator(".qb-preview")
    expect(preview).to_contain_text("Browser & Sons Builders")
    expect(preview).to_contain_text("will be created in QuickBooks")
    expect(preview.locator("tbody tr")).to_have_count(3)
    total = preview.locator("#qb-total").inner_text()
    assert total.endswith("\xa0USD"), total  # money with its currency
    assert (
        site.qb("<CustomerQueryRq><FullName>Browser &amp; Sons Builders</FullName></CustomerQueryRq>") == []
    )
    card = tab(page)  # the deal's tab, open behind the slider: nothing in QuickBooks yet
    expect(card.locator("#qb-none")).to_be_visible()

    confirm.click()
    expect(frame.locator("#qb-status")).to_have_attribute("data-state", "done")
    outcome = frame.locator("#qb-outcome").inner_text()
    number = re.search(r"Invoice (\d+) created in QuickBooks", outcome)
    assert number, outcome

    invoices = site.qb(
        "<InvoiceQueryRq><EntityFilter><FullName>Browser &amp; Sons Builders</FullName></EntityFilter>"
        "</InvoiceQueryRq>"
    )
    assert [i["RefNumber"] for i in invoices] == [number.group(1)]
    assert f"{invoices[0]['Subtotal'] + invoices[0]['SalesTaxTotal']:,.2f}\xa0USD" == total

    frame.locator("#qb-close").click()  # the slider closes; the tab follows the sync without a reload
    expect(page.locator("#slider")).to_be_hidden()
    expect(card.locator("h2").first).to_have_text(f"Invoice {number.group(1)}")
    expect(card.locator(".qb-badge-blue")).to_have_text("open")
    expect(card.locator("#qb-balance")).to_have_text(total)
    fields = client.call("crm.deal.get", {"id": deal})
    assert fields["UF_CRM_QB_DOC"] == f"Invoice {number.group(1)}"

    for _ in range(2):  # the second time QuickBooks has nothing new to say: the tab settles all the same
        card.get_by_role("button", name="Refresh").click()  # disabled until QuickBooks has answered
        expect(card.get_by_role("button", name="Refresh")).to_be_enabled()
        expect(card.get_by_text("Asking QuickBooks")).to_have_count(0)

    # the same deal again: the preview offers to update that invoice; another one is a separate button
    page.get_by_role("button", name="Sync to QuickBooks").first.click()
    frame = slider(page)
    update = frame.locator("#qb-confirm")
    expect(update).to_have_text(f"Update Invoice {number.group(1)} in QuickBooks")
    expect(frame.locator("#qb-another")).to_have_text("Create another document instead")
    update.click()
    expect(frame.locator("#qb-status")).to_have_attribute("data-state", "done")
    expect(frame.locator("#qb-outcome")).to_contain_text(f"Invoice {number.group(1)} updated in QuickBooks")
    again = site.qb(
        "<InvoiceQueryRq><EntityFilter><FullName>Browser &amp; Sons Builders</FullName></EntityFilter>"
        "</InvoiceQueryRq>"
    )
    assert [i["RefNumber"] for i in again] == [number.group(1)]  # still one invoice


def test_the_preview_says_which_account_a_free_text_rows_new_item_posts_to(site: Site) -> None:
    client = site.world.services.client(site.world.member_id)
    company = int(client.call("crm.company.add", {"fields": {"TITLE": "Browser Free Text Co"}}))
    deal = int(client.call("crm.deal.add", {"fields": {"TITLE": "Free text", "COMPANY_ID": company,
                                                       "CURRENCY_ID": "USD"}}))  # fmt: skip
    rows = [{"PRODUCT_ID": 0, "PRODUCT_NAME": "Browser site cleanup", "PRICE": "80", "QUANTITY": "1"},
            {"PRODUCT_ID": 0, "PRODUCT_NAME": "Labor", "PRICE": "55", "QUANTITY": "2"}]  # fmt: skip
    client.call("crm.deal.productrows.set", {"id": deal, "rows": rows})
    page = site.page()
    page.goto(site.url(f"crm/deal/details/{deal}/"))
    page.get_by_role("button", name="Sync to QuickBooks").first.click()
    preview = slider(page).locator(".qb-preview")
    first, second = preview.locator("tbody tr").nth(0), preview.locator("tbody tr").nth(1)
    expect(first).to_contain_text("will be created as a non-inventory item posting to Construction Income")
    expect(second).to_contain_text("in QuickBooks")  # a free-text row QuickBooks has an item for
    expect(second).not_to_contain_text("will be created")


def test_a_contacts_tab_shows_a_payment_entered_in_quickbooks(site: Site) -> None:
    client = site.world.services.client(site.world.member_id)
    contact = int(client.call("crm.contact.add", {"fields": {"NAME": "Paula", "LAST_NAME": "Payer"}}))
    deal = site.deal_for("CONTACT_ID", contact)
    started = site.world.api("POST", f"/deals/{deal}/sync", json={})
    sync_id = started.json()["sync_id"]
    assert site.world.until(
        lambda: site.world.api("GET", f"/syncs/{sync_id}").json()["state"] == "done", timeout=60
    )
    invoice = site.qb(
        "<InvoiceQueryRq><EntityFilter><FullName>Payer, Paula</FullName></EntityFilter></InvoiceQueryRq>"
    )[0]
    site.qb(
        "<ReceivePaymentAddRq><ReceivePaymentAdd><CustomerRef><FullName>Payer, Paula</FullName></CustomerRef>"
        "<RefNumber>CHK-4411</RefNumber><TotalAmount>100.00</TotalAmount>"
        f"<AppliedToTxnAdd><TxnID>{invoice['TxnID']}</TxnID><PaymentAmount>100.00</PaymentAmount>"
        "</AppliedToTxnAdd></ReceivePaymentAdd></ReceivePaymentAddRq>"
    )
    left = invoice["Subtotal"] + invoice["SalesTaxTotal"] - Decimal("100.00")

    page = site.page()
    page.goto(site.url(f"crm/contact/details/{contact}/"))
    card = tab(page)
    expect(card.locator(".qb-linked")).to_have_text("Linked to QuickBooks customer Payer, Paula")
    expect(card.locator(".qb-payments")).to_contain_text("CHK-4411")  # read at the Web Connector's run
    expect(card.locator("#qb-balance")).to_have_text(f"{left:,.2f}\xa0USD")
    expect(card.locator("text=partially paid")).to_be_visible()


def test_the_app_page_in_russian_is_usable_with_the_keyboard(site: Site) -> None:
    page = site.page()
    page.goto(site.url(f"marketplace/app/{CLIENT_ID}/?lang=ru"))
    frame = page.frame_locator("iframe")
    setup = frame.get_by_role("tab", name="Настройка")
    expect(setup).to_have_attribute("aria-selected", "true")
    setup.focus()
    page.keyboard.press("ArrowRight")
    health = frame.get_by_role("tab", name="Состояние")
    expect(health).to_have_attribute("aria-selected", "true")
    expect(health).to_be_focused()
    expect(frame.locator("#qb-panel")).to_contain_text("В сети")  # the agent is online
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(frame.get_by_role("tab", name="Журнал")).to_be_focused()
    expect(frame.locator("#qb-panel table")).to_contain_text("Готово")  # the syncs above, in the log


def test_a_tab_fits_a_narrow_frame_and_resizes_it_to_its_content(site: Site) -> None:
    link = site.world.services.portals.db.conn.execute(
        "select b24_id from mappings where member_id = ? and kind = 'customer' and b24_type = 'company' "
        "limit 1",
        [site.world.member_id],
    ).fetchone()
    page = site.page(width=420)
    page.goto(site.url(f"crm/company/details/{link[0]}/"))
    card = tab(page)
    expect(card.locator(".qb-linked")).to_be_visible()
    frame_el = page.locator(".card iframe:not([hidden])")
    inner = next(f for f in page.frames if "/b24/company-tab" in f.url)

    def fitted() -> bool:  # BX24.fitWindow asked the portal page to make the frame as tall as the page
        wanted = inner.evaluate("document.documentElement.scrollHeight")
        given = frame_el.evaluate("el => parseInt(el.style.height || '0')")
        return bool(given >= wanted - 2 and given > 200)

    assert site.world.until(fitted, timeout=15)
    widths = inner.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1] + 1, widths  # nothing wider than the tab: no sideways scrolling


def test_an_admin_sets_the_paid_stage_per_pipeline_and_matching_rules_a_non_admin_only_reads(
    site: Site,
) -> None:
    page = site.page()
    page.goto(site.url(f"marketplace/app/{CLIENT_ID}/"))
    app = page.frame_locator("iframe")
    app.get_by_role("tab", name="Settings").click()
    app.locator("#set-stage-0").select_option("WON")
    app.get_by_label("Same name").uncheck()
    app.get_by_role("button", name="Save").click()
    expect(app.locator(".qb-ok")).to_have_text("Saved.")
    chosen = site.world.api("GET", "/settings").json()["settings"]
    assert chosen["paid_stages"] == {"0": "WON"} and chosen["matching.rules"] == ["email", "phone"]

    someone = next(u for u in site.world.portal.users.values() if not u.admin)
    page.goto(site.url(f"marketplace/app/{CLIENT_ID}/?user_id={someone.id}"))
    app = page.frame_locator("iframe")
    expect(app.get_by_role("tab", name="Health")).to_have_attribute("aria-selected", "true")
    app.get_by_role("tab", name="Settings").click()
    expect(app.locator("#set-stage-0")).to_be_disabled()
    expect(app.locator("#set-stage-0")).to_have_value("WON")
    expect(app.get_by_role("button", name="Save")).to_have_count(0)
    expect(app.locator("#qb-panel")).to_contain_text("Only a Bitrix24 administrator can change this.")


def test_the_first_sync_runs_from_the_app_page_with_its_progress(site: Site) -> None:
    page = site.page()
    page.goto(site.url(f"marketplace/app/{CLIENT_ID}/"))
    app = page.frame_locator("iframe")
    app.get_by_role("tab", name="First sync").click()
    start = app.get_by_role("button", name=re.compile("Start the first sync|Run it again"))
    start.click()
    bar = app.get_by_role("progressbar")
    expect(bar).to_have_attribute("aria-valuenow", "100", timeout=120_000)  # all three phases done
    phases = app.locator(".qb-phases")
    expect(phases).to_contain_text("Customers: done")
    expect(phases).to_contain_text("Invoices and estimates: done")
    expect(app.get_by_role("button", name=re.compile("Run it again"))).to_be_visible()


def test_the_default_sales_rep_is_chosen_from_the_reps_quickbooks_lists(site: Site) -> None:
    member = site.world.member_id
    site.world.services.portals.set_setting(member, "salesrep.list", None)  # never read yet
    site.scheduler.stop()  # the Web Connector waits: the page shows that QuickBooks is being asked
    try:
        page = site.page()
        page.goto(site.url(f"marketplace/app/{CLIENT_ID}/"))
        app = page.frame_locator("iframe")
        app.get_by_role("tab", name="Settings").click()
        expect(app.locator("#qb-salesrep-state")).to_have_text(
            re.compile("Reading the sales reps from QuickBooks")
        )
        expect(app.locator("#set-salesrep\\.default")).to_be_disabled()
    finally:
        site.scheduler = Scheduler(site.world, interval=1.0).start()
    rep = app.get_by_label("QuickBooks sales rep for users who have none")
    expect(rep).to_be_enabled()
    expect(app.locator("#qb-salesrep-state")).to_have_text("")
    expect(rep.locator("option", has_text="DM — Dan Miller")).to_have_count(1)
    rep.select_option(label="DM — Dan Miller")
    app.get_by_role("button", name="Save").click()
    expect(app.locator(".qb-ok")).to_have_text("Saved.")
    dm = next(str(r["ListID"]) for r in site.qb("<SalesRepQueryRq/>") if r["Initial"] == "DM")
    assert site.world.api("GET", "/settings").json()["settings"]["salesrep.default"] == dm


def test_health_and_the_deal_show_why_nothing_reaches_quickbooks_and_clear_it_when_fixed(site: Site) -> None:
    """QuickBooks closed, then the wrong company file open (issue 18, case 4): the deal's sync and Health say
    which, with what to do, while the Web Connector keeps running; fixing it clears both by itself."""
    qb = site.world.qb
    client = site.world.services.client(site.world.member_id)
    company = int(client.call("crm.company.add", {"fields": {"TITLE": "Closed Books Ltd"}}))
    deal = site.deal_for("COMPANY_ID", company)
    # the agent has met its company file (it pins the first one the Web Connector opens)
    assert wait_for(lambda: site.world.agent.sessions.pinned_company_file is not None)
    qb.not_running = True
    try:
        page = site.page()
        page.goto(site.url(f"crm/deal/details/{deal}/"))
        page.get_by_role("button", name="Sync to QuickBooks").first.click()
        frame = slider(page)
        why = frame.locator("#qb-why")
        expect(why).to_have_attribute("data-cause", "closed")
        expect(why).to_contain_text("QuickBooks is closed on")
        expect(why).to_contain_text("open QuickBooks there with the company file")

        app = site.page()
        app.goto(site.url(f"marketplace/app/{CLIENT_ID}/"))
        panel = app.frame_locator("iframe")
        panel.get_by_role("tab", name="Health").click()
        expect(panel.locator("#qb-why")).to_have_attribute("data-cause", "closed")

        qb.not_running = False
        qb.open_file = "C:\\Users\\Public\\Documents\\Intuit\\QuickBooks\\Company Files\\Other Company.qbw"
        expect(panel.locator("#qb-why")).to_have_attribute("data-cause", "wrong_file")
        expect(panel.locator("#qb-why")).to_contain_text("The wrong company file is open")
        expect(panel.locator("#qb-why")).to_contain_text("Rock Castle Construction.qbw")  # the expected one
        expect(why).to_have_attribute("data-cause", "wrong_file")
    finally:
        qb.not_running, qb.open_file = False, None
    # fixed: the preview arrives and the cause is gone from both pages, nobody reloaded anything
    expect(frame.locator("#qb-confirm")).to_be_enabled()
    expect(frame.locator("#qb-why")).to_have_count(0)
    expect(panel.locator("#qb-why")).to_have_count(0)
    expect(panel.locator("#qb-panel")).to_contain_text("Online")


def test_health_and_the_deal_tab_say_bitrix24_is_not_answering_and_clear_it_when_it_answers(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bitrix24 down (issue 18, case 3): while a call waits it out, Health and the deal's tab say since when
    and that we keep trying; when Bitrix24 answers again both clear by themselves — even when nothing else
    happened to call it (the pages ask it once in a while, ``Services.outage``)."""
    from cloud_app import services
    from cloud_app.b24.retry import OutageTooLong, Retry

    monkeypatch.setattr(services, "OUTAGE_PROBE_EVERY", 1.0)  # the pages' check, every 15 s in production
    client = site.world.services.client(site.world.member_id)
    company = int(client.call("crm.company.add", {"fields": {"TITLE": "Gateway Down Ltd"}}))
    deal = site.deal_for("COMPANY_ID", company)
    page = site.page()
    page.goto(site.url(f"crm/deal/details/{deal}/"))
    card = tab(page)
    expect(card.locator("#qb-none")).to_be_visible()
    app = site.page()
    app.goto(site.url(f"marketplace/app/{CLIENT_ID}/"))
    panel = app.frame_locator("iframe")
    panel.get_by_role("tab", name="Health").click()
    expect(panel.locator("#qb-panel")).to_contain_text("Online")
    settings = site.world.emu.settings
    settings.outage = "502"  # the gateway's HTML page for every REST call
    try:
        background = site.world.services.client(site.world.member_id)
        background.retry = Retry(base=0.01, cap=0.01, patience=0.5)
        with pytest.raises(OutageTooLong):  # a background call meets the outage (and would wait it out)
            background.call("crm.deal.get", {"id": deal})
        expect(panel.get_by_text("Bitrix24 is not answering since")).to_be_visible()
        expect(card.get_by_text("Bitrix24 is not answering since")).to_be_visible()
        expect(card.get_by_text("we keep trying")).to_be_visible()
    finally:
        settings.outage = ""
    expect(panel.get_by_text("Bitrix24 is not answering")).to_have_count(0)  # cleared, nobody reloaded
    expect(card.get_by_text("Bitrix24 is not answering")).to_have_count(0)
    expect(card.locator("#qb-none")).to_be_visible()


def test_cancel_and_close_inside_the_deal_tab_go_back_to_the_tab(site: Site) -> None:
    client = site.world.services.client(site.world.member_id)
    company = int(client.call("crm.company.add", {"fields": {"TITLE": "Browser In-Tab Co"}}))
    deal = site.deal_for("COMPANY_ID", company)
    page = site.page()
    page.goto(site.url(f"crm/deal/details/{deal}/"))
    card = tab(page)
    card.locator("#qb-sync").click()
    expect(card.locator("#qb-confirm")).to_be_enabled()
    card.locator("#qb-cancel").click()  # nothing sent: the tab as it was
    expect(card.locator("#qb-none")).to_be_visible()
    card.locator("#qb-sync").click()
    card.locator("#qb-confirm").click()
    expect(card.locator("#qb-status")).to_have_attribute("data-state", "done")
    card.locator("#qb-close").click()
    expect(card.locator("h2").first).to_have_text(re.compile(r"Invoice \d+"))
    expect(card.locator("#qb-balance")).to_contain_text("USD")


def _no_sideways_scroll(page: Page, url_part: str) -> None:
    inner = next(f for f in page.frames if url_part in f.url and f != page.main_frame)
    inner.wait_for_selector("#qb > *:not(p.muted)")
    widths = inner.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1] + 1, (url_part, widths)


def test_every_page_is_usable_at_a_phones_width_without_sideways_scrolling(site: Site) -> None:
    """420 px: the deal tab with its invoice (lines, payments), the slider's preview, a contact's and a
    company's statement, each part of the app page."""
    client = site.world.services.client(site.world.member_id)
    company = int(client.call("crm.company.add", {"fields": {"TITLE": "Browser Narrow Screens & Co"}}))
    contact = int(client.call("crm.contact.add", {"fields": {"NAME": "Nora", "LAST_NAME": "Narrow"}}))
    deals = [site.deal_for("COMPANY_ID", company), site.deal_for("CONTACT_ID", contact)]
    for deal in deals:
        sync_id = site.world.api("POST", f"/deals/{deal}/sync", json={}).json()["sync_id"]

        def done(s: str = sync_id) -> bool:
            return bool(site.world.api("GET", f"/syncs/{s}").json()["state"] == "done")

        assert site.world.until(done, timeout=60)
    page = site.page(width=420)
    page.goto(site.url(f"crm/deal/details/{deals[0]}/"))
    expect(tab(page).locator("#qb-balance")).to_be_visible()
    _no_sideways_scroll(page, "/b24/deal-tab")
    page.get_by_role("button", name="Sync to QuickBooks").first.click()
    expect(slider(page).locator("#qb-confirm")).to_be_visible()
    _no_sideways_scroll(page, "/b24/deal-sync")
    for kind, record in (("contact", contact), ("company", company)):
        page.goto(site.url(f"crm/{kind}/details/{record}/"))
        expect(tab(page).locator("#qb-balance")).to_be_visible()
        _no_sideways_scroll(page, f"/b24/{kind}-tab")
    page.goto(site.url(f"marketplace/app/{CLIENT_ID}/"))
    app = page.frame_locator("iframe")
    for name in ("Setup", "Health", "Settings", "First sync", "Sync log"):
        app.get_by_role("tab", name=name).click()
        expect(app.locator("#qb-panel > *:not(p)").first).to_be_visible()
        _no_sideways_scroll(page, "/app")


def test_the_sync_log_at_1280_shows_retry_and_each_date_on_one_line(site: Site) -> None:
    client = site.world.services.client(site.world.member_id)
    company = int(client.call("crm.company.add", {"fields": {"TITLE": "Browser Failing Co"}}))
    deal = site.deal_for("COMPANY_ID", company)
    started = site.world.api("POST", f"/deals/{deal}/sync", json={"preview": True}).json()["sync_id"]
    assert site.world.until(
        lambda: site.world.api("GET", f"/syncs/{started}").json()["state"] == "preview", timeout=60
    )
    reason = (  # the longest reason the app gives: it must wrap, not push Retry off the page
        "QuickBooks may have saved the document, but its answer was lost and QuickBooks could not be asked "
        "yet (Could not access QuickBooks)."
    )
    site.world.services.links.update_sync(
        site.world.member_id, started, state="failed", outcome=f"Failed: {reason}",
        detail={"reason": reason, "fix": "Retry when QuickBooks is open: the app checks QuickBooks first "
                "and never sends the document twice.", "unresolved": None},
    )  # fmt: skip
    page = site.page(width=1280)
    page.goto(site.url(f"marketplace/app/{CLIENT_ID}/"))
    app = page.frame_locator("iframe")
    app.get_by_role("tab", name="Sync log").click()
    retry = app.locator(".qb-retry").first
    expect(retry).to_be_visible()
    box = retry.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 1280, box
    dates = app.locator(".qb-when")
    assert dates.count() > 0
    for n in range(dates.count()):  # one line box each: the date and time do not wrap
        assert dates.nth(n).evaluate("el => el.getClientRects().length") == 1


def test_a_customer_over_its_credit_limit_is_flagged_on_the_deal_and_company_tabs(site: Site) -> None:
    client = site.world.services.client(site.world.member_id)
    company = int(client.call("crm.company.add", {"fields": {"TITLE": "Browser Overdrawn Co"}}))
    deal = site.deal_for("COMPANY_ID", company)
    started = site.world.api("POST", f"/deals/{deal}/sync", json={}).json()["sync_id"]
    assert site.world.until(
        lambda: site.world.api("GET", f"/syncs/{started}").json()["state"] == "done", timeout=60
    )
    customer = site.qb("<CustomerQueryRq><FullName>Browser Overdrawn Co</FullName></CustomerQueryRq>")[0]
    site.qb(  # the bookkeeper sets a credit limit below what the customer already owes
        f"<CustomerModRq><CustomerMod><ListID>{customer['ListID']}</ListID>"
        f"<EditSequence>{customer['EditSequence']}</EditSequence><CreditLimit>100.00</CreditLimit>"
        "</CustomerMod></CustomerModRq>"
    )
    page = site.page()
    page.goto(site.url(f"crm/company/details/{company}/"))
    expect(tab(page).locator("#qb-credit")).to_contain_text("Browser Overdrawn Co is over the credit limit")
    expect(tab(page).locator("#qb-credit")).to_contain_text("the limit is 100.00\xa0USD")
    page.goto(site.url(f"crm/deal/details/{deal}/"))
    expect(tab(page).locator("#qb-credit")).to_contain_text("over the credit limit")


def test_a_russian_company_tab_has_no_english_left(site: Site) -> None:
    client = site.world.services.client(site.world.member_id)
    company = int(client.call("crm.company.add", {"fields": {"TITLE": "Browser Russkiy Co"}}))
    deal = site.deal_for("COMPANY_ID", company)
    sync_id = site.world.api("POST", f"/deals/{deal}/sync", json={}).json()["sync_id"]
    assert site.world.until(
        lambda: site.world.api("GET", f"/syncs/{sync_id}").json()["state"] == "done", timeout=60
    )
    page = site.page()
    page.goto(site.url(f"crm/company/details/{company}/?lang=ru"))
    card = tab(page)
    expect(card.locator(".qb-aging")).to_contain_text("Более 90")  # the aging buckets, "OVER 90" too
    expect(card.locator("#qb-balance")).to_contain_text("USD")
    text = card.locator("#qb").inner_text()
    left = re.sub(r"QuickBooks|USD|Browser Russkiy Co", "", text)
    assert re.findall(r"[A-Za-z]{3,}", left) == [], left


def test_setup_offers_the_agents_download_and_a_link_to_its_page_with_the_code(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = tmp_path / "qb_bitrix24-0.1.0-py3-none-any.whl"
    built.write_bytes(b"PK\x05\x06" + b"\0" * 18)  # what tools/build_agent.py leaves in dist/
    monkeypatch.setenv("QBB24_DOWNLOADS", str(tmp_path))
    page = site.page()
    page.goto(site.url(f"marketplace/app/{CLIENT_ID}/"))
    app = page.frame_locator("iframe")
    download = app.locator("a.qb-download")
    expect(download).to_have_text(built.name)
    got = requests.get(site.world.url + f"/download/{built.name}", timeout=10)
    assert got.status_code == 200 and got.content == built.read_bytes()
    assert requests.get(site.world.url + "/download/..%2Fcloud.db", timeout=10).status_code == 404
    app.get_by_role("button", name="Get a pairing code").click()
    code = app.locator("#qb-pairing-code").inner_text()
    expect(app.locator("#qb-code")).to_contain_text("Valid for 15 minutes, once.")  # was dropped by add()
    link = app.locator("#qb-agent-link").get_attribute("href") or ""
    assert link.startswith("http://localhost:8765/?code=" + code + "&server=http%3A%2F%2F127.0.0.1"), link
    assert link.endswith("&lang=en"), link  # the agent's page then speaks the app page's language


def test_a_voided_invoice_shows_voided_on_the_deal_tab_and_an_admin_chooses_what_a_deleted_deal_does(
    site: Site,
) -> None:
    client = site.world.services.client(site.world.member_id)
    company = int(client.call("crm.company.add", {"fields": {"TITLE": "Voided In Browser LLC"}}))
    deal = site.deal_for("COMPANY_ID", company)
    sync_id = site.world.api("POST", f"/deals/{deal}/sync", json={}).json()["sync_id"]
    assert site.world.until(lambda: site.world.api("GET", f"/syncs/{sync_id}").json()["state"] == "done", 90)
    txn = site.world.api("GET", f"/deals/{deal}/quickbooks").json()["document"]["txn_id"]
    site.qb(f"<TxnVoidRq><TxnVoidType>Invoice</TxnVoidType><TxnID>{txn}</TxnID></TxnVoidRq>")

    page = site.page()
    page.goto(site.url(f"crm/deal/details/{deal}/"))
    card = tab(page)
    card.get_by_role("button", name="Refresh").click()  # QuickBooks is asked; the tab shows its answer
    expect(card.locator(".qb-badge-grey").first).to_have_text("voided")
    expect(card.locator("#qb-gone")).to_contain_text("QuickBooks voided this document")
    expect(card.locator("#qb-balance")).to_have_text(re.compile(r"^0\.00\sUSD$"))  # with its currency

    page.goto(site.url(f"marketplace/app/{CLIENT_ID}/?lang=ru"))
    app = page.frame_locator("iframe")
    app.get_by_role("tab", name="Параметры").click()
    expect(app.locator("#set-deal_deleted")).to_have_value("nothing")
    expect(app.locator("#qb-panel")).to_contain_text("Когда сделку удаляют в Битрикс24")
    app.locator("#set-deal_deleted").select_option("void")
    app.get_by_role("button", name="Сохранить").click()
    expect(app.locator(".qb-ok")).to_be_visible()
    assert site.world.api("GET", "/settings").json()["settings"]["deal_deleted"] == "void"
    site.world.api("POST", "/settings", json={"deal_deleted": "nothing"})  # the module's other tests


def test_a_credit_memo_is_chosen_in_the_preview_and_shows_on_the_companys_tab_in_its_balance(
    site: Site,
) -> None:
    client = site.world.services.client(site.world.member_id)
    company = int(client.call("crm.company.add", {"fields": {"TITLE": "Credit In Browser Ltd"}}))
    deal = site.deal_for("COMPANY_ID", company)
    assert site.world.api("POST", "/settings", json={"class.pipelines": {"0": "Remodel"}}).status_code == 200
    page, frame = site.previewed(deal)
    expect(frame.locator("#qb-class")).to_have_text("Remodel")  # the preview says which class is set
    note = frame.locator("#qb-credit-note")
    expect(note).to_be_hidden()  # an invoice is the default; a credit memo only when chosen
    frame.locator("#qb-kind").select_option("CreditMemo")
    expect(note).to_be_visible()
    expect(note).to_contain_text("A credit memo is not a bill")
    shown = frame.locator(".qb-preview dd strong").inner_text()
    assert shown.endswith("\xa0USD"), shown  # money with its currency
    total = shown.removesuffix("\xa0USD")
    frame.locator("#qb-confirm").click()
    expect(frame.locator("#qb-status")).to_have_attribute("data-state", "done")
    expect(frame.locator("#qb-outcome")).to_contain_text("Credit memo")
    memos = site.qb(
        "<CreditMemoQueryRq><EntityFilter><FullName>Credit In Browser Ltd</FullName></EntityFilter>"
        "</CreditMemoQueryRq>"
    )
    assert [f"{m['CreditRemaining']:,.2f}" for m in memos] == [total]
    assert memos[0]["ClassRef"].full_name == "Remodel"
    site.world.api("POST", "/settings", json={"class.pipelines": {}})  # the module's other tests

    page.goto(site.url(f"crm/company/details/{company}/"))
    card = tab(page)
    expect(card.locator(".qb-credits")).to_contain_text(memos[0]["RefNumber"])
    expect(card.locator("#qb-balance")).to_have_text(f"-{shown}")  # QuickBooks owes them the credit
    expect(card.locator("#qb-listed")).to_have_text(f"-{shown}")  # and the documents listed say the same
    expect(card.locator("#qb-not-listed")).to_have_count(0)


def test_the_preview_lists_the_new_customers_custom_fields_and_they_reach_quickbooks(site: Site) -> None:
    client = site.world.services.client(site.world.member_id)
    client.call(
        "crm.company.userfield.add", {"fields": {"FIELD_NAME": "BROWSER_REGION", "USER_TYPE_ID": "string"}}
    )
    changed = site.world.api("POST", "/settings", json={"custom.fields": {"UF_CRM_BROWSER_REGION": "Region"}})
    assert changed.status_code == 200, changed.text
    record = {"TITLE": "Custom Browser Co", "UF_CRM_BROWSER_REGION": "Bay Area"}
    company = int(client.call("crm.company.add", {"fields": record}))
    deal = site.deal_for("COMPANY_ID", company)
    page, frame = site.previewed(deal)
    fields = frame.locator("#qb-custom-fields li")
    expect(fields).to_have_count(1)
    expect(fields.first).to_contain_text("Region: Bay Area")
    expect(fields.first).to_contain_text("new custom field in QuickBooks")  # QuickBooks has none yet
    frame.locator("#qb-confirm").click()
    expect(frame.locator("#qb-status")).to_have_attribute("data-state", "done")
    [customer] = site.qb(
        "<CustomerQueryRq><FullName>Custom Browser Co</FullName><OwnerID>0</OwnerID></CustomerQueryRq>"
    )
    exts = customer["DataExtRet"] if isinstance(customer["DataExtRet"], list) else [customer["DataExtRet"]]
    assert [(e["DataExtName"], e["DataExtValue"]) for e in exts] == [("Region", "Bay Area")]
    site.world.api("POST", "/settings", json={"custom.fields": {}})  # the module's other tests


def test_the_preview_says_each_lines_inventory_site_and_unit(site: Site) -> None:
    qb = site.world.qb
    uom = (
        "<UnitOfMeasureSetAddRq><UnitOfMeasureSetAdd><Name>Count</Name><UnitOfMeasureType>Count"
        "</UnitOfMeasureType><BaseUnit><Name>each</Name><Abbreviation>ea</Abbreviation></BaseUnit>"
        "<RelatedUnit><Name>box</Name><Abbreviation>bx</Abbreviation><ConversionRatio>10</ConversionRatio>"
        "</RelatedUnit></UnitOfMeasureSetAdd></UnitOfMeasureSetAddRq><InventorySiteAddRq><InventorySiteAdd>"
        "<Name>Main Warehouse</Name></InventorySiteAdd></InventorySiteAddRq>"
    )
    site.qb(uom)
    [tile] = site.qb("<ItemInventoryQueryRq><FullName>Tile</FullName></ItemInventoryQueryRq>")
    site.qb(
        f"<ItemInventoryModRq><ItemInventoryMod><ListID>{tile['ListID']}</ListID><EditSequence>"
        f"{tile['EditSequence']}</EditSequence><UnitOfMeasureSetRef><FullName>Count</FullName>"
        "</UnitOfMeasureSetRef></ItemInventoryMod></ItemInventoryModRq>"
    )
    with qb.lock:
        qb.company.multi_location = True
    chosen = {"site.pipelines": {"0": "Main Warehouse"}, "units.measures": {"778": "box"}}
    assert site.world.api("POST", "/settings", json=chosen).status_code == 200
    client = site.world.services.client(site.world.member_id)
    company = int(client.call("crm.company.add", {"fields": {"TITLE": "Tiled Rooms LLC"}}))
    deal = int(client.call("crm.deal.add", {"fields": {"TITLE": "Tiles", "COMPANY_ID": company,
                                                       "CURRENCY_ID": "USD"}}))  # fmt: skip
    client.call("crm.deal.productrows.set", {"id": deal, "rows": [
        {"PRODUCT_NAME": "Tile", "PRICE": "6.75", "QUANTITY": "4", "MEASURE_CODE": 778}]})  # fmt: skip
    page, frame = site.previewed(deal)
    expect(frame.locator(".qb-line-site")).to_have_text(" site Main Warehouse")
    expect(frame.locator(".qb-line-unit")).to_have_text(" unit box")
    frame.locator("#qb-confirm").click()
    expect(frame.locator("#qb-status")).to_have_attribute("data-state", "done")
    [invoice] = site.qb(
        "<InvoiceQueryRq><EntityFilter><FullName>Tiled Rooms LLC</FullName></EntityFilter>"
        "<IncludeLineItems>true</IncludeLineItems></InvoiceQueryRq>"
    )
    line = (
        invoice["InvoiceLineRet"][0]
        if isinstance(invoice["InvoiceLineRet"], list)
        else invoice["InvoiceLineRet"]
    )
    assert line["InventorySiteRef"].full_name == "Main Warehouse" and line["UnitOfMeasure"] == "box"
    site.world.api("POST", "/settings", json={"site.pipelines": {}, "units.measures": {}})  # the other tests


def test_a_deal_in_euros_previews_its_own_euro_customer_rate_and_ar_account(site: Site) -> None:
    """Last in the module: multicurrency, once on in a company file, stays on (Intuit)."""
    with site.world.qb.lock:  # the bookkeeper turns multicurrency on
        currencies.turn_on(site.world.qb.company, home="USD")
    client = site.world.services.client(site.world.member_id)
    company = int(client.call("crm.company.add", {"fields": {"TITLE": "Euro Browser GmbH"}}))
    deal = site.deal_for("COMPANY_ID", company)
    client.call("crm.deal.update", {"id": deal, "fields": {"CURRENCY_ID": "EUR"}})
    page, frame = site.previewed(deal)
    preview = frame.locator(".qb-preview")
    expect(preview).to_contain_text("Euro Browser GmbH (EUR)")  # a customer of its own in euros
    expect(frame.locator("#qb-currency")).to_contain_text("Euro (EUR) at QuickBooks' rate 1.08 USD per EUR")
    expect(frame.locator("#qb-currency-ar")).to_have_text(
        "A/R account in EUR: QuickBooks makes it with this document"
    )
    total = preview.locator("#qb-total").inner_text()
    assert total.endswith("\xa0EUR"), total
    frame.locator("#qb-confirm").click()
    expect(frame.locator("#qb-status")).to_have_attribute("data-state", "done")
    [invoice] = site.qb(
        "<InvoiceQueryRq><EntityFilter><FullName>Euro Browser GmbH (EUR)</FullName></EntityFilter>"
        "</InvoiceQueryRq>"
    )
    assert invoice["CurrencyRef"].full_name == "Euro"
    assert f"{invoice['Subtotal'] + invoice['SalesTaxTotal']:,.2f}\xa0EUR" == total
    card = tab(page)  # the deal's tab shows the document in the deal's currency
    frame.locator("#qb-close").click()
    expect(card.locator("h2").first).to_have_text(f"Invoice {invoice['RefNumber']}")
    expect(card.locator(".qb-card").first).to_contain_text("EUR")


def test_a_companys_tab_shows_its_euro_customers_balance_and_invoice_beside_the_dollar_one(
    site: Site,
) -> None:
    """After the euro preview test: multicurrency stays on. A USD deal and a EUR deal for one company make
    two QuickBooks customers; the company's tab shows both, each balance in its own currency."""
    with site.world.qb.lock:
        currencies.turn_on(site.world.qb.company, home="USD")
    client = site.world.services.client(site.world.member_id)
    company = int(client.call("crm.company.add", {"fields": {"TITLE": "Two Purses Browser Co"}}))

    def synced(sync_id: str) -> bool:
        return bool(site.world.api("GET", f"/syncs/{sync_id}").json()["state"] == "done")

    for currency in ("USD", "EUR"):
        deal = site.deal_for("COMPANY_ID", company)
        client.call("crm.deal.update", {"id": deal, "fields": {"CURRENCY_ID": currency}})
        sync_id = site.world.api("POST", f"/deals/{deal}/sync", json={}).json()["sync_id"]
        assert site.world.until(lambda: synced(sync_id), timeout=90)  # noqa: B023 (waited on at once)
    [dollars] = site.qb("<CustomerQueryRq><FullName>Two Purses Browser Co</FullName></CustomerQueryRq>")
    [euros] = site.qb("<CustomerQueryRq><FullName>Two Purses Browser Co (EUR)</FullName></CustomerQueryRq>")
    [invoice] = site.qb(
        "<InvoiceQueryRq><EntityFilter><FullName>Two Purses Browser Co (EUR)</FullName></EntityFilter>"
        "</InvoiceQueryRq>"
    )
    assert euros["CurrencyRef"].full_name == "Euro"

    page = site.page()
    page.goto(site.url(f"crm/company/details/{company}/"))
    card = tab(page)
    expect(card.locator(".qb-linked").first).to_have_text(
        "Linked to QuickBooks customer Two Purses Browser Co"
    )
    expect(card.locator("#qb-balance")).to_have_text(f"{dollars['Balance']:,.2f}\xa0USD")
    expect(card.locator("h2").first).to_have_text("Customer in USD")  # each part says its currency
    expect(card.locator("#qb-linked-EUR")).to_have_text(
        "Linked to QuickBooks customer Two Purses Browser Co (EUR)"
    )
    expect(card.locator("[data-currency=EUR] h2").first).to_have_text("Customer in EUR")
    expect(card.locator("#qb-balance-EUR")).to_have_text(f"{euros['Balance']:,.2f}\xa0EUR")
    expect(card.locator("#qb-invoices-EUR")).to_contain_text(invoice["RefNumber"])
    expect(card.locator("#qb-invoices-EUR")).to_contain_text(f"{invoice['BalanceRemaining']:,.2f}\xa0EUR")
    expect(card.locator("#qb-invoices")).not_to_contain_text(invoice["RefNumber"])  # not among the dollars
    expect(card.locator("#qb-currencies-note")).to_contain_text("never added to another")

    page.goto(site.url(f"crm/company/details/{company}/?lang=ru"))
    expect(tab(page).locator("[data-currency=EUR] h2").first).to_have_text("Клиент в EUR")
    expect(tab(page).locator("#qb-currencies-note")).to_contain_text("не складывается")
