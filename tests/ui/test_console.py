"""The console in a real browser against a running chain: sign-in and sign-out, what each
role may do, find-and-flash, re-binding by a scanned EAN, a CSV upload with a bad row,
the audit. Pages update without reloading while labels answer."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

from playwright.sync_api import BrowserContext, Page, expect
from sqlalchemy import func, select

from esl.db.console_models import LabelActionRow
from esl.db.models import LabelStateRow, PriceRuleRow, PublicationRow
from esl.services.labels import current_binding
from tests.ui.console_world import ConsoleWorld, sign_in

FIND_ME = "KRK-01-gw1-00002"  # bound to CHI-001, Chipsy solone
CHIPS_EAN = "5901234100182"
REBIND_ME = "KRK-01-gw1-00003"  # bound to CHL-001, re-bound to PAP-001 by its EAN
PAPER_EAN = "5901234100212"
PRICE_ME = "KRK-01-gw1-00004"  # bound to CUK-001, its price changed by a CSV file
OTHER_STORE_LABEL = "WAW-01-gw1-00001"
HEADER = "sku,scope,channel,store_or_zone,price,currency,valid_from,valid_until\n"


def _choose_csv(page: Page, name: str, rows: str) -> None:
    """Pick a price file of `rows` (under HEADER) in the publications page's file input."""
    buffer = (HEADER + rows).encode()
    page.get_by_label("File", exact=True).set_input_files(
        files=[{"name": name, "mimeType": "text/csv", "buffer": buffer}]
    )


def _publications(world: ConsoleWorld) -> int:
    with world.sessions()() as session:
        return session.scalar(select(func.count()).select_from(PublicationRow)) or 0


def _actions(world: ConsoleWorld, label_id: str) -> int:
    with world.sessions()() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(LabelActionRow)
                .where(LabelActionRow.label_id == label_id)
            )
            or 0
        )


def test_a_bad_key_is_refused_and_a_good_one_opens_the_overview(
    page: Page, world: ConsoleWorld
) -> None:
    page.goto(f"{world.url}/ui/stores/KRK-01")
    expect(page).to_have_url(f"{world.url}/ui/sign-in")  # nothing without signing in
    page.get_by_label("API key").fill("esl_not-a-key")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("unknown or revoked")
    sign_in(page, world, "admin")
    expect(page.get_by_role("heading", name="Shelves at a glance")).to_be_visible()
    table = page.get_by_role("table", name="Labels per store")
    expect(table.get_by_role("row", name="KRK-01")).to_contain_text("4")
    cookie = next(c for c in page.context.cookies() if c["name"] == "esl_console")
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Strict"


def test_signing_out_revokes_the_session(
    page: Page, world: ConsoleWorld, context: BrowserContext
) -> None:
    sign_in(page, world, "auditor")
    cookies = context.cookies()
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{world.url}/ui/sign-in")
    # The old cookie, played back, opens nothing any more.
    other = context.browser.new_context() if context.browser else None
    assert other is not None
    try:
        other.add_cookies(cookies)  # type: ignore[arg-type]
        replay = other.new_page()
        replay.goto(f"{world.url}/ui/")
        expect(replay).to_have_url(f"{world.url}/ui/sign-in")
    finally:
        other.close()


def test_a_change_without_the_csrf_token_is_refused(page: Page, world: ConsoleWorld) -> None:
    sign_in(page, world, "admin")
    before = _actions(world, FIND_ME)
    forged = page.request.post(f"{world.url}/ui/labels/{FIND_ME}/actions/flash")
    assert forged.status == 403
    assert "another site" in forged.text()
    assert _actions(world, FIND_ME) == before


def test_the_store_role_sees_and_acts_in_its_own_store_only(
    page: Page, world: ConsoleWorld
) -> None:
    sign_in(page, world, "store")
    table = page.get_by_role("table", name="Labels per store")
    expect(table.get_by_role("row", name="KRK-01")).to_be_visible()
    expect(table.get_by_role("row", name="WAW-01")).to_have_count(0)
    response = page.goto(f"{world.url}/ui/stores/WAW-01")
    assert response is not None
    assert response.status == 403
    response = page.goto(f"{world.url}/ui/labels/{OTHER_STORE_LABEL}")
    assert response is not None
    assert response.status == 403
    response = page.goto(f"{world.url}/ui/audit")
    assert response is not None
    assert response.status == 403
    page.goto(f"{world.url}/ui/publications")
    expect(page.get_by_role("heading", name="Upload a price or promotion file")).to_have_count(0)


def test_the_auditor_reads_everything_but_may_not_act_or_publish(
    page: Page, world: ConsoleWorld
) -> None:
    sign_in(page, world, "auditor")
    page.goto(f"{world.url}/ui/labels/{FIND_ME}")
    expect(page.get_by_role("heading", name=f"Label {FIND_ME}")).to_be_visible()
    expect(page.get_by_role("button", name="Flash LED")).to_have_count(0)
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    assert csrf
    before = _actions(world, FIND_ME)
    refused = page.request.post(
        f"{world.url}/ui/labels/{FIND_ME}/actions/flash", headers={"X-CSRF-Token": csrf}
    )
    assert refused.status == 403
    assert _actions(world, FIND_ME) == before
    upload = page.request.post(
        f"{world.url}/ui/publications/import",
        form={"csrf": csrf, "kind": "prices", "text": HEADER + "CUK-001,national,,,9.99,PLN,,\n"},
    )
    assert upload.status == 403
    page.goto(f"{world.url}/ui/audit")
    expect(page.get_by_role("heading", name="Audit")).to_be_visible()


def test_the_pricing_role_may_publish_but_not_act_on_labels(
    page: Page, world: ConsoleWorld
) -> None:
    sign_in(page, world, "pricing")
    page.goto(f"{world.url}/ui/labels/{FIND_ME}")
    expect(page.get_by_role("button", name="Flash LED")).to_have_count(0)
    expect(page.get_by_role("button", name="Re-bind")).to_have_count(0)
    response = page.goto(f"{world.url}/ui/audit")
    assert response is not None
    assert response.status == 403
    page.goto(f"{world.url}/ui/publications")
    expect(page.get_by_role("heading", name="Upload a price or promotion file")).to_be_visible()


def test_find_a_label_by_scanning_its_product_and_flash_it(page: Page, world: ConsoleWorld) -> None:
    sign_in(page, world, "store")
    page.goto(f"{world.url}/ui/stores/KRK-01")
    # A barcode scanner types the EAN and presses Enter.
    search = page.get_by_label("Label id, SKU, EAN or product name")
    search.fill(CHIPS_EAN)
    search.press("Enter")
    cards = page.locator(".label-card")
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text(FIND_ME)
    cards.first.get_by_role("link").click()
    expect(page.get_by_role("heading", name=f"Label {FIND_ME}")).to_be_visible()
    led = world.label("KRK-01", FIND_ME)
    clicked_ms = int(world.simulated_now().timestamp() * 1000)
    page.get_by_role("button", name="Flash LED").click()
    result = page.locator("#action-result")
    # The answer shows without a reload once the label answered over MQTT.
    expect(result).to_contain_text("answered", timeout=60_000)
    expect(result).to_contain_text("the LED is flashing")
    # The simulated label switched its LED on after the click, for the 30 s flash asked
    # (it may be off again by now: the chain's clock runs faster than the page's wait).
    assert led.led_until_ms >= clicked_ms + 30_000


def test_rebind_a_label_by_scanning_the_new_products_ean(page: Page, world: ConsoleWorld) -> None:
    sign_in(page, world, "store")
    page.goto(f"{world.url}/ui/labels/{REBIND_ME}")
    expect(page.locator("#label-product")).to_contain_text("Chleb")
    code = page.get_by_label("Re-bind to SKU or EAN")
    code.fill("4000000000000")  # not a product of ours: refused, nothing changes
    page.get_by_role("button", name="Re-bind").click()
    expect(page.get_by_role("alert")).to_contain_text("4000000000000")
    expect(page.locator("#label-product")).to_contain_text("Chleb")
    page.get_by_label("Re-bind to SKU or EAN").fill(PAPER_EAN)
    page.get_by_role("button", name="Re-bind").click()
    expect(page.locator("#label-product")).to_contain_text("PAP-001")
    with world.sessions()() as session:
        binding = current_binding(session, REBIND_ME)
        assert binding is not None
        assert binding.sku == "PAP-001"
        assert binding.bound_by == "store-key"
        new_binding = binding.id

    def shelf_shows_the_new_product() -> bool:
        with world.sessions()() as session:
            state = session.get(LabelStateRow, REBIND_ME)
        shows = world.label("KRK-01", REBIND_ME).shown_hash
        return (
            state is not None
            and state.binding_id == new_binding
            and state.confirmed_hash == state.desired_hash
            and shows is not None
            and shows.hex() == state.confirmed_hash
        )

    world.wait_until(shelf_shows_the_new_product, timeout_s=90, what="the label shows PAP-001")
    # Live: the page says so without a reload.
    expect(page.locator("#label-state")).to_have_text("up to date", timeout=10_000)


def test_a_csv_with_a_bad_row_shows_the_line_and_a_good_one_reaches_the_shelf(
    page: Page, world: ConsoleWorld
) -> None:
    sign_in(page, world, "pricing")
    publications = _publications(world)
    page.goto(f"{world.url}/ui/publications")
    _choose_csv(page, "bad.csv", "CUK-001,national,,,4.29,PLN,,\nNOPE-1,national,,,1.00,PLN,,\n")
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was published")
    problems = page.get_by_role("table", name="Rows to fix")
    expect(problems.get_by_role("row", name="3")).to_contain_text("unknown sku(s): NOPE-1")
    assert _publications(world) == publications

    page.goto(f"{world.url}/ui/publications")
    _choose_csv(page, "cukier.csv", "CUK-001,national,,,4.29,PLN,,\n")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#preview-summary")).to_contain_text("1 changed")
    expect(page.locator("#preview-summary")).to_contain_text("KRK-01: 1")
    expect(page.get_by_role("img", name=f"Label {PRICE_ME} after publishing")).to_be_visible()
    assert _publications(world) == publications  # a preview writes nothing
    page.get_by_role("button", name="Publish now").click()
    expect(page.locator("#publication-state")).to_have_text("published")
    expect(page.locator("#publication-shelf")).to_contain_text(
        "every label confirmed", timeout=90_000
    )
    page.goto(f"{world.url}/ui/labels/{PRICE_ME}")
    expect(page.locator("#label-status")).to_contain_text("4,29 PLN")


def test_the_audit_with_filters_and_downloads(page: Page, world: ConsoleWorld) -> None:
    sign_in(page, world, "auditor")
    page.goto(f"{world.url}/ui/audit")
    page.get_by_label("Store").select_option("WAW-01")
    page.get_by_role("button", name="Show").click()
    labels = page.get_by_role("table", name="label(s)")
    expect(labels.get_by_role("row", name=OTHER_STORE_LABEL)).to_be_visible()
    expect(labels.get_by_role("row", name=FIND_ME)).to_have_count(0)
    # The prior-price check is on the page, per store and as a list (none in this world).
    stores = page.get_by_role("table", name="Per store")
    expect(stores.get_by_role("columnheader", name="Prior-price problems")).to_be_visible()
    expect(page.get_by_role("table", name="prior-price problem(s)")).to_contain_text(
        "Every announced reduction shows the prior price due."
    )
    csv = page.request.get(f"{world.url}/ui/audit.csv?store=WAW-01")
    assert csv.headers["content-type"].startswith("text/csv")
    assert OTHER_STORE_LABEL in csv.text()
    assert FIND_ME not in csv.text()
    report = json.loads(page.request.get(f"{world.url}/ui/audit.json").text())
    assert {label["label_id"] for label in report["labels"]} >= {FIND_ME, OTHER_STORE_LABEL}
    previews = page.request.get(f"{world.url}/ui/audit/report.html?store=KRK-01")
    assert previews.status == 200
    assert "Shelf price audit" in previews.text()
    assert "KRK-01" in previews.text()


def test_the_label_page_fits_a_phone_held_in_an_aisle(
    context: BrowserContext, world: ConsoleWorld
) -> None:
    page = context.new_page()
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, world, "store")
    page.goto(f"{world.url}/ui/labels/{FIND_ME}")
    flash = page.get_by_role("button", name="Flash LED")
    expect(flash).to_be_visible()
    box = flash.bounding_box()
    assert box is not None
    assert box["height"] >= 44  # a thumb's target
    # Nothing pushes the page sideways: wide tables scroll inside their own box.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_a_csv_published_for_an_instant_starts_then(page: Page, world: ConsoleWorld) -> None:
    sign_in(page, world, "pricing")
    page.goto(f"{world.url}/ui/publications")
    _choose_csv(page, "later.csv", "PAP-001,store,,KRK-01,9.49,PLN,,\n")
    page.get_by_label("Publish at").fill("2031-01-02T07:00")  # on a Warsaw clock
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#preview-instant")).to_contain_text(
        "2031-01-02 07:00 Europe/Warsaw (+01:00), that is 2031-01-02 06:00 UTC"
    )
    page.get_by_role("button", name="Publish for 2031-01-02 07:00 (+01:00)").click()
    expect(page.locator("#publication-state")).to_have_text("published")
    with world.sessions()() as session:
        starts = session.scalars(
            select(PriceRuleRow.valid_from).where(
                PriceRuleRow.sku == "PAP-001", PriceRuleRow.amount == Decimal("9.49")
            )
        ).all()
    assert starts == [datetime(2031, 1, 2, 6, 0, tzinfo=UTC)]
