"""Publications: the list with its reach, one publication, and for the pricing role a CSV
upload previewed (row errors by line, the labels it changes, a sample of them rendered)
before it is published."""

from __future__ import annotations

import base64
import io
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from esl.api.dependencies import ApiContext, Ctx
from esl.db.locks import lock_price_writes
from esl.db.models import PublicationRow
from esl.db.repositories.rows import row_or_not_found
from esl.errors import ImportRejectedError, InvalidItemError
from esl.imports import import_prices, import_promotions
from esl.imports.csv_text import decode_csv
from esl.imports.report import ImportReport
from esl.local_times import local_instant, shown_instant, unclear_local_time
from esl.pipeline.affected_labels import labels_changed_by_import
from esl.pipeline.images import ImageStore
from esl.pipeline.planning import CandidateKeys, LabelPlanner, contents_due, first_changes
from esl.services.keys import Principal
from esl.services.ledger_instants import WriteClock, begin_price_write
from esl.services.publication_scope import publication_seen_by
from esl.ui.access import Changing, User, require
from esl.ui.console_gate import UPLOAD_FILE_BYTES
from esl.ui.console_uploads import (
    check_prices_unchanged,
    check_shelves_unchanged,
    forget_upload,
    keep_upload,
    kept_upload,
    prices_seen,
    seen_at_preview,
    shelves_seen,
)
from esl.ui.console_values import FormText, RowId
from esl.ui.csv_instants import starting_at
from esl.ui.page_rendering import page
from esl.ui.publication_reach import publication_reach
from pricing.errors import EslError, InstantOutOfRangeError
from pricing.windows import in_utc
from rendering.cache import RenderCache
from rendering.render import preview_png

__all__ = ["router"]

router = APIRouter()
Kind = Literal["prices", "promotions"]
SAMPLE_LABELS = 3


@router.get("/publications", response_class=HTMLResponse)
def publications(request: Request, ctx: Ctx, user: User) -> HTMLResponse:
    with ctx.sessions() as session:
        reach = publication_reach(session, now=ctx.clock(), limit=50, store=user.principal.store)
    return page(request, "publications.html", user=user, reach=reach, zone=_chain_zone(ctx))


@router.get("/publications/{publication_id}", response_class=HTMLResponse)
def publication(request: Request, ctx: Ctx, user: User, publication_id: RowId) -> HTMLResponse:
    with ctx.sessions() as session:
        row = row_or_not_found(session, PublicationRow, publication_id, "publication")
        # A store key: the items and problems that reach its own store, as the API shows.
        seen = publication_seen_by(
            session, row, store=user.principal.store, with_items=True, item_limit=200
        )
        session.expunge(row)
        reach = publication_reach(
            session, now=ctx.clock(), publication_id=publication_id, store=user.principal.store
        )[0]
    return page(
        request,
        "publication.html",
        user=user,
        publication=row,
        items=seen.items,
        problems=seen.problems,
        reach=reach,
    )


@router.post("/publications/preview", response_class=HTMLResponse)
async def preview(
    request: Request,
    ctx: Ctx,
    user: Changing,
    file: UploadFile,
    kind: Annotated[Kind, Form()],
    effective_at: Annotated[FormText, Form(max_length=40)] = "",
) -> HTMLResponse:
    """Run the import in a transaction that is rolled back: what it would change, or every
    bad row by line; nothing is written. `effective_at` (from the form, a time on the
    chain's clock, `_instant`): the rows without a start of their own start then. The
    file is read here; the import and the rendered samples run in the thread pool (as the
    API's import does): a chain's file takes seconds, which would hold every other request
    on the event loop."""
    require(user.principal, "publish")
    data = await file.read(UPLOAD_FILE_BYTES + 1)
    filename = file.filename or "upload.csv"
    values = await run_in_threadpool(
        _previewed,
        data,
        kind=kind,
        filename=filename,
        effective_at=effective_at,
        who=user.principal,
        signed_in=user.session_id,
        ctx=ctx,
    )
    status = 422 if "error" in values else 200
    return page(request, "upload_preview.html", user=user, status_code=status, **values)


def _previewed(
    data: bytes,
    *,
    kind: Kind,
    filename: str,
    effective_at: str,
    who: Principal,
    signed_in: int,
    ctx: ApiContext,
) -> dict[str, Any]:
    """The preview page's values: the import's report and impact, or why it was refused."""
    zone = _chain_zone(ctx)
    values: dict[str, Any] = {"kind": kind, "filename": filename, "zone": zone}
    try:
        instant = _instant(effective_at, now=ctx.clock(), zone=zone)
        values["effective_at"] = instant
        if len(data) > UPLOAD_FILE_BYTES:
            raise ImportRejectedError(
                "file too large",
                problems=[{"line": 0, "reason": f"over {UPLOAD_FILE_BYTES} bytes"}],
            )
        text = decode_csv(data, encoding=None)
        if instant is not None:
            text = starting_at(text, instant)
        session = ctx.sessions()
        try:
            # The prices the preview is drawn with, read under the price writers' lock (the
            # import takes it again): a writer committed after this read is seen by the
            # publish, which refuses the file then.
            lock_price_writes(session)
            seen = prices_seen(session)
            # The clock is read once the price writers' lock is held.
            report = _import(session, kind, text, who, ctx, filename, now=ctx.clock)
            values["report"] = report
            planner = _planner(ctx)
            found = _candidate_keys(session, planner, report)
            values.update(_impact_preview(session, planner, found))
            shelves = shelves_seen(contents_due(found))
        finally:
            session.rollback()
            session.close()
        # The file as uploaded is kept, and the form names it: the instant is applied, and
        # checked again, when it is published.
        with ctx.sessions() as session, session.begin():
            kept = keep_upload(
                session,
                console_session_id=signed_in,
                kind=kind,
                filename=filename,
                content=data,
                seen=seen,
                shelves=shelves,
                now=ctx.clock(),
            )
            values["upload"], values["digest"] = kept.id, kept.digest
    except ImportRejectedError as error:
        values["problems"] = error.problems
        values["error"] = error.message
    except EslError as error:
        values["error"] = error.message
    return values


@router.post("/publications/import", response_model=None)
def publish_upload(
    request: Request,
    ctx: Ctx,
    user: Changing,
    upload: Annotated[FormText, Form(max_length=20)] = "",
    digest: Annotated[FormText, Form(max_length=64)] = "",
    effective_at: Annotated[FormText, Form(max_length=40)] = "",
) -> Response:
    """Publish the previewed file (kept on the server, named by id and digest) now, or for
    the previewed instant: all rows apply, or none. The instant is checked again, before
    the file is read and once the price writers' lock is held: it may have passed since
    the preview or while the click waited for another writer, and a row would then claim
    a start the shelf never had. And refused when another writer changed the prices
    since the preview (`check_prices_unchanged`, under the lock), or when what it puts on
    the shelves differs from what the preview showed (`check_shelves_unchanged`: a store
    moved, a product recategorised, history imported): the labels would show what nobody
    previewed; the file stays kept, to be previewed again."""
    require(user.principal, "publish")
    kind: Kind = "prices"
    filename = "upload.csv"
    zone = _chain_zone(ctx)
    try:
        instant = _instant(effective_at, now=ctx.clock(), zone=zone)
        # Read in a transaction of its own: the import's first statement takes the price
        # writers' lock (SQLite's write lock, which a transaction that read first may not
        # get once another writer committed).
        with ctx.sessions() as session:
            kept = kept_upload(
                session,
                console_session_id=user.session_id,
                upload=upload,
                digest=digest,
                now=ctx.clock(),
            )
            kind = "promotions" if kept.kind == "promotions" else "prices"
            filename, content, kept_id = kept.filename, kept.content, kept.id
            seen, shelves = seen_at_preview(kept), kept.shelves_seen
        text = decode_csv(content, encoding=None)
        if instant is not None:
            text = starting_at(text, instant)
        with ctx.sessions() as session, session.begin():
            written_at = _write_instant(session, instant, ctx)
            # First: a second click waited here for the first, whose prices are newer.
            forget_upload(session, kept_id)
            check_prices_unchanged(session, seen)
            report = _import(session, kind, text, user.principal, ctx, filename, now=written_at)
            # What the file does to the shelves, drawn again with everything it is applied
            # to now; a difference rolls the import back.
            found = _candidate_keys(session, _planner(ctx), report)
            check_shelves_unchanged(shelves, shelves_seen(contents_due(found)))
    except (ImportRejectedError, InvalidItemError) as error:
        problems = error.problems if isinstance(error, ImportRejectedError) else None
        return page(
            request,
            "upload_preview.html",
            user=user,
            status_code=422,
            kind=kind,
            filename=filename,
            zone=zone,
            problems=problems,
            error=error.message,
        )
    if report.publication_id is None:
        return RedirectResponse("/ui/publications?unchanged=1", status_code=303)
    return RedirectResponse(f"/ui/publications/{report.publication_id}", status_code=303)


def _chain_zone(ctx: ApiContext) -> str:
    """The zone the console's times are typed in: the chain's (`ESL_TIME_ZONE`, else the
    locale's; never unset once the settings are validated)."""
    return ctx.settings.installation_time_zone or "UTC"


def _instant(text: str, *, now: datetime, zone: str) -> datetime | None:
    """The form's `datetime-local` value, a time on a clock in `zone` (the chain's), or
    the instant a preview wrote into its form (with its offset); refused when unreadable,
    past, or naming no one instant in `zone`: no clock there shows it (the spring night's
    02:30 in Warsaw), or it comes twice (the autumn night's), which a `datetime-local`
    field, holding no offset, cannot tell apart. Picking one would move a price by an hour
    without a word, the very surprise the zone is read in to avoid; the reason names both
    instants and how to give the one meant."""
    if not text.strip():
        return None
    try:
        instant = datetime.fromisoformat(text.strip())
    except ValueError as error:
        raise InvalidItemError(f"{text!r} is not a date and time", field="effective_at") from error
    if instant.tzinfo is None:
        unclear = unclear_local_time(instant, zone)
        if unclear is not None:
            advice = (
                "choose a time the clocks show"
                if unclear.skipped
                else "this field cannot say which: choose a time the clocks show once, or "
                "give the rows a valid_from of their own with the offset meant"
            )
            raise InvalidItemError(
                f"Publish at {instant:%Y-%m-%d %H:%M}: {unclear.why}; {advice}",
                field="effective_at",
            )
        instant = local_instant(instant, zone)
    try:
        instant = in_utc(instant, field="effective_at")
    except InstantOutOfRangeError as error:
        raise InvalidItemError(error.message, field="effective_at") from None
    if instant < now:
        raise InvalidItemError(
            "the instant lies in the past: the past cannot be rewritten", field="effective_at"
        )
    return instant


def _write_instant(session: Session, instant: datetime | None, ctx: ApiContext) -> datetime:
    """The instant the publish writes at (`begin_price_write`: read once the price writers'
    lock is held, never before the newest ledger entry), refused when it lies past the
    instant the file is published for, as a publication's `effective_at` is under the lock.

    A click may wait minutes for another writer (a chain's price file): published then,
    the rows would start at the instant while the shelf and the ledger changed only at
    the write, and a quote between the two would answer a price the shelf never charged.
    The importer, given this instant, takes the lock again (its own) and finds the due
    instants recorded already."""
    written_at = begin_price_write(session, now=ctx.clock, currency=ctx.settings.currency)
    if instant is not None and instant < written_at:
        zone = _chain_zone(ctx)
        raise InvalidItemError(
            f"the instant {shown_instant(instant, zone)}, passed while the publish waited "
            f"for another price writer (this write is at {shown_instant(written_at, zone)}, "
            "after that writer's); preview the file again with a new instant",
            field="effective_at",
        )
    return written_at


def _import(
    session: Session,
    kind: Kind,
    text: str,
    who: Principal,
    ctx: ApiContext,
    title: str,
    *,
    now: WriteClock,
) -> ImportReport:
    source = io.StringIO(text, newline="")
    importer = import_prices if kind == "prices" else import_promotions
    return importer(
        session,
        source,
        currency=ctx.settings.currency,
        imported_by=who.name,
        now=now,
        title=title,
        time_zone=ctx.settings.installation_time_zone,
    )


def _planner(ctx: ApiContext) -> LabelPlanner:
    """A planner that plans nothing: it computes and draws what labels would show."""
    return LabelPlanner(
        cache=RenderCache(max_labels=SAMPLE_LABELS * 2),
        images=ImageStore(),
        locale=ctx.settings.locale,
        currency=ctx.settings.currency,
        time_zone=ctx.settings.time_zone,
    )


def _candidate_keys(
    session: Session, planner: LabelPlanner, report: ImportReport
) -> dict[str, CandidateKeys]:
    """The labels on the shelves the import and the `scheduled` publications following it
    queue (`labels_changed_by_import`), with what they show at each of their instants."""
    if report.publication_id is None:
        return {}
    return planner.candidate_keys(session, labels_changed_by_import(session, report.publication_id))


def _impact_preview(
    session: Session, planner: LabelPlanner, found: dict[str, CandidateKeys]
) -> dict[str, Any]:
    """The labels the import changes, per store, and a few of them as they will look.

    Of the candidates (`_candidate_keys`), a label counts, and is drawn, at the first of
    its instants at which the planner's content identity differs from the one planned for
    it (`first_changes`), and only if a gateway reaches it: a promotion for another
    store, a web price, a Publish at whose own instant changes nothing, are none of its
    labels' changes."""
    changed = first_changes(found)
    labels = list(changed)
    per_store: dict[str, int] = {}
    for label_id in labels:
        store = found[label_id].store
        per_store[store] = per_store.get(store, 0) + 1
    samples = [
        {"label_id": label_id, "uri": uri}
        for label_id, uri in _samples(session, planner, changed, labels[:SAMPLE_LABELS]).items()
    ]
    return {
        "labels_changed": len(labels),
        "per_store": dict(sorted(per_store.items())),
        "samples": samples,
    }


def _samples(
    session: Session, planner: LabelPlanner, changed: dict[str, datetime], labels: list[str]
) -> dict[str, str]:
    """`labels` drawn by the planner itself, each at the instant it changes: its own
    template, the store only when that prints it, the price due then; PNG data URIs in
    the order of `labels`, a label that cannot be drawn left out."""
    by_instant: dict[datetime, list[str]] = {}
    for label_id in labels:
        by_instant.setdefault(changed[label_id], []).append(label_id)
    drawn = {}
    for instant, ids in by_instant.items():
        drawn.update(planner.draw(session, ids, at=instant))
    return {
        label_id: "data:image/png;base64,"
        + base64.b64encode(preview_png(drawn[label_id].image)).decode()
        for label_id in labels
        if label_id in drawn
    }
