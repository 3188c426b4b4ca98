"""A one-store audit (`esl audit --store S001`, the console's audit page of a store)
reads that store's labels only: not the chain's binding history. Reading every ended
binding of the chain made each store's audit as slow as the whole chain's planogram
changes (2,000 labels of one store in 2.3 s instead of 0.23 s with three past bindings
per label over 100,000 labels: the bench's database)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, insert, select

from esl.audit.classify import AuditClass
from esl.audit.gather import gather_audit
from esl.bench import audit as bench
from esl.db.engine import create_engine_for, session_factory, upgrade_database
from esl.db.models import LabelBindingRow, LabelRow


def _values(parameters: Any) -> Iterable[Any]:
    if isinstance(parameters, dict):
        parameters = parameters.values()
    elif not isinstance(parameters, list | tuple):
        return [parameters]
    return [v for p in parameters for v in _values(p)]


def test_one_stores_audit_reads_none_of_the_other_stores_labels(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'esl.sqlite'}")
    try:
        upgrade_database(engine)
        sessions = session_factory(engine)
        with sessions.begin() as session:
            bench._seed(session, skus=600, stores=6)
            bindings = session.execute(
                select(LabelBindingRow.label_id, LabelBindingRow.sku, LabelBindingRow.bound_at)
            ).all()
            # Each label was bound to another product before (a planogram change), and
            # one label of every store is bound to nothing now, still showing its price.
            session.execute(
                insert(LabelBindingRow),
                [
                    {
                        "label_id": label_id,
                        "sku": sku,
                        "template": "standard",
                        "bound_at": bound_at - timedelta(days=90),
                        "bound_by": "test",
                        "unbound_at": bound_at,
                    }
                    for label_id, sku, bound_at in bindings
                ],
            )
            by_store: dict[str, list[str]] = {}
            for label_id, store in session.execute(select(LabelRow.id, LabelRow.store)):
                by_store.setdefault(store, []).append(label_id)
            unbound = {store: min(ids) for store, ids in by_store.items()}
            for label_id in unbound.values():
                session.query(LabelBindingRow).filter(
                    LabelBindingRow.label_id == label_id, LabelBindingRow.unbound_at.is_(None)
                ).update({"unbound_at": bench.AT - timedelta(hours=1)})
        one = sorted(by_store)[0]
        others = {label_id for store, ids in by_store.items() if store != one for label_id in ids}
        asked: list[Any] = []

        def record(conn, cursor, statement, parameters, context, executemany):
            asked.extend(_values(parameters))

        event.listen(engine, "before_cursor_execute", record)
        with sessions() as session:
            report = gather_audit(
                session,
                at=bench.AT,
                now=bench.AT,
                currency="PLN",
                locale=bench.LOCALE,
                stores=[one],
            ).report
        event.remove(engine, "before_cursor_execute", record)
        assert len(report.labels) == len(by_store[one])
        assert {v.label_id for v in report.labels} == set(by_store[one])
        (listed,) = [v for v in report.labels if v.audit_class is AuditClass.UNBOUND_SHOWING_PRICE]
        assert listed.label_id == unbound[one]
        assert not others & {v for v in asked if isinstance(v, str)}, "read another store's labels"
    finally:
        engine.dispose()
