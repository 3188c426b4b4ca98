"""docs/console.md: the pricing role uploads a price CSV, previews it, and **Publish now**
imports it for real; the preview takes files up to 8 MiB. A chain's price file (42,000
rows, 1.1 MB) previewed, but Publish now sent it back as a form field, which Starlette's
form parser cuts at 1 MiB: the API's JSON error, nothing published. The preview now keeps
the file on the server and the form names it by id and SHA-256 digest."""

from __future__ import annotations

import html
import re
import threading

import httpx
from sqlalchemy import func, select

from esl.db.engine import session_factory
from esl.db.models import PriceRuleRow, PublicationRow
from tests.support.api import Api
from tests.support.price_writes import price_writes_held

SKUS = 14_000
STORES = ("S01", "S02", "S03")
PUBLISH = "/ui/publications/import"


def _console(api: Api) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=str(api.client.base_url), timeout=600)
    assert client.post("/ui/sign-in", data={"api_key": api.keys["pricing"]}).status_code == 303
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/ui/publications").text)
    assert csrf is not None
    return client, csrf[1]


def _publish_form(preview: str) -> dict[str, str]:
    form = re.search(rf'<form[^>]*action="{PUBLISH}"[^>]*>(.*?)</form>', preview, re.S)
    assert form is not None, preview[-2000:]
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form[1])
    fields += re.findall(r'<textarea name="([^"]+)"[^>]*>(.*?)</textarea>', form[1], re.S)
    return {name: html.unescape(value) for name, value in fields}


def _preview(client: httpx.Client, csrf: str, prices: str) -> dict[str, str]:
    answer = client.post(
        "/ui/publications/preview",
        data={"kind": "prices", "csrf": csrf},
        files={"file": ("prices.csv", prices, "text/csv")},
    )
    assert answer.status_code == 200, answer.text[-2000:]
    return _publish_form(answer.text)


def _count(api: Api, column: object) -> int:
    with session_factory(api.engine)() as session:
        return int(session.scalar(select(func.count(column))) or 0)


def test_a_chains_price_file_previewed_is_published(api: Api) -> None:
    products = (
        "sku,name,brand,gtin,category,vat_rate,net_content,net_unit,perishable,"
        "on_sale_since,web_url\n"
    ) + "".join(
        f"P-{n:05d},Produkt {n},Marka,,dairy,5,1,l,no,2025-01-01T00:00:00Z,\n" for n in range(SKUS)
    )
    assert api.import_csv("products", products, role="admin").status_code == 200
    prices = "sku,scope,store_or_zone,price,currency\n" + "".join(
        f"P-{n:05d},store,{store},3.49,PLN\n" for n in range(SKUS) for store in STORES
    )
    assert 1024 * 1024 < len(prices.encode()) < 8 * 1024 * 1024
    client, csrf = _console(api)
    try:
        form = _preview(client, csrf, prices)
        published = client.post(PUBLISH, data=form)
    finally:
        client.close()
    assert published.status_code == 303, (published.status_code, published.text[:500])
    assert re.fullmatch(r"/ui/publications/\d+", published.headers["location"])
    rules = select(func.count()).where(PriceRuleRow.sku.like("P-%"))
    with session_factory(api.engine)() as session:
        assert session.scalar(rules) == SKUS * len(STORES)


def test_a_publish_naming_no_kept_preview_asks_for_the_file_again(api: Api) -> None:
    prices = "sku,scope,price,currency\nMLK-1,national,3.49,PLN\n"
    client, csrf = _console(api)
    try:
        form = _preview(client, csrf, prices)
        before = _count(api, PublicationRow.id)
        forged = client.post(PUBLISH, data={**form, "digest": "0" * 64})
        too_long = client.post(PUBLISH, data={**form, "digest": "0" * 65})
        assert client.post(PUBLISH, data=form).status_code == 303
        again = client.post(PUBLISH, data=form)  # published: no longer kept
    finally:
        client.close()
    for answer in (forged, again):
        assert answer.status_code == 422
        assert answer.headers["content-type"].startswith("text/html")
        assert "upload it again" in answer.text
    assert too_long.status_code == 422
    assert too_long.headers["content-type"].startswith("text/html")
    assert "the form could not be read" in too_long.text
    assert _count(api, PublicationRow.id) == before + 1


def test_two_clicks_on_publish_now_publish_the_file_once(api: Api) -> None:
    # Both requests read the kept file before either imports it (the test holds the price
    # writers' lock until both wait for it): the second must not import it again.
    prices = "sku,scope,price,currency\nMLK-1,national,3.59,PLN\n"
    client, csrf = _console(api)
    answers: list[httpx.Response] = []
    try:
        form = _preview(client, csrf, prices)
        before = _count(api, PublicationRow.id)
        clicks = [
            threading.Thread(target=lambda: answers.append(client.post(PUBLISH, data=form)))
            for _ in range(2)
        ]
        with price_writes_held(api.engine) as asked:
            for click in clicks:
                click.start()
            assert asked.wait(timeout=60, count=2), "both clicks did not reach the import"
        for click in clicks:
            click.join(timeout=120)
    finally:
        client.close()
    assert sorted(answer.status_code for answer in answers) == [303, 422]
    (refused,) = (answer for answer in answers if answer.status_code == 422)
    assert "already published" in refused.text
    assert _count(api, PublicationRow.id) == before + 1
