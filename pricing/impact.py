"""What a change does to labels, and when the next change happens by itself.

`change_impact` answers "which (SKU, channel, store) show something different now?" in
time proportional to the change: it looks only at the SKUs the change touched, and
within a SKU it partitions channels and stores into classes that no rule or promotion
of that SKU tells apart (see `_partition`), so a SKU whose base price changed is checked
once, not once per store and channel.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import datetime

from pricing.catalogue import Catalogue
from pricing.errors import NoApplicablePriceError
from pricing.label_text import label_language
from pricing.ledger import PriceKey, PriceLedger
from pricing.money import Money
from pricing.products import Channel, Product
from pricing.promotions import Promotion
from pricing.resolution import resolve_key, select_rule_and_promotion
from pricing.windows import in_utc

__all__ = ["change_impact", "next_change_instant"]

# Product facts, regular amount, promotion, and the store's opening: a shelf sells since
# then (`pricing.ledger.key_on_sale_since`), which can change a reduction's prior price.
_Selection = tuple[Product, Money, Promotion | None, datetime | None] | None


def next_change_instant(catalogue: Catalogue, *, after: datetime) -> datetime | None:
    """The first instant strictly after `after` at which a rule or promotion starts or ends.

    A scheduler sleeps until then and re-resolves; None means nothing in the catalogue
    is scheduled to change. (Some boundaries change no label, e.g. a rule followed by
    one with the same amount; re-resolving then finds equal fingerprints.)
    """
    after = in_utc(after, field="after")
    boundaries = catalogue.boundaries()
    index = bisect_right(boundaries, after)
    return boundaries[index] if index < len(boundaries) else None


def _touched_skus(before: Catalogue, after: Catalogue) -> set[str]:
    lineage = after.lineage
    if lineage is not None and lineage.base_token is before.token:
        skus = set(lineage.skus)
        for category in lineage.categories:
            skus |= before.skus_in_category(category) | after.skus_in_category(category)
        return skus
    # Unrelated catalogues: nothing says what changed, so compare every SKU.
    skus = set()
    for sku in before.products.keys() | after.products.keys():
        if (
            before.products.get(sku) != after.products.get(sku)
            or before.rules_for(sku) != after.rules_for(sku)
            or before.promotions_for(sku) != after.promotions_for(sku)
        ):
            skus.add(sku)
    return skus


def _partition(
    before: Catalogue,
    after: Catalogue,
    sku: str,
    *,
    moved_stores: set[str],
    all_stores: tuple[str, ...],
) -> tuple[list[tuple[Channel, ...]], list[tuple[str, ...]]]:
    """Channel classes and store groups within which every key of `sku` resolves alike.

    A channel, zone or store that no rule or promotion of `sku` names (in either
    catalogue) cannot be told apart from another such one: only unscoped rules and
    promotions reach it. Named channels and stores stand alone; a named zone's stores
    (minus named stores) form one group; all remaining stores form another.
    """
    channels: set[Channel] = set()
    stores: set[str] = set(moved_stores)
    zones: set[str] = set()
    for catalogue in (before, after):
        named = catalogue.named_scopes(sku)
        channels |= named.channels
        stores |= named.stores
        zones |= named.zones
    channel_classes: list[tuple[Channel, ...]] = [(c,) for c in Channel if c in channels]
    rest = tuple(channel for channel in Channel if channel not in channels)
    if rest:
        channel_classes.append(rest)

    if not stores and not zones:
        # The common case: one group (none at all in a catalogue without stores, where no
        # key exists to change).
        return channel_classes, [all_stores] if all_stores else []
    store_groups: list[tuple[str, ...]] = [(code,) for code in sorted(stores)]
    by_zone: dict[str | None, list[str]] = {}
    for code, store in after.stores.items():
        if code not in stores:
            by_zone.setdefault(store.zone if store.zone in zones else None, []).append(code)
    store_groups += [tuple(codes) for codes in by_zone.values()]
    return channel_classes, store_groups


def _selection(
    catalogue: Catalogue, *, sku: str, channel: Channel, store: str, at: datetime
) -> _Selection:
    """What decides a key's label: product facts, regular amount, promotion, and the
    store's opening (the same in both catalogues unless the store is a moved one, which
    is a class of its own)."""
    product = catalogue.products.get(sku)
    shop = catalogue.stores.get(store)
    if product is None or shop is None:
        return None
    try:
        rule, promotion = select_rule_and_promotion(
            catalogue, sku=sku, channel=channel, store=store, at=at
        )
    except NoApplicablePriceError:
        return None
    return product, rule.amount, promotion, shop.opened


def _fingerprint(
    catalogue: Catalogue, *, key: PriceKey, at: datetime, ledger: PriceLedger, locale: str
) -> str | None:
    if key.sku not in catalogue.products or key.store not in catalogue.stores:
        return None
    try:
        resolved = resolve_key(catalogue, key, at=at, ledger=ledger, locale=locale)
    except NoApplicablePriceError:
        return None
    return resolved.fingerprint


def change_impact(
    before: Catalogue,
    after: Catalogue,
    *,
    at: datetime,
    ledger: PriceLedger,
    locale: str,
) -> set[PriceKey]:
    """Every (SKU, channel, store) whose label-visible fields differ between the catalogues.

    Exact: a key is in the result if and only if its resolved fingerprint at `at`
    differs (a key that gains or loses its price counts as changed). Proportional to
    the change when `after` was made from `before` by `Catalogue.with_changes`.
    """
    at = in_utc(at, field="at")
    label_language(locale)
    moved_stores = _moved_stores(before, after)
    skus = _touched_skus(before, after)
    if moved_stores:
        skus |= before.products.keys() | after.products.keys()
    affected: set[PriceKey] = set()
    all_stores = tuple(after.stores)
    for sku in skus:
        channel_classes, store_groups = _partition(
            before, after, sku, moved_stores=moved_stores, all_stores=all_stores
        )
        for channels in channel_classes:
            for stores in store_groups:
                affected.update(
                    _class_impact(
                        before,
                        after,
                        sku=sku,
                        channels=channels,
                        stores=stores,
                        at=at,
                        ledger=ledger,
                        locale=locale,
                    )
                )
    return affected


def _moved_stores(before: Catalogue, after: Catalogue) -> set[str]:
    """Stores added, removed or changed between the catalogues (moved to another zone,
    given another opening, renamed)."""
    if before.stores is after.stores or before.stores == after.stores:
        return set()
    codes = before.stores.keys() | after.stores.keys()
    return {code for code in codes if before.stores.get(code) != after.stores.get(code)}


def _class_impact(
    before: Catalogue,
    after: Catalogue,
    *,
    sku: str,
    channels: tuple[Channel, ...],
    stores: tuple[str, ...],
    at: datetime,
    ledger: PriceLedger,
    locale: str,
) -> list[PriceKey]:
    """The changed keys among `channels` x `stores`, which resolve alike on each side."""
    was = _selection(before, sku=sku, channel=channels[0], store=stores[0], at=at)
    now = _selection(after, sku=sku, channel=channels[0], store=stores[0], at=at)
    if was == now:
        # Same product, regular amount, promotion and opening: same label, same ledger.
        return []
    keys = [PriceKey(sku, channel, store) for channel in channels for store in stores]
    if was is None or now is None or was[1] != now[1]:
        return keys  # every label shows the regular price: gaining, losing or moving it shows
    if was[2] is None and now[2] is None:
        # Without a promotion the label does not read the ledger: one key speaks for all.
        old = _fingerprint(before, key=keys[0], at=at, ledger=ledger, locale=locale)
        new = _fingerprint(after, key=keys[0], at=at, ledger=ledger, locale=locale)
        return keys if old != new else []
    return [
        key
        for key in keys
        if _fingerprint(before, key=key, at=at, ledger=ledger, locale=locale)
        != _fingerprint(after, key=key, at=at, ledger=ledger, locale=locale)
    ]
