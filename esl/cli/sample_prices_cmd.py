"""`esl sample-prices`: the bundled sample catalogue's prices, resolved at one instant.

A quick look at what the pricing engine makes of the sample (store, zone and channel
prices, every promotion kind, the 30-day prior price) without a database. The clock is
read here, once, at the edge; everything below takes the instant as a parameter.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from esl.cli.invocation import settings_of
from esl.cli.sample_instants import AnchorOption, AtOption, sample_instants
from esl.sample import load_sample
from pricing import Channel, Money, ResolvedPrice, UnitMoney, resolve
from pricing.errors import PricingError
from pricing.label_text import LabelTexts, format_money, label_texts

__all__ = ["price_table", "register"]

# The width of each column of the price table, in characters.
_WIDTHS = (8, 34, 10, 10, 30, 17, 16, 18)


def _money(value: Money | None, locale: str) -> str:
    if value is None:
        return ""
    # A unit price keeps the decimals it has: 0,0040 zł a toothpick, never 0,00 zł.
    fine = isinstance(value, UnitMoney)
    return format_money(value.amount, value.currency, locale=locale, keep_decimals=fine)


def _row(resolved: ResolvedPrice, name: str, locale: str, texts: LabelTexts) -> list[str]:
    promotion = resolved.promotion
    promo_text = ""
    if promotion is not None:
        promo_text = promotion.text or ""
        if promotion.min_quantity > 1:
            each = texts.price_table.per_item.format(
                money=_money(promotion.effective_unit_price, locale)
            )
            promo_text += f" = {each}"
    saving = ""
    if resolved.announces_reduction and resolved.saving_percent is not None:
        saving = f"{_money(resolved.saving, locale)} ({resolved.saving_percent}%)"
    elif resolved.is_reduced:
        # Not below the 30-day low: the label shows a plain price.
        saving = texts.price_table.not_announced
    unit = ""
    if resolved.unit_price is not None:
        unit = f"{_money(resolved.unit_price, locale)}/{resolved.unit_label}"
    return [
        resolved.sku,
        name,
        _money(resolved.regular_price, locale),
        _money(resolved.price, locale),
        promo_text,
        _money(resolved.prior_price, locale),
        saving,
        unit,
    ]


def _line(cells: list[str]) -> str:
    return "  ".join(cell[:width].ljust(width) for cell, width in zip(cells, _WIDTHS, strict=False))


def price_table(*, at: datetime, anchor: datetime, channels: list[Channel], locale: str) -> str:
    """The price table as text, in `locale`'s language: every sample SKU in every store
    for `channels` at `at`."""
    texts = label_texts(locale)  # refuses a locale without label texts before any work
    words = texts.price_table
    sample = load_sample(anchor=anchor, history_until=max(at, anchor))
    catalogue = sample.catalogue
    lines = [
        words.title.format(at=at.isoformat(timespec="minutes"), day_zero=anchor.date().isoformat()),
    ]
    for store in catalogue.stores.values():
        for channel in channels:
            lines += [
                "",
                words.store.format(
                    code=store.code, name=store.name, zone=store.zone or "-", channel=channel
                ),
            ]
            lines.append(_line(list(words.columns)))
            for sku, product in catalogue.products.items():
                try:
                    resolved = resolve(
                        catalogue,
                        sku=sku,
                        channel=channel,
                        store=store.code,
                        at=at,
                        ledger=sample.ledger,
                        locale=locale,
                    )
                except PricingError as error:
                    lines.append(_line([sku, product.name, words.no_price.format(code=error.code)]))
                    continue
                lines.append(_line(_row(resolved, product.name, locale, texts)))
    lines += ["", *words.notes]
    return "\n".join(line.rstrip() for line in lines)


def register(app: typer.Typer) -> None:
    @app.command("sample-prices")
    def sample_prices(
        ctx: typer.Context,
        at: AtOption = None,
        anchor: AnchorOption = None,
        channel: Annotated[
            list[str] | None,
            typer.Option(
                "--channel", help="Channel: store (default), web, app or all; repeatable."
            ),
        ] = None,
        locale: Annotated[
            str | None,
            typer.Option(
                "--locale", help="Label locale: pl_PL, en_GB or de_DE. Default: ESL_LOCALE."
            ),
        ] = None,
    ) -> None:
        """Print the resolved prices of the bundled sample catalogue (no database needed)."""
        instant, day_zero = sample_instants(at, anchor)
        names = channel or ["store"]
        try:
            channels = list(Channel) if "all" in names else [Channel(c) for c in names]
        except ValueError:
            raise typer.BadParameter(
                f"channels are store, web, app or all, not {channel}"
            ) from None
        try:
            table = price_table(
                at=instant,
                anchor=day_zero,
                channels=channels,
                locale=locale or settings_of(ctx).locale,
            )
            typer.echo(table)
        except PricingError as error:
            typer.echo(f"error: {error.message}", err=True)
            raise typer.Exit(1) from error
