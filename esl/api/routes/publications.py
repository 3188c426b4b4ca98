"""Publications (draft -> validated -> published) and CSV imports: the pricing team's writes."""

from __future__ import annotations

import io
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, UploadFile
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from esl.api.dependencies import (
    Ctx,
    CurrentSession,
    PricingTeam,
    Reader,
)
from esl.api.pagination import Pages, paginate, where_given
from esl.api.schemas import Page, PublicationIn, PublicationOut
from esl.db.models import PublicationRow
from esl.db.repositories.rows import row_or_not_found
from esl.errors import AccessDeniedError, ImportRejectedError
from esl.imports.by_kind import ADMIN_ONLY_KINDS, ImportKind, import_file
from esl.imports.csv_text import CsvEncoding, decode_csv
from esl.imports.report import ImportReport
from esl.services.keys import Principal, Role
from esl.services.publication import (
    create_publication,
    publish_publication,
    require_storable_draft,
    validate_publication,
)
from esl.services.publication_scope import publication_seen_by

__all__ = ["router"]

router = APIRouter()
PublicationId = Annotated[int, Path(ge=1, le=2**62)]
MAX_UPLOAD_BYTES = 64 * 1024 * 1024


def _out(
    session: Session, row: PublicationRow, *, with_items: bool, who: Principal
) -> PublicationOut:
    """`row` as `who` is shown it: a store key, as far as it reaches its own store."""
    seen = publication_seen_by(session, row, store=who.store, with_items=with_items)
    out = PublicationOut.model_validate(row)
    out.items, out.problems, out.impact = seen.items, seen.problems, seen.impact
    return out


@router.get("/publications", response_model=Page[PublicationOut], tags=["publications"])
def list_publications(
    session: CurrentSession,
    who: Reader,
    page: Pages,
    status: Literal["draft", "validated", "published"] | None = None,
) -> dict[str, Any]:
    """Publications, newest first; filter by status. A store key is shown each one's
    problems and impact as far as they reach its own store."""
    statement = where_given(
        select(PublicationRow).order_by(PublicationRow.id.desc()), (PublicationRow.status, status)
    )
    return paginate(
        session, statement, page, lambda row: _out(session, row, with_items=False, who=who)
    )


@router.post("/publications", response_model=PublicationOut, status_code=201, tags=["publications"])
def post_publication(
    body: PublicationIn, ctx: Ctx, session: CurrentSession, who: PricingTeam
) -> PublicationOut:
    """Store a draft: a title, the effective instant (unset: when published) and its items.

    Each item's `action` decides which fields it needs (see the item schemas). An amount
    may not have more decimals than its currency (PLN: 2, JPY: none), a promotion must
    target a SKU or a category (422 `invalid_item`, field `skus`, as the promotion file
    refuses such a line), the SKUs, zones and stores an item names must be stored (a
    zone: one some store belongs to), a promotion's categories each one some product has
    and the promotion an end_promotion ends stored or added by an earlier item (422
    `invalid_item`, the item's field, naming them, as the price and promotion files
    refuse them), and the effective instant may not lie in the past (the past cannot be
    rewritten). A draft refused is not stored."""
    now = ctx.clock()
    commands = body.commands()
    require_storable_draft(
        session,
        effective_at=body.effective_at,
        items=commands,
        now=now,
        currency=ctx.settings.currency,
    )
    row = create_publication(
        session,
        title=body.title,
        effective_at=body.effective_at,
        items=commands,
        created_by=who.name,
        now=now,
    )
    return _out(session, row, with_items=True, who=who)


@router.get("/publications/{publication_id}", response_model=PublicationOut, tags=["publications"])
def get_publication(
    publication_id: PublicationId, session: CurrentSession, who: Reader
) -> PublicationOut:
    """One publication with its items, problems and impact; a store key is shown the
    items, problems, labels and changed prices of its own store (and those naming no
    store), not other stores'."""
    row = row_or_not_found(session, PublicationRow, publication_id, "publication")
    return _out(session, row, with_items=True, who=who)


@router.post(
    "/publications/{publication_id}/validate",
    response_model=PublicationOut,
    tags=["publications"],
)
def post_validate(
    publication_id: PublicationId, ctx: Ctx, session: CurrentSession, who: PricingTeam
) -> PublicationOut:
    """Check every item; the answer lists a reason per rejected item (status stays draft)."""
    row = validate_publication(
        session, publication_id, now=ctx.clock(), currency=ctx.settings.currency
    )
    return _out(session, row, with_items=False, who=who)


@router.post(
    "/publications/{publication_id}/publish",
    response_model=PublicationOut,
    tags=["publications"],
)
def post_publish(
    publication_id: PublicationId, ctx: Ctx, session: CurrentSession, who: PricingTeam
) -> PublicationOut:
    """Apply all items atomically; the impact says how many prices and which labels change."""
    row = publish_publication(
        session,
        publication_id,
        published_by=who.name,
        # The clock, read once the price writers' lock is held: not when the request began.
        now=ctx.clock,
        currency=ctx.settings.currency,
    )
    return _out(session, row, with_items=False, who=who)


async def _upload(upload: UploadFile) -> bytes:
    data = await upload.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise ImportRejectedError(
            "file too large", problems=[{"line": 0, "reason": f"over {MAX_UPLOAD_BYTES} bytes"}]
        )
    return data


@router.post("/imports/{kind}", response_model=ImportReport, tags=["imports"])
async def post_import(
    kind: ImportKind,
    file: UploadFile,
    ctx: Ctx,
    who: PricingTeam,
    encoding: Annotated[
        CsvEncoding | None,
        Query(description="The file's encoding when it is not UTF-8 (Excel pl_PL: cp1250)."),
    ] = None,
) -> dict[str, object]:
    """Upload a CSV file (multipart field `file`): all rows apply, or none and every bad row.

    UTF-8 with or without a BOM, or the `encoding` given; `,` or `;` between fields (read
    from the header row); decimal commas are accepted (docs/csv-formats.md). The store file
    is the admin's, as PUT /stores/{code} is.

    The import (decoding, the wait for the price writers' lock, every row) runs in the
    thread pool, in a transaction of its own: a file of a whole chain takes seconds, and on
    the event loop every other request (and, in the demo, the controller) would wait."""
    if kind in ADMIN_ONLY_KINDS and who.role is not Role.ADMIN:
        raise AccessDeniedError(
            f"the {who.role} role may not import {kind}",
            role=who.role.value,
            allowed=[Role.ADMIN.value],
        )
    data = await _upload(file)

    def work() -> dict[str, object]:
        text = decode_csv(data, encoding=encoding)
        with ctx.sessions() as session, session.begin():
            report = import_file(
                session,
                kind,
                io.StringIO(text, newline=""),
                currency=ctx.settings.currency,
                imported_by=who.name,
                now=ctx.clock,  # read once the price writers' lock is held
                title=file.filename,
                time_zone=ctx.settings.installation_time_zone,
            )
        return report.to_dict()

    return await run_in_threadpool(work)
