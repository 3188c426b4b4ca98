"""The promotion's last day a label prints, against the one due in its store's time zone.

A price fingerprint (`pricing.label_fingerprint`) holds a promotion's end as an instant,
the same in every time zone; the label prints the last day of that instant in its store's
zone (`LabelContent.valid_until`). So a label showing the due price fingerprint may still
print another last day: its image was dated in the zone its store had when it was planned
(`stores.time_zone` changed since, or `ESL_TIME_ZONE` for stores naming none). The due day
is worked out as the pipeline's planning does it (`pricing.products.label_time_zone`, then
`LabelContent.from_resolved`), once per shown content and zone.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from esl.audit.classify import ShownContent
from pricing import Catalogue, ResolvedPrice
from pricing.products import label_time_zone
from rendering.content import LabelContent, content_from_dict
from rendering.errors import ContentError

__all__ = ["LastDays"]


class LastDays:
    """Which shown contents print a promotion's last day other than the one due.

    `installation` is `ESL_TIME_ZONE`, for stores that name no zone (None: the locale's).
    """

    def __init__(self, catalogue: Catalogue, installation: str | None) -> None:
        self._catalogue = catalogue
        self._installation = installation
        self._known: dict[tuple[str, str, str | None], tuple[date, date] | None] = {}

    def misdated(
        self, shown: ShownContent, drawn: dict[str, Any], due: ResolvedPrice, store: str
    ) -> tuple[date, date] | None:
        """(the last day printed, the last day due) when the content `drawn` (the
        `content_to_dict` form recorded with `shown`), priced as `due` (equal price
        fingerprints), prints a promotion's last day other than `due`'s in the zone of
        `store`; None when it prints the due day or none (no promotion end, no badge
        drawn), or when its price differs (the price tells it apart already)."""
        promotion = due.promotion
        if (
            promotion is None
            or promotion.valid_until is None
            or shown.price_fingerprint != due.fingerprint
        ):
            return None
        zone = label_time_zone(self._catalogue.stores.get(store), self._installation)
        key = (shown.content_hash, due.fingerprint, zone)
        try:
            return self._known[key]
        except KeyError:
            found = self._known[key] = self._compare(drawn, due, zone)
            return found

    def _compare(
        self, shown: dict[str, Any], due: ResolvedPrice, zone: str | None
    ) -> tuple[date, date] | None:
        try:
            drawn = content_from_dict(shown)
        except ContentError:
            return None  # nothing to tell: its price fingerprint is the due one
        product = self._catalogue.products.get(due.sku)
        # Only a promotion's badge prints its last day (rendering.layout).
        if product is None or not drawn.has_promotion or drawn.valid_until is None:
            return None
        try:
            due_day = LabelContent.from_resolved(
                product=product, price=due, locale=drawn.locale, timezone=zone
            ).valid_until
        except ContentError:
            return None  # a zone no longer known: planning cannot date it either
        if due_day is None or due_day == drawn.valid_until:
            return None
        return drawn.valid_until, due_day
