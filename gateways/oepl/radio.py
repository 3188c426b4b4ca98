"""The OpenEPaperLink access point as a store gateway's `LabelRadio`."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Final

from gateways.oepl.driver import AccessPointDriver
from gateways.oepl.errors import AccessPointError, TagModelError, TagRefusedError
from gateways.oepl.models import TagRecord
from gateways.protocol.reasons import ReasonCode
from gateways.store_gateway.radio import LabelHealth, LabelRadio, RadioError
from rendering.encoding import Planes

__all__ = ["OeplRadio", "led_pattern"]

_log = logging.getLogger(__name__)

# RGB332 colours for the ESL colour numbers (1 red, 2 green, 3 blue, 4 white, 5 yellow).
_RGB332: Final = {1: 0xE0, 2: 0x1C, 3: 0x03, 4: 0xFF, 5: 0xFC}


def led_pattern(*, colour: int, pattern: int, seconds: int) -> str:
    """The AP's 12-byte LED pattern (24 hex characters): mode and brightness, then three
    segments of colour, speed/count and pause, then how often to repeat.

    Our patterns: 0 solid (long flashes), 1 blink, 2 fast blink, 3 pulse."""
    rgb = _RGB332.get(colour, 0xE0)
    speed = {0: 0x9, 1: 0x4, 2: 0x1, 3: 0x6}.get(pattern, 0x4)
    flashes = 3
    repeats = max(1, min(255, seconds // 2))
    segment = bytes([rgb, (speed << 4) | flashes, 0x05])
    # First byte: brightness - 1 in the high nibble (2 of 16), mode 1 "flash" in the low.
    body = bytes([0x11]) + segment + segment + segment + bytes([repeats - 1, 0x00])
    return body.ljust(12, b"\x00").hex()


@contextlib.contextmanager
def _as_radio_errors(address: str) -> Iterator[None]:
    """The AP's errors as the radio's: a tag the AP refused stays refused (final); anything
    else (busy, unreachable, never checked in, not listed: deleted on the AP, which lists
    it again at its next check-in) may work later: the gateway reports it, unsigned, and
    the update is tried again when the label is heard."""
    try:
        yield
    except TagModelError as other_panel:
        raise RadioError(
            address=address, reason=str(other_panel), final=True, refusal=ReasonCode.WRONG_MODEL
        ) from None
    except TagRefusedError as refused:
        raise RadioError(address=address, reason=str(refused), final=True) from None
    except AccessPointError as error:
        raise RadioError(address=address, reason=str(error), final=False) from None


def _health(record: TagRecord, *, silent: bool = False, returned: bool = False) -> LabelHealth:
    return LabelHealth(
        battery_mv=record.battery_mv,
        rssi_dbm=record.rssi,
        lqi=max(0, min(255, record.lqi)),
        temperature_tenths_c=record.temperature * 10,
        last_seen_s=float(record.last_seen),
        holds=record.hash,
        settled=not record.pending,
        updates=record.update_count,
        updated_s=record.update_last,
        silent=silent,
        returned=returned,
    )


class OeplRadio(LabelRadio):
    def __init__(self, driver: AccessPointDriver) -> None:
        self.driver = driver

    async def _heard(self, address: str) -> TagRecord:
        """The tag's record, if the AP heard from it lately: a tag that stopped checking in
        must not look alive because the gateway answers for it. How long ago is measured
        by the driver on the gateway's clock, never by the AP's `lastseen` against it:
        an AP clock an hour behind would make every tag look dead, one ahead a dead tag
        alive."""
        try:
            heard = await self.driver.heard(address)
        except AccessPointError as error:
            raise RadioError(address=address, reason=str(error), final=False) from None
        if heard is None:
            # Deleted on the AP (`/tag_cmd del`): listed again at its next check-in.
            raise RadioError(address=address, reason="not in the AP's tag database", final=False)
        if heard.silent_s > self.driver.timings.silent_after_s:
            raise RadioError(
                address=address,
                reason=f"the AP has not heard it for {heard.silent_s:.0f} s",
                final=False,
            )
        return heard.record

    async def ping(self, address: str) -> LabelHealth:
        record = await self._heard(address)
        return _health(record, returned=self.driver.returned(record.mac))

    async def show(self, address: str, planes: Planes, *, model: str) -> LabelHealth:
        with _as_radio_errors(address):
            delivery = await self.driver.push_image(address, planes, model=model)
        return _health(delivery.record)

    async def redraw(
        self, address: str, planes: Planes, *, model: str, for_update: bool = False
    ) -> LabelHealth:
        """`/tag_cmd` refresh: the AP does not resend an image the tag holds."""
        with _as_radio_errors(address):
            delivery = await self.driver.redraw(address, planes, model=model, for_update=for_update)
        return _health(delivery.record)

    async def flash_led(self, address: str, *, colour: int, pattern: int, seconds: int) -> None:
        """Queue the flash at the AP, for a tag heard lately whose type has an LED. The AP
        queues a pattern for any tag and the tag ignores it without one: answered SUCCESS,
        staff would search the shelf for a blink that never comes. A tag type without the
        `led` option (or one the AP does not serve) is refused for good, as a label
        refuses an LED it does not have (`INVALID_PARAMETERS`)."""
        record = await self._heard(address)
        with _as_radio_errors(address):
            tag_type = await self.driver.tag_type(record.hw_type)
        if tag_type is None or not tag_type.has_led:
            what = (
                f"the AP has no tag type {record.hw_type:02X}"
                if tag_type is None
                else f"its tag type {tag_type.name} ({record.hw_type:02X})"
            )
            raise RadioError(
                address=address,
                reason=f"{what}: no LED to flash",
                final=True,
                refusal=ReasonCode.INVALID_PARAMETERS,
            )
        with _as_radio_errors(address):
            await self.driver.flash_led(
                address, led_pattern(colour=colour, pattern=pattern, seconds=seconds)
            )

    async def health(self) -> dict[str, LabelHealth]:
        try:
            records = await self.driver.inventory()
        except AccessPointError as error:
            _log.warning("health poll: %s", error)
            return {}
        silent_after_s = self.driver.timings.silent_after_s
        return {
            record.mac: _health(
                record,
                silent=self.driver.silence(record.mac) > silent_after_s,
                returned=self.driver.returned(record.mac),
            )
            for record in records
        }

    async def close(self) -> None:
        await self.driver.close()
