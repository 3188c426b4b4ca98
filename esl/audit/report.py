"""The audit of one instant: every label's verdict and a summary per store (pure values)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import itemgetter

from esl.audit.classify import AuditClass, LabelVerdict, PriorPriceProblem, Thresholds

__all__ = ["AuditReport", "StoreSummary", "summarise"]

_by_store_and_label = itemgetter(1, 0)  # LabelVerdict: (label_id, store, ...)


@dataclass(frozen=True, slots=True)
class StoreSummary:
    store: str
    labels: int
    counts: dict[str, int]  # every AuditClass value, zeros included
    # Products with a price at this store's till (store channel) but no label bound in
    # the store: a shelf showing no price for what the till sells.
    unlabelled_products: tuple[str, ...]
    # Labels bound to a product without a store price (class no_longer_sold).
    labels_on_unsold_products: tuple[str, ...]
    prior_price_problems: int

    @property
    def mismatches(self) -> int:
        return sum(n for name, n in self.counts.items() if AuditClass(name).is_mismatch)


@dataclass(frozen=True, slots=True)
class AuditReport:
    at: datetime
    thresholds: Thresholds
    stores: tuple[StoreSummary, ...]
    labels: tuple[LabelVerdict, ...]  # by store, then label id
    prior_price_problems: tuple[PriorPriceProblem, ...] = field(default=())

    def overdue(
        self, threshold: timedelta, withdrawn: Mapping[str, datetime] | None = None
    ) -> list[LabelVerdict]:
        """Labels that have shown another price than the due one for longer than
        `threshold`: stale ones, and offline, flat or tampered ones that are wrong too;
        and labels showing a price of a product no longer sold, wrong since its store
        price was withdrawn (`withdrawn`: label id -> that instant, from the ledger,
        `esl.audit.overdue.prices_withdrawn`), not before their binding. Without it they
        are left out: their `wrong_since` is their binding, which would alert at once
        when a product long on the shelf is delisted."""
        return [
            v
            for v in self.labels
            if (wrong_since := _wrong_since(v, withdrawn)) is not None
            and self.at - wrong_since > threshold
        ]

    def overdue_prior_prices(
        self, threshold: timedelta, shown_since: Mapping[str, datetime]
    ) -> list[PriorPriceProblem]:
        """Prior-price problems printed for longer than `threshold`: `shown_since` maps a
        label to since when it prints the wrong line (`esl.audit.overdue.
        prior_prices_wrong_since`: its first report of the image it shows, or the record's
        change since that made another prior price due). It counts as a wrong price does;
        a label missing from it is counted, an unlawful shelf of unknown age being no
        better."""
        return [
            p
            for p in self.prior_price_problems
            if (since := shown_since.get(p.label_id)) is None or self.at - since > threshold
        ]

    def prior_price_problems_by_label(self) -> dict[str, PriorPriceProblem]:
        """Label id -> its prior-price problem (a label has one at most)."""
        return {p.label_id: p for p in self.prior_price_problems}

    def mismatches(self) -> list[LabelVerdict]:
        return [v for v in self.labels if v.audit_class.is_mismatch]


def _wrong_since(
    verdict: LabelVerdict, withdrawn: Mapping[str, datetime] | None
) -> datetime | None:
    if verdict.audit_class is not AuditClass.NO_LONGER_SOLD:
        return verdict.wrong_since
    if withdrawn is None or verdict.shown_price is None:
        return None  # not dated; or the shelf shows no price: nothing wrong is on sale
    # `since` is its binding; the ledger may not say when the price ended (never priced
    # in this store, the store gone): then since the binding.
    ended = withdrawn.get(verdict.label_id)
    return verdict.since if ended is None or verdict.since is None else max(ended, verdict.since)


def summarise(
    verdicts: Iterable[LabelVerdict],
    *,
    at: datetime,
    thresholds: Thresholds,
    stores: Iterable[str],
    unlabelled: dict[str, list[str]],
    prior_price_problems: Iterable[PriorPriceProblem],
) -> AuditReport:
    labels = tuple(sorted(verdicts, key=_by_store_and_label))
    problems = tuple(sorted(prior_price_problems, key=lambda p: (p.store, p.label_id)))
    per_store: dict[str, Counter[str]] = {code: Counter() for code in stores}
    unsold: dict[str, list[str]] = {code: [] for code in per_store}
    for (store, audit_class), count in Counter(
        (verdict.store, verdict.audit_class) for verdict in labels
    ).items():
        per_store.setdefault(store, Counter())[audit_class.value] += count
    for verdict in labels:
        if verdict.audit_class is AuditClass.NO_LONGER_SOLD:
            unsold.setdefault(verdict.store, []).append(verdict.label_id)
    problem_counts = Counter(p.store for p in problems)
    summaries = tuple(
        StoreSummary(
            store=code,
            labels=sum(counts.values()),
            counts={c.value: counts.get(c.value, 0) for c in AuditClass},
            unlabelled_products=tuple(sorted(unlabelled.get(code, ()))),
            labels_on_unsold_products=tuple(unsold.get(code, ())),
            prior_price_problems=problem_counts.get(code, 0),
        )
        for code, counts in sorted(per_store.items())
    )
    return AuditReport(
        at=at,
        thresholds=thresholds,
        stores=summaries,
        labels=labels,
        prior_price_problems=problems,
    )
