"""The pages in a real browser (Debian's headless Chromium, driven by Playwright) on the sandbox portal's
own deal, contact and app pages, with the whole product behind them: the real cloud, a paired agent, the
Web Connector simulator polling every second and the QuickBooks simulator's sample company."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import Browser, FrameLocator, Page, expect

from demo.browser import chromium
from demo.scheduler import Scheduler
from demo.world import CLIENT_ID, World
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
    total = preview.locator("dd strong").inner_text()
    assert (
        site.qb("<CustomerQueryRq><FullName>Browser &amp; Sons Builders</FullName></CustomerQueryRq>") == []
    )

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
    assert f"{invoices[0]['Subtotal'] + invoices[0]['SalesTaxTotal']:,.2f}" == total

    page.reload()  # the deal's QuickBooks tab now shows the invoice as QuickBooks has it
    card = tab(page)
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
    expect(card.locator("#qb-balance")).to_have_text(f"{left:,.2f}")
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
    expect(card.locator("#qb-balance")).to_have_text("0.00")

    page.goto(site.url(f"marketplace/app/{CLIENT_ID}/?lang=ru"))
    app = page.frame_locator("iframe")
    app.get_by_role("tab", name="Параметры").click()
    expect(app.locator("#set-deal_deleted")).to_have_value("nothing")
    expect(app.locator("#qb-panel")).to_contain_text("Когда сделку удаляют в Bitrix24")
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
    page = site.page()
    page.goto(site.url(f"crm/deal/details/{deal}/"))
    page.get_by_role("button", name="Sync to QuickBooks").first.click()
    frame = slider(page)
    expect(frame.locator("#qb-confirm")).to_be_enabled()
    expect(frame.locator("#qb-class")).to_have_text("Remodel")  # the preview says which class is set
    note = frame.locator("#qb-credit-note")
    expect(note).to_be_hidden()  # an invoice is the default; a credit memo only when chosen
    frame.locator("#qb-kind").select_option("CreditMemo")
    expect(note).to_be_visible()
    expect(note).to_contain_text("A credit memo is not a bill")
    total = frame.locator(".qb-preview dd strong").inner_text()
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
    expect(card.locator("#qb-balance")).to_have_text(f"-{total}")  # QuickBooks owes them the credit
    expect(card.locator("#qb-listed")).to_have_text(f"-{total}")  # and the documents listed say the same
    expect(card.locator("#qb-not-listed")).to_have_count(0)
