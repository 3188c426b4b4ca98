"""Price rules: a regular price for a SKU in a scope and a validity window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pricing.errors import NonPositivePriceError, ScopeConflictError, UnknownReferenceError
from pricing.money import Money
from pricing.products import Channel
from pricing.windows import keep_window_in_utc

__all__ = ["SCOPE_PRECEDENCE", "PriceRule", "PriceScope"]


class PriceScope(StrEnum):
    """How specific a price rule is; see `SCOPE_PRECEDENCE`."""

    STORE_CHANNEL = "store_channel"
    STORE = "store"
    ZONE_CHANNEL = "zone_channel"
    ZONE = "zone"
    CHANNEL = "channel"
    BASE = "base"


# Most specific first: the first applicable rule in this order is the regular price.
# docs/pricing.md shows the same table; change both together.
SCOPE_PRECEDENCE: tuple[PriceScope, ...] = (
    PriceScope.STORE_CHANNEL,
    PriceScope.STORE,
    PriceScope.ZONE_CHANNEL,
    PriceScope.ZONE,
    PriceScope.CHANNEL,
    PriceScope.BASE,
)


@dataclass(frozen=True, slots=True)
class PriceRule:
    """ "SKU X costs `amount` [in channel C] [in zone Z | in store S] from .. until ..".

    A rule names a zone or a store, never both: a store's zone is a fact about the
    store, not about the price.
    """

    id: str
    sku: str
    amount: Money
    channel: Channel | None = None
    zone: str | None = None
    store: str | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None

    def __post_init__(self) -> None:
        if self.amount.amount <= 0:
            raise NonPositivePriceError(
                f"price rule {self.id}: a price must be above zero, got {self.amount}",
                rule_id=self.id,
                sku=self.sku,
                amount=str(self.amount.amount),
            )
        if self.zone is not None and self.store is not None:
            raise ScopeConflictError(
                f"price rule {self.id}: name a zone or a store, not both",
                rule_id=self.id,
                zone=self.zone,
                store=self.store,
            )
        if self.channel is not None and not isinstance(self.channel, Channel):
            try:
                object.__setattr__(self, "channel", Channel(self.channel))
            except ValueError:
                raise UnknownReferenceError(
                    f"price rule {self.id}: unknown channel {self.channel!r}",
                    kind="channel",
                    id=str(self.channel),
                    referenced_by=self.id,
                ) from None
        keep_window_in_utc(self)

    @property
    def scope(self) -> PriceScope:
        if self.store is not None:
            return PriceScope.STORE_CHANNEL if self.channel else PriceScope.STORE
        if self.zone is not None:
            return PriceScope.ZONE_CHANNEL if self.channel else PriceScope.ZONE
        return PriceScope.CHANNEL if self.channel else PriceScope.BASE

    @property
    def scope_key(self) -> tuple[str, Channel | None, str | None, str | None]:
        """Rules with equal scope keys may not have overlapping windows."""
        return (self.sku, self.channel, self.zone, self.store)
