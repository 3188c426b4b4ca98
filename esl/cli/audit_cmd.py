"""`esl audit --store S001 --format json|csv|html -o FILE [--at ISO] [--fail-after 30m]`.

Exit code 0: no label has been wrong for longer than `--fail-after`; 1: some have (listed
on stderr), so a scheduler can alert; 2: bad arguments. Wrong: another price than the due
one, a prior price other than the ledger's (on an image shown that long, and that long
since the record made another one due), or a price of a product no longer sold (since its
store price was withdrawn); docs/audit.md, Outputs.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from esl.cli.failures import exiting_with
from esl.cli.invocation import settings_of

if TYPE_CHECKING:
    from pricing import PriorPriceBasis

__all__ = ["register"]

# An unknown store or a duration that is none: 1 means labels wrong for too long.
BAD_ARGUMENTS = 2


class ReportFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
    HTML = "html"


def _now() -> datetime:
    """The wall clock: an audit's `now` (an `--at` later than it is refused). A module
    function, so a test of a world dated ahead of the wall clock can move it."""
    return datetime.now(UTC)


def _instant(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as error:
        raise typer.BadParameter(f"not an ISO 8601 instant: {text!r}") from error
    if value.tzinfo is None:
        raise typer.BadParameter(f"{text!r} needs a time zone (e.g. Z or +01:00)")
    from pricing.errors import InstantOutOfRangeError
    from pricing.windows import in_utc

    try:
        return in_utc(value, field="--at")
    except InstantOutOfRangeError as error:
        # Year 0 or 10000 once in UTC: refused as the API refuses it, not an
        # OverflowError ending in exit 1, which a scheduler reads as labels wrong.
        raise typer.BadParameter(f"{text!r} is outside years 1-9999 once in UTC") from error


def _prior_text(amount: Decimal | None, basis: PriorPriceBasis | None) -> str:
    """A prior price as the overdue line names it: "59.99 (lowest_30_days)", or "none"."""
    if amount is None:
        return "none"
    return str(amount) if basis is None else f"{amount} ({basis.value})"


def register(app: typer.Typer) -> None:
    @app.command("audit")
    def audit(
        ctx: typer.Context,
        stores: Annotated[
            list[str] | None,
            typer.Option("--store", help="Store code; repeat for several (default: all)."),
        ] = None,
        report_format: Annotated[
            ReportFormat, typer.Option("--format", help="json, csv or html.")
        ] = ReportFormat.JSON,
        output: Annotated[
            Path | None, typer.Option("-o", "--output", help="File to write (default: stdout).")
        ] = None,
        at_text: Annotated[
            str | None,
            typer.Option(
                "--at",
                help="Audit a past instant (ISO 8601 with a zone, within years 1-9999 in UTC; "
                "not later than now).",
            ),
        ] = None,
        fail_after: Annotated[
            str | None,
            typer.Option(
                "--fail-after",
                help="Exit 1 if a label is wrong for longer (30m): a price other than the due "
                "one, a wrong prior price shown that long since another one became due, or a "
                "price of a product no longer sold since its price was withdrawn.",
            ),
        ] = None,
        offline_after: Annotated[
            str | None,
            typer.Option(
                "--offline-after",
                help="Silence that makes a label offline (default: ESL_LABEL_OFFLINE_AFTER_S).",
            ),
        ] = None,
        low_battery_mv: Annotated[
            int | None,
            typer.Option(
                "--low-battery-mv",
                help="Battery under which it is low (default: ESL_LABEL_LOW_BATTERY_MV).",
            ),
        ] = None,
    ) -> None:
        """Compare every shelf label with the store price due and the web price."""
        # Imported here: `esl` starts every command, and the audit's modules (Pillow's
        # fonts, SQLAlchemy) would cost each of them.
        from esl.audit.classify import Thresholds
        from esl.audit.durations import parse_duration
        from esl.audit.formats import report_to_csv, report_to_dict
        from esl.audit.gather import gather_configured_audit
        from esl.audit.html_report import render_html_report
        from esl.audit.overdue import prices_withdrawn, prior_prices_wrong_since
        from esl.db.engine import session_factory
        from esl.db.readiness import open_ready_engine

        settings = settings_of(ctx)
        configured = Thresholds.from_settings(settings)
        with exiting_with(ctx, BAD_ARGUMENTS):
            threshold = parse_duration(fail_after) if fail_after is not None else None
            silence = (
                parse_duration(offline_after)
                if offline_after is not None
                else configured.offline_after
            )
        thresholds = Thresholds(
            offline_after=silence,
            low_battery_mv=low_battery_mv
            if low_battery_mv is not None
            else configured.low_battery_mv,
        )
        now = _now()
        at = _instant(at_text) or now
        engine = open_ready_engine(settings.resolved_database_url())
        # What `--fail-after` ages beyond the report: read with it, from the same record.
        prior_wrong_since: dict[str, datetime] = {}
        withdrawn: dict[str, datetime] = {}
        try:
            with exiting_with(ctx, BAD_ARGUMENTS), session_factory(engine)() as session:
                gathered = gather_configured_audit(
                    session, settings, at=at, now=now, stores=stores or None, thresholds=thresholds
                )
                if threshold is not None:
                    prior_wrong_since = prior_prices_wrong_since(
                        session, gathered.report, gathered.catalogue
                    )
                    withdrawn = prices_withdrawn(session, gathered.report)
        finally:
            engine.dispose()
        report = gathered.report
        if report_format is ReportFormat.JSON:
            text = json.dumps(report_to_dict(report), indent=2, ensure_ascii=False) + "\n"
        elif report_format is ReportFormat.CSV:
            text = report_to_csv(report)
        else:
            text = render_html_report(gathered, locale=settings.locale)
        if output is None:
            typer.echo(text, nl=False)
        else:
            output.write_text(text, encoding="utf-8")
            mismatches = sum(s.mismatches for s in report.stores)
            typer.echo(
                f"{output}: {len(report.labels)} labels in {len(report.stores)} store(s), "
                f"{mismatches} mismatch(es), {len(report.prior_price_problems)} prior-price "
                "problem(s)",
                err=True,
            )
        if threshold is not None:
            overdue = report.overdue(threshold, withdrawn)
            unlawful = report.overdue_prior_prices(threshold, prior_wrong_since)
            for verdict in overdue[:20]:
                typer.echo(
                    f"overdue: {verdict.store} {verdict.label_id} {verdict.audit_class} "
                    f"{verdict.reason}",
                    err=True,
                )
            for problem in unlawful[:20]:
                typer.echo(
                    f"overdue: {problem.store} {problem.label_id} prior_price_problem prior price "
                    f"{_prior_text(problem.shown_prior, problem.shown_basis)} shown, "
                    f"{_prior_text(problem.expected_prior, problem.expected_basis)} due",
                    err=True,
                )
            wrong = {v.label_id for v in overdue} | {p.label_id for p in unlawful}
            if wrong:
                typer.echo(f"{len(wrong)} label(s) wrong for longer than {fail_after}", err=True)
                raise typer.Exit(1)
