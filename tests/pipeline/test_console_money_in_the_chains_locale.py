"""Console hunt (console helper): the console prints money with a decimal comma whatever
the installation's locale (`ESL_LOCALE`, "the label texts' language and number format").
In an en_GB chain selling in pounds the label shows £3.49 while the label page says
"3,49 GBP"; in a KWD chain in en_GB, 1.225 is printed "1,225", which an English reader
takes for one thousand two hundred and twenty-five."""

from __future__ import annotations

import re
from decimal import Decimal

from sqlalchemy import Engine

from esl.api.app import create_app
from esl.db.engine import session_factory
from esl.services.keys import Role
from esl.services.publication import create_publication, publish_publication, validate_publication
from esl.services.publication_commands import SetPrice
from esl.settings import Settings
from rendering.locale_texts import format_money
from tests.pipeline.console_client import signed_in
from tests.pipeline.small_world import T0, World
from tests.support.api import AppSwitch

SETTINGS = Settings(locale="en_GB", currency="GBP")


async def _label_page_price(
    engine: Engine, http_server: tuple[AppSwitch, str], settings: Settings, amount: str
) -> str:
    """The price on the label page of the one label of a chain selling in `settings`'
    currency at `amount`."""
    currency = settings.currency
    sessions = session_factory(engine)
    with sessions.begin() as session:
        pub = create_publication(
            session,
            title="price",
            effective_at=None,
            items=[SetPrice(sku="MLK-1", amount=Decimal(amount), currency=currency)],
            created_by="test",
            now=T0,
        ).id
    with sessions.begin() as session:
        assert not validate_publication(session, pub, now=T0, currency=currency).problems
    with sessions.begin() as session:
        publish_publication(session, pub, published_by="test", now=T0, currency=currency)
    world = World(engine, count=1, settings=settings)
    await world.converge()
    (label_id,) = world.labels

    switch, url = http_server
    switch.app = create_app(settings, engine=engine, clock=world.clock)
    try:
        with signed_in(world, url, Role.PRICING) as console:
            page = console.get(f"/ui/labels/{label_id}").text
    finally:
        switch.app = None
    price = re.search(r"<dt>Price</dt><dd>(.*?)</dd>", page, re.S)
    assert price is not None, page[-2000:]
    return price.group(1)


async def test_label_page_prints_the_price_as_the_label_does(
    engine: Engine, http_server: tuple[AppSwitch, str]
) -> None:
    on_the_label = format_money(Decimal("3.49"), "GBP", "en_GB")  # "£3.49"
    price = await _label_page_price(engine, http_server, SETTINGS, "3.49")
    assert "3.49" in price, (
        f"the label shows {on_the_label!r}; the console's label page says {price!r}"
    )


async def test_a_dinar_price_in_an_english_chain_keeps_its_decimal_point(
    engine: Engine, http_server: tuple[AppSwitch, str]
) -> None:
    """1.225 KWD in en_GB: "1.225" as the label prints it, never "1,225"."""
    settings = Settings(locale="en_GB", currency="KWD")
    price = await _label_page_price(engine, http_server, settings, "1.225")
    assert price.startswith("1.225 KWD"), price
