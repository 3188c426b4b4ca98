"""`esl audit`: JSON, CSV and a self-contained HTML report; the exit code for schedulers."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from esl.cli import app
from tests.audit.scenario import AUDIT_AT, EXPECTED_CLASSES, build_chain, wrong_prior_price
from tests.audit.world import T0, AuditWorld
from tests.support.database import database_url


@pytest.fixture
def cli(engine: Engine, world: AuditWorld, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    build_chain(world)
    monkeypatch.setenv("ESL_DATABASE_URL", database_url(engine))
    return CliRunner()


def run(cli: CliRunner, *args: str) -> tuple[int, str, str]:
    result = cli.invoke(app, ["audit", "--at", AUDIT_AT.isoformat(), *args])
    return result.exit_code, result.stdout, result.stderr


def test_json_lists_every_label_with_its_class(cli: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "audit.json"
    code, _, stderr = run(cli, "--format", "json", "-o", str(out))
    assert code == 0, stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    assert {row["label_id"]: row["class"] for row in data["labels"]} == EXPECTED_CLASSES
    assert [s["store"] for s in data["stores"]] == ["S01", "S02", "S03"]
    stale = next(row for row in data["labels"] if row["label_id"] == "L-stale")
    assert (stale["attempts"], stale["age_s"], stale["due_price"]) == (3, 3600.0, "9.49")


def test_one_store_as_csv(cli: CliRunner) -> None:
    code, stdout, stderr = run(cli, "--store", "S02", "--format", "csv")
    assert code == 0, stderr
    rows = list(csv.DictReader(io.StringIO(stdout)))
    assert {row["label_id"]: row["class"] for row in rows} == {
        "L-match": "match",
        "L-stale": "stale",
        "L-unsold": "no_longer_sold",
    }


def test_the_csv_carries_a_labelswrong_prior_price(
    engine: Engine, world: AuditWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An auditor filtering the CSV must see what the JSON lists as a prior-price problem.
    build_chain(world)
    wrong_prior_price(world)
    monkeypatch.setenv("ESL_DATABASE_URL", database_url(engine))
    code, stdout, stderr = run(CliRunner(), "--store", "S02", "--format", "csv")
    assert code == 0, stderr
    rows = {row["label_id"]: row for row in csv.DictReader(io.StringIO(stdout))}
    wrong = rows["L-wrong-prior"]
    assert (wrong["shown_price"], wrong["prior_price_shown"], wrong["prior_price_due"]) == (
        "47.99",
        "54.99",
        "59.99",
    )
    assert wrong["prior_price_basis_due"] == "lowest_30_days"
    assert rows["L-match"]["prior_price_shown"] == rows["L-match"]["prior_price_due"] == ""


def test_fail_after_makes_a_scheduler_notice_long_stale_labels(cli: CliRunner) -> None:
    code, _, stderr = run(cli, "--store", "S02", "--fail-after", "30m")
    assert code == 1
    assert "L-stale" in stderr
    code, _, stderr = run(cli, "--store", "S02", "--fail-after", "1h30m")
    assert code == 0, stderr
    # A store where every shelf is right passes whatever the threshold.
    code, _, stderr = run(cli, "--store", "S01", "--store", "S02", "--fail-after", "3h")
    assert code == 0, stderr


def test_fail_after_counts_a_wrong_prior_price_shown_for_longer(
    cli: CliRunner, world: AuditWorld
) -> None:
    # At the right price, with an unlawful prior price for two hours (L-stale in S02 is
    # wrong for one): a scheduler must hear of it, as of a wrong price.
    wrong_prior_price(world, shown_from=T0)
    code, _, stderr = run(cli, "--store", "S02", "--fail-after", "1h30m")
    assert code == 1, stderr
    assert "L-wrong-prior" in stderr
    assert "L-stale" not in stderr
    assert re.search(r"prior price 54\.99 .*59\.99", stderr), stderr
    # Dated from its first report of that image, not its latest check-in a minute ago.
    code, _, stderr = run(cli, "--store", "S02", "--fail-after", "3h")
    assert code == 0, stderr


def test_fail_after_leaves_a_wrong_prior_price_shown_for_less(
    cli: CliRunner, world: AuditWorld
) -> None:
    # The due label until ten minutes ago: not yet overdue at 30 minutes, overdue at 5.
    wrong_prior_price(world, shown_from=AUDIT_AT - timedelta(minutes=10))
    code, _, stderr = run(cli, "--store", "S02", "--fail-after", "1h30m")
    assert code == 0, stderr
    code, _, stderr = run(cli, "--store", "S02", "--fail-after", "5m")
    assert code == 1, stderr
    assert "L-wrong-prior" in stderr


def test_fail_after_counts_a_label_showing_a_price_of_a_product_no_longer_sold(
    engine: Engine, world: AuditWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    # OLD-1 sold in S02 until half an hour after T0, its label showing 19.99 since T0: a
    # price on the shelf for something the till no longer sells, for an hour and a half
    # at the audit. L-blank (OLD-1 too) never showed anything: no price on the shelf.
    sold = {"sku": "OLD-1", "store": "S02", "channel": "store"}
    world.publish([{"action": "set_price", "amount": "19.99", **sold}], now=T0 - timedelta(days=1))
    world.label("L-delisted", store="S02", sku="OLD-1")
    world.label("L-blank", store="S02", sku="OLD-1")
    world.acknowledged("L-delisted", at=T0)
    world.publish([{"action": "end_price", **sold}], now=T0 + timedelta(minutes=30))
    world.checked_in("L-delisted", at=AUDIT_AT - timedelta(minutes=1))
    monkeypatch.setenv("ESL_DATABASE_URL", database_url(engine))
    cli = CliRunner()
    code, _, stderr = run(cli, "--store", "S02", "--fail-after", "1h15m")
    assert code == 1, stderr
    assert "L-delisted no_longer_sold" in stderr
    assert "L-blank" not in stderr
    # Wrong since its price was withdrawn, not since it was bound two hours ago.
    code, _, stderr = run(cli, "--store", "S02", "--fail-after", "1h45m")
    assert code == 0, stderr


def test_bad_arguments_exit_2(cli: CliRunner) -> None:
    assert run(cli, "--fail-after", "soon")[0] == 2
    assert run(cli, "--store", "S99")[0] == 2
    result = cli.invoke(app, ["audit", "--at", "2026-03-02T11:00:00"])  # no zone
    assert result.exit_code == 2


def test_an_audit_of_next_year_is_refused_not_reported(cli: CliRunner) -> None:
    # A mistyped year would otherwise report every label heard today as `offline`.
    next_year = (datetime.now(UTC) + timedelta(days=365)).isoformat()
    result = cli.invoke(app, ["audit", "--at", next_year, "--fail-after", "30m"])
    assert result.exit_code == 2, result.output
    assert "later than now" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("instant", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_an_instant_outside_the_calendar_in_utc_is_refused_not_a_crash(
    cli: CliRunner, instant: str
) -> None:
    # Year 0 and year 10000 once in UTC: no datetime holds them. The API refuses them
    # (422); the CLI ended in an OverflowError and its traceback.
    result = cli.invoke(app, ["audit", "--at", instant, "--fail-after", "30m"])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "outside years 1-9999" in result.stderr
    assert result.stdout == ""


def test_the_html_report_is_one_self_contained_file(cli: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "audit.html"
    code, _, stderr = run(cli, "--format", "html", "-o", str(out))
    assert code == 0, stderr
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    # Nothing is fetched: no external scripts, styles or images.
    assert not re.search(r"""(src|href)=["'](https?:)?//""", html)
    assert "<style>" in html
    assert "<script>" in html
    # Every mismatch row carries two previews: what it shows and what is due.
    mismatch_table = html.split('id="mismatches"', 1)[1].split("</table>", 1)[0]
    rows = mismatch_table.split("<tr>")[2:]
    assert len(rows) == sum(1 for c in EXPECTED_CLASSES.values() if c not in _FINE)
    stale_row = next(r for r in rows if "L-stale" in r)
    previews = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', stale_row)
    assert len(previews) == 2
    assert previews[0] != previews[1]  # the old price next to the due one
    assert 'data-sort="3600"' in stale_row  # sortable by age
    for store in ("S01", "S02", "S03"):
        assert f"<td>{store}</td>" in html


_FINE = ("match", "intended_difference")


def test_thresholds_come_from_options_or_settings(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    def offline_class() -> str:
        code, stdout, stderr = run(cli, "--store", "S03", *extra)
        assert code == 0, stderr
        rows = json.loads(stdout)["labels"]
        return str(next(r["class"] for r in rows if r["label_id"] == "L-offline"))

    extra: tuple[str, ...] = ()
    assert offline_class() == "offline"  # silent for 2 h, default threshold 30 min
    extra = ("--offline-after", "3h")
    assert offline_class() == "match"
    extra = ()
    monkeypatch.setenv("ESL_LABEL_OFFLINE_AFTER_S", str(3 * 3600))
    assert offline_class() == "match"
