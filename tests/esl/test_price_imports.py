"""Price files: all rows or none, every bad row reported, re-import and export round trip."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

from esl.db.engine import session_factory
from esl.db.models import LedgerEntryRow, PriceRuleRow, PublicationRow
from esl.errors import ImportRejectedError
from esl.imports import ImportReport, export_prices, import_prices, import_promotions
from esl.imports.prices import WHOLE_TABLE_FROM, _stored_rules
from esl.services.quotes import quote
from tests.support.database import START

HEADER = "sku,scope,channel,store_or_zone,price,currency,valid_from,valid_until\n"
GOOD = (
    HEADER
    + "MLK-1,national,,,3.49,PLN,,\n"
    + "MLK-1,zone,,north,3.29,PLN,,\n"
    + "MLK-1,store,web,S03,3.19,PLN,,\n"
    + "CFE-1,national,,,59.99,PLN,,\n"
    + "CHS-1,national,,,8.49,PLN,,2026-06-01T00:00:00+02:00\n"
    + "CHS-1,national,,,8.99,PLN,2026-06-01T00:00:00+02:00,\n"
)


def _import(
    engine: Engine, text: str, *, days_later: int = 0, currency: str = "PLN", **options: bool
) -> ImportReport:
    with session_factory(engine)() as session, session.begin():
        return import_prices(
            session,
            text,
            currency=currency,
            imported_by="test",
            now=START + timedelta(days=days_later),
            **options,
        )


def _rules(engine: Engine) -> list[tuple[str, str, str | None, str | None, str | None]]:
    with session_factory(engine)() as session:
        return [
            (r.sku, str(r.amount), r.channel, r.zone, r.store)
            for r in session.scalars(select(PriceRuleRow).order_by(PriceRuleRow.id))
        ]


def _price(
    engine: Engine, sku: str, store: str, channel: str = "store", at: datetime = START
) -> str:
    with session_factory(engine)() as session:
        resolved = quote(
            session,
            sku=sku,
            store=store,
            channel=channel,
            at=at,
            now=at,
            locale="pl_PL",
            currency="PLN",
        )
    return str(resolved.price.amount)


def test_a_good_file_sets_the_prices_each_store_and_channel_resolves(seeded: Engine) -> None:
    report = _import(seeded, GOOD)
    assert (report.rows, report.inserted, report.updated) == (6, 6, 0)
    assert _price(seeded, "MLK-1", "S01") == "3.29"  # zone north
    assert _price(seeded, "MLK-1", "S03") == "3.49"  # national
    assert _price(seeded, "MLK-1", "S03", "web") == "3.19"  # store + channel
    assert _price(seeded, "CHS-1", "S03") == "8.49"
    assert _price(seeded, "CHS-1", "S03", at=START.replace(month=7)) == "8.99"


def test_the_import_records_applied_prices_in_the_ledger(seeded: Engine) -> None:
    _import(seeded, GOOD)
    with session_factory(seeded)() as session:
        entries = session.scalars(
            select(LedgerEntryRow).where(
                LedgerEntryRow.sku == "MLK-1", LedgerEntryRow.store == "S01"
            )
        ).all()
    assert {(e.channel, str(e.amount), e.effective_at) for e in entries} == {
        ("store", "3.29", START),
        ("web", "3.29", START),
        ("app", "3.29", START),
    }


def test_reimporting_the_same_file_changes_nothing(seeded: Engine) -> None:
    _import(seeded, GOOD)
    before = _rules(seeded)
    with session_factory(seeded)() as session:
        publications = session.scalar(select(func.count()).select_from(PublicationRow))
        ledger = session.scalar(select(func.count()).select_from(LedgerEntryRow))
    report = _import(seeded, GOOD, days_later=1)
    assert (report.inserted, report.updated, report.unchanged) == (0, 0, 6)
    assert report.publication_id is None
    assert _rules(seeded) == before
    with session_factory(seeded)() as session:
        assert session.scalar(select(func.count()).select_from(PublicationRow)) == publications
        assert session.scalar(select(func.count()).select_from(LedgerEntryRow)) == ledger


def test_a_changed_price_updates_its_rule_in_place(seeded: Engine) -> None:
    _import(seeded, GOOD)
    changed = GOOD.replace("CFE-1,national,,,59.99", "CFE-1,national,,,57.99")
    report = _import(seeded, changed, days_later=1)
    assert (report.inserted, report.updated, report.unchanged) == (0, 1, 5)
    assert _price(seeded, "CFE-1", "S02", at=START + timedelta(days=1)) == "57.99"


def test_export_writes_the_import_format_and_reimports_as_unchanged(seeded: Engine) -> None:
    _import(seeded, GOOD)
    with session_factory(seeded)() as session:
        exported = "".join(export_prices(session))
    assert exported.splitlines()[0] == HEADER.strip()
    assert len(exported.splitlines()) == 7
    report = _import(seeded, exported, days_later=1)
    assert (report.inserted, report.updated, report.unchanged) == (0, 0, 6)


BAD_ROWS = [
    ("NOPE-1,national,,,3.49,PLN,,", "unknown sku"),
    ("MLK-1,country,,,3.49,PLN,,", "scope 'country'"),
    ("MLK-1,store,,,3.49,PLN,,", "needs store_or_zone"),
    ("MLK-1,national,,S01,3.49,PLN,,", "names no store or zone"),
    ("MLK-1,zone,,west,3.49,PLN,,", "unknown zone"),
    ("MLK-1,store,,S99,3.49,PLN,,", "unknown store"),
    ("MLK-1,store,fax,S01,3.49,PLN,,", "channel 'fax' is not one of app, store, web"),
    ("MLK-1,national,,,cheap,PLN,,", "is not a number"),
    ("MLK-1,national,,,3_49,PLN,,", "is not a number"),  # Decimal() reads 349
    ("MLK-1,national,,,1e2,PLN,,", "is not a number"),  # Decimal() reads 100
    ("MLK-1,national,,,0,PLN,,", "not above zero"),
    ("MLK-1,national,,,-1.00,PLN,,", "not above zero"),
    ("MLK-1,national,,,3.499,PLN,,", "more decimals than PLN allows (its minor unit: 2"),
    ("MLK-1,national,,,3.49,EUR,,", "differs from this system's currency"),
    ("MLK-1,national,,,3.49,zł,,", "three-letter"),
    ("MLK-1,national,,,3.49,PLN,2026-05-01T00:00:00,", "no UTC offset"),
    ("MLK-1,national,,,3.49,PLN,yesterday,", "not an ISO 8601"),
    ("MLK-1,national,,,3.49,PLN,2026-05-02T00:00:00Z,2026-05-01T00:00:00Z", "not after"),
    ("MLK-1,national,,,3.49,PLN", "fields, expected 8"),
    (",national,,,3.49,PLN,,", "sku is empty"),
    ("MLK-1,national,,,3.49,PLN,\x00,", "NUL character"),
]


@pytest.mark.parametrize(("row", "reason"), BAD_ROWS, ids=[r for _, r in BAD_ROWS])
def test_each_kind_of_bad_row_rejects_the_file_and_changes_nothing(
    seeded: Engine, row: str, reason: str
) -> None:
    text = HEADER + "CFE-1,national,,,59.99,PLN,,\n" + row + "\n"
    with pytest.raises(ImportRejectedError) as rejected:
        _import(seeded, text)
    assert [p["line"] for p in rejected.value.problems] == [3]
    assert reason in str(rejected.value.problems[0]["reason"])
    assert _rules(seeded) == []


@pytest.mark.parametrize(
    ("currency", "price", "whole"),
    [("HUF", "1299.50", "1299"), ("HUF", "1299.5", "1299"), ("JPY", "980.01", "980")],
)
def test_a_price_finer_than_a_currency_without_decimals_is_refused_not_rounded(
    seeded: Engine, currency: str, price: str, whole: str
) -> None:
    # A forint (or yen) price is whole: 1 299,50 Ft was stored with its fillér before, and
    # the label showed another price than the till charged.
    row = f"MLK-1,national,,,{price},{currency},,\n"
    with pytest.raises(ImportRejectedError) as rejected:
        _import(seeded, HEADER + row, currency=currency)
    reason = str(rejected.value.problems[0]["reason"])
    assert f"price {price} has more decimals than {currency} allows" in reason
    assert "(its minor unit: no decimals)" in reason
    assert _rules(seeded) == []
    _import(seeded, HEADER + f"MLK-1,national,,,{whole},{currency},,\n", currency=currency)
    assert [(sku, amount) for sku, amount, *_ in _rules(seeded)] == [("MLK-1", whole)]


def test_every_bad_row_is_reported_with_its_line_number(seeded: Engine) -> None:
    text = (
        HEADER
        + "CFE-1,national,,,59.99,PLN,,\n"
        + "NOPE-1,national,,,3.49,PLN,,\n"
        + "MLK-1,national,,,3.49,PLN,,\n"
        + "MLK-1,national,,,3.59,PLN,,\n"
        + "CHS-1,national,,,abc,PLN,,\n"
    )
    with pytest.raises(ImportRejectedError) as rejected:
        _import(seeded, text)
    problems = {p["line"]: p["reason"] for p in rejected.value.problems}
    assert sorted(problems) == [3, 5, 6]
    assert "line 4" in str(problems[5])


def test_overlapping_windows_in_one_scope_are_refused_within_the_file_and_against_the_store(
    seeded: Engine,
) -> None:
    _import(seeded, HEADER + "CFE-1,national,,,59.99,PLN,,2026-06-01T00:00:00Z\n")
    overlapping = HEADER + "CFE-1,national,,,49.99,PLN,2026-05-01T00:00:00Z,\n"
    with pytest.raises(ImportRejectedError) as rejected:
        _import(seeded, overlapping, days_later=1)
    assert str(rejected.value.problems[0]["reason"]) == (
        "validity overlaps the stored CFE-1 price (national, 59.99 PLN) valid from the "
        "beginning until 2026-06-01T00:00:00Z in the same scope"
    )
    # A new rule that starts where the stored one ends is fine.
    _import(seeded, HEADER + "CFE-1,national,,,49.99,PLN,2026-06-01T00:00:00Z,\n", days_later=1)
    assert _price(seeded, "CFE-1", "S01", at=START.replace(month=7)) == "49.99"


def test_a_wrong_header_is_reported_on_line_1(seeded: Engine) -> None:
    with pytest.raises(ImportRejectedError) as rejected:
        _import(seeded, "sku,price,colour\nMLK-1,3.49,red\n")
    assert rejected.value.problems[0]["line"] == 1
    reason = str(rejected.value.problems[0]["reason"])
    assert "missing column(s): scope, currency" in reason
    assert "unknown column(s): colour" in reason


def test_a_header_ending_in_its_separator_is_said_to_name_an_empty_column(seeded: Engine) -> None:
    with pytest.raises(ImportRejectedError) as rejected:
        _import(seeded, "sku;scope;price;currency;\nMLK-1;national;3,49;PLN;\n")
    assert rejected.value.problems == [
        {
            "line": 1,
            "reason": "column(s) with an empty name: number 5 "
            "(a separator too many at the end of the header?)",
        }
    ]


def test_a_price_below_a_running_fixed_price_promotion_is_refused_by_the_engine(
    seeded: Engine,
) -> None:
    _import(seeded, GOOD)
    with session_factory(seeded)() as session, session.begin():
        import_promotions(
            session,
            "id,name,kind,skus,amount,currency\nP-CFE,Kawa taniej,fixed_price,CFE-1,49.99,PLN\n"
            "P-CHS,Ser taniej,fixed_price,CHS-1,7.99,PLN\n",
            currency="PLN",
            imported_by="test",
            # The ledger takes one entry per key and instant: the promotions' prices are
            # recorded a minute after the price file's.
            now=START + timedelta(minutes=1),
        )
    before = _rules(seeded)
    with pytest.raises(ImportRejectedError) as rejected:
        _import(
            seeded,
            HEADER
            + "CFE-1,national,,,45.00,PLN,,\n"
            + "MLK-1,national,,,3.59,PLN,,\n"
            + "CHS-1,store,,S01,7.49,PLN,,\n",
            days_later=1,
        )
    assert [p["line"] for p in rejected.value.problems] == [2, 4]
    assert all("above" in str(p["reason"]) for p in rejected.value.problems)
    assert _rules(seeded) == before


def test_the_import_can_skip_the_ledger(seeded: Engine) -> None:
    _import(seeded, GOOD, record_ledger=False)
    with session_factory(seeded)() as session:
        assert session.scalar(select(func.count()).select_from(LedgerEntryRow)) == 0
    assert _price(seeded, "MLK-1", "S01") == "3.29"


def test_a_later_import_records_the_new_price_from_its_own_instant(seeded: Engine) -> None:
    _import(seeded, GOOD)
    with session_factory(seeded)() as session, session.begin():
        import_prices(
            session,
            GOOD.replace("CFE-1,national,,,59.99", "CFE-1,national,,,54.99"),
            currency="PLN",
            imported_by="test",
            now=START + timedelta(days=1),
        )
    with session_factory(seeded)() as session:
        amounts = session.scalars(
            select(LedgerEntryRow.amount)
            .where(
                LedgerEntryRow.sku == "CFE-1",
                LedgerEntryRow.store == "S02",
                LedgerEntryRow.channel == "store",
            )
            .order_by(LedgerEntryRow.effective_at)
        ).all()
    assert [str(a) for a in amounts] == ["59.99", "54.99"]


def test_stored_rules_read_alike_by_sku_and_as_the_whole_table(seeded: Engine) -> None:
    # A small file reads its SKUs' rules by index, a catalogue-sized one the whole table;
    # both must see the same rules with the same amounts and instants.
    _import(seeded, GOOD)
    skus = {"MLK-1", "CHS-1"}
    with session_factory(seeded)() as session:
        by_sku = _stored_rules(session, skus)
        padded = skus | {f"ABSENT-{n}" for n in range(WHOLE_TABLE_FROM)}
        whole = _stored_rules(session, padded)
    assert {rule.sku for rule in by_sku.values()} == skus
    assert len(by_sku) == 5
    assert by_sku == {rule_id: rule for rule_id, rule in whole.items() if rule.sku in skus}
    assert {str(rule.amount) for rule in by_sku.values()} == {
        "3.49",
        "3.29",
        "3.19",
        "8.49",
        "8.99",
    }
    assert {rule.valid_until for rule in by_sku.values()} == {
        None,
        datetime.fromisoformat("2026-05-31T22:00:00+00:00"),
    }


def test_a_header_naming_a_column_twice_is_refused_and_changes_nothing(seeded: Engine) -> None:
    # "price" and "Price" (a pasted column): one of them would be dropped without a word.
    doubled = HEADER.strip() + ",Price\n" + "CFE-1,national,,,59.99,PLN,,,49.99\n"
    with pytest.raises(ImportRejectedError) as rejected:
        _import(seeded, doubled)
    assert rejected.value.problems == [{"line": 1, "reason": "column(s) named twice: price"}]
    assert _rules(seeded) == []
