"""The composition root builds the controller from the one settings object, and the `esl`
command reads that object once per invocation."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from esl.api.app import create_app
from esl.cli import app
from esl.cli.invocation import Invocation
from esl.composition import controller_settings
from esl.pipeline import RetryPolicy
from esl.pipeline.controller_lease import LeaseTerms
from esl.pipeline.database_outage import DatabaseRetry
from esl.settings import Settings, load_settings
from tests.support.api import Api, AppSwitch

PRICES = "sku,scope,channel,store_or_zone,price,currency\nMLK-1,national,,,3.49,PLN\n"


def test_the_controller_runs_on_the_installations_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in {
        "ESL_LOCALE": "de_DE",
        "ESL_CURRENCY": "EUR",
        "ESL_CONTROLLER_WINDOW": "7",
        "ESL_CONTROLLER_POLL_S": "0.25",
        "ESL_RETRY_ACK_TIMEOUT_S": "9",
        "ESL_RETRY_BASE_DELAY_S": "1.5",
        "ESL_RETRY_MAX_DELAY_S": "4",
        "ESL_RETRY_MAX_ATTEMPTS": "3",
        "ESL_RETRY_BUSY_DELAY_S": "2",
        "ESL_RETRY_WAITING_LIMIT_S": "600",
        "ESL_CONTROLLER_LEASE_STALE_S": "30",
        "ESL_CONTROLLER_LEASE_RENEW_S": "5",
        "ESL_DATABASE_RETRY_FIRST_S": "0.2",
        "ESL_DATABASE_RETRY_LONGEST_S": "3",
    }.items():
        monkeypatch.setenv(name, value)
    built = controller_settings(load_settings())
    assert (built.locale, built.currency) == ("de_DE", "EUR")
    assert built.window == 7
    assert built.poll_every == timedelta(seconds=0.25)
    assert built.policy == RetryPolicy(
        ack_timeout=timedelta(seconds=9),
        base_delay=timedelta(seconds=1.5),
        max_delay=timedelta(seconds=4),
        max_attempts=3,
        busy_delay=timedelta(seconds=2),
        waiting_limit=timedelta(seconds=600),
    )
    assert built.lease == LeaseTerms(
        stale_after=timedelta(seconds=30), renew_every=timedelta(seconds=5)
    )
    assert built.database_retry == DatabaseRetry(
        first=timedelta(seconds=0.2), longest=timedelta(seconds=3)
    )


def test_the_defaults_are_the_pipelines_own() -> None:
    built = controller_settings(Settings.defaults())
    assert (built.locale, built.currency) == ("pl_PL", "PLN")
    assert built.policy == RetryPolicy()
    assert built.lease == LeaseTerms()
    assert built.database_retry == DatabaseRetry()


def test_a_changed_field_replaces_only_that_field() -> None:
    built = controller_settings(Settings.defaults(), window=8)
    assert built.window == 8
    assert built.policy == controller_settings(Settings.defaults()).policy


def test_one_invocation_reads_the_settings_once(monkeypatch: pytest.MonkeyPatch) -> None:
    invocation = Invocation()
    monkeypatch.setenv("ESL_CONTROLLER_WINDOW", "5")
    first = invocation.settings("esl test")
    monkeypatch.setenv("ESL_CONTROLLER_WINDOW", "6")
    assert invocation.settings("esl test") is first
    assert first.controller_window == 5


def test_unusable_settings_stop_the_commands_that_read_them_and_only_those() -> None:
    env = {"ESL_RETRY_BASE_DELAY_S": "10", "ESL_RETRY_MAX_DELAY_S": "5"}
    runner = CliRunner()
    refused = runner.invoke(app, ["db", "current"], env=env)
    assert refused.exit_code == 2
    assert refused.stderr.strip() == (
        "esl db current: settings: ESL_RETRY_MAX_DELAY_S (5.0 s) must be at least "
        "ESL_RETRY_BASE_DELAY_S (10.0 s)"
    )
    assert runner.invoke(app, ["--version"], env=env).exit_code == 0


def test_a_waiting_limit_shorter_than_the_answer_timeout_is_refused() -> None:
    """A frame its gateway says is queued would be parked before one answer timeout was
    waited for it (docs/operations.md, ESL_RETRY_WAITING_LIMIT_S)."""
    env = {"ESL_RETRY_ACK_TIMEOUT_S": "120", "ESL_RETRY_WAITING_LIMIT_S": "60"}
    refused = CliRunner().invoke(app, ["db", "current"], env=env)
    assert refused.exit_code == 2
    assert refused.stderr.strip() == (
        "esl db current: settings: ESL_RETRY_WAITING_LIMIT_S (60.0 s) must be at least "
        "ESL_RETRY_ACK_TIMEOUT_S (120.0 s)"
    )


def test_a_locale_of_several_time_zones_needs_the_installations_zone() -> None:
    """en_US names no zone labels could date a promotion's last day in (the United States
    has several): without ESL_TIME_ZONE the controller refuses to start, in one line,
    rather than date them in UTC; with it, it starts, and a store's own zone still wins
    (docs/operations.md). A locale of a country of one zone needs none (de_AT: Vienna)."""
    runner = CliRunner()
    refused = runner.invoke(app, ["db", "current"], env={"ESL_LOCALE": "en_US"})
    assert refused.exit_code == 2
    assert refused.stderr.strip() == (
        "esl db current: settings: ESL_LOCALE en_US names no country of one time zone for "
        "labels to date a promotion's last day in: set ESL_TIME_ZONE (an IANA name such as "
        "America/New_York), the zone of every store that names none of its own (time_zone "
        "of PUT /api/v1/stores/{code})"
    )
    chicago = controller_settings(Settings(locale="en_US", time_zone="America/Chicago"))
    assert chicago.time_zone == "America/Chicago"
    assert controller_settings(Settings(locale="de_AT")).time_zone is None


def test_a_quote_without_a_locale_is_in_the_installations(
    api: Api, tmp_path: Path, http_server: tuple[AppSwitch, str]
) -> None:
    api.client.post(
        "/api/v1/imports/prices",
        files={"file": ("p.csv", PRICES, "text/csv")},
        headers=api.headers("pricing"),
    )
    switch, _ = http_server
    # An installation cannot be set to a locale the label texts do not speak (settings
    # refuse it); a quote naming one is refused, and one naming none is in the
    # installation's.
    with pytest.raises(ValidationError, match="no label texts for locale 'fi_FI'"):
        Settings(data_dir=tmp_path, currency="PLN", locale="fi_FI")
    switch.app = create_app(
        Settings(data_dir=tmp_path, currency="PLN", locale="en_GB"),
        engine=api.engine,
        clock=api.clock,
    )
    key = {"sku": "MLK-1", "store": "S01"}
    auditor = api.headers("auditor")
    named = api.client.get("/api/v1/quote", params=key | {"locale": "fi_FI"}, headers=auditor)
    assert (named.status_code, named.json()["error"]["code"]) == (422, "unsupported_locale")
    unset = api.client.get("/api/v1/quote", params=key, headers=auditor)
    assert unset.status_code == 200
    assert unset.json()["price"] == "3.49"
