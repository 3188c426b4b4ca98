"""What the AP reports, as our values (no httpx or JSON shapes past this module), and
which of this project's display models a tag type is.

A tag type maps to a display model only when its size and colours are exactly a model's:
a type without one is reported (`ModelMatch.reason`), never guessed, because an image
drawn for the wrong panel is a wrong price on the shelf.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from gateways.oepl.errors import UnreadableRecordError
from rendering.display_models import DISPLAY_MODELS

__all__ = ["ModelMatch", "TagCommand", "TagRecord", "TagType", "display_model_for"]


class TagCommand(StrEnum):
    """What `POST /tag_cmd` takes (`cmd`), as the AP documents it."""

    REFRESH = "refresh"  # take and draw the image the AP holds again
    REBOOT = "reboot"
    SCAN = "scan"  # look for another channel
    RESET = "reset"  # back to factory settings
    DEEPSLEEP = "deepsleep"
    CLEAR = "clear"  # drop the pending image
    PURGE = "purge"
    DELETE = "del"  # forget the tag
    LEDFLASH = "ledflash"
    LEDFLASH_LONG = "ledflash_long"
    LEDFLASH_STOP = "ledflash_stop"


@dataclass(frozen=True, slots=True)
class TagRecord:
    """One tag as `/get_db` lists it."""

    mac: str
    hw_type: int
    hash: str
    pending: bool
    last_seen: int
    next_checkin: int
    battery_mv: int
    rssi: int
    lqi: int
    temperature: int
    update_count: int  # how many images the tag has taken since the AP first heard of it
    # When the tag last took one (the AP's clock, whole seconds since the epoch; 0: never).
    # With the count it marks one update: a count that starts again from 0 (the tag
    # deleted and joined again) can come back to the same number, not at the same time.
    update_last: int

    @property
    def last_update(self) -> tuple[int, int]:
        """The tag's last update as the AP records it, (count, time): when it differs from
        an earlier one, the tag took an image since, or the AP's record of it started
        again (deleted, or the AP lost its database); either way what the tag shows is no
        longer known from that earlier update."""
        return (self.update_count, self.update_last)

    @classmethod
    def from_json(cls, data: object, *, ap: str) -> TagRecord:
        """`UnreadableRecordError` naming the field when the record is not what the AP
        documents: no MAC, a number field holding something else or a number the AP's
        record cannot hold (`_RANGES`), or a hash that is not an MD5's 32 hex digits. An
        absent number field (or null, or "") is 0, an absent hash "", as the AP leaves
        out what a tag never reported."""
        if not isinstance(data, dict):
            raise UnreadableRecordError(ap=ap, mac="", field="record", value=data)
        mac = data.get("mac")
        if not isinstance(mac, str) or not mac.strip():
            raise UnreadableRecordError(ap=ap, mac="", field="mac", value=mac)
        mac = mac.strip().upper()

        def number(name: str) -> int:
            value = data.get(name)
            if value is None or value == "":
                return 0
            lowest, highest = _RANGES[name]
            try:
                if isinstance(value, int | float | str) and lowest <= int(value) <= highest:
                    return int(value)
            except (ValueError, OverflowError):
                pass  # "n/a", "1.5", not finite, too long to read: not a number the AP sends
            raise UnreadableRecordError(ap=ap, mac=mac, field=name, value=value)

        digest = data.get("hash")
        if digest is None or digest == "":
            digest = ""
        elif not (isinstance(digest, str) and len(digest) == 32 and _is_hex(digest)):
            raise UnreadableRecordError(ap=ap, mac=mac, field="hash", value=digest)

        return cls(
            mac=mac,
            hw_type=number("hwType"),
            hash=digest,
            pending=bool(number("pending")),
            last_seen=number("lastseen"),
            next_checkin=number("nextcheckin"),
            battery_mv=number("batteryMv"),
            rssi=number("RSSI"),
            lqi=number("LQI"),
            temperature=number("temperature"),
            update_count=number("updatecount"),
            update_last=number("updatelast"),
        )


# What each number field of a record can hold: the AP keeps them in fixed-size integers,
# so a value past these is no reading of a tag but a broken record, and it would break
# what is computed from it (a `lastseen` of 400 digits overflowed the arithmetic on how
# long ago the tag was heard, and the watcher of every waiting push on the AP with it).
_U8, _U16, _U32 = 0xFF, 0xFFFF, 2**32 - 1
_RANGES: dict[str, tuple[int, int]] = {
    # One byte at the AP; the client reads tag type files named with four hex digits too.
    "hwType": (0, _U16),
    "pending": (0, _U16),  # how many images wait for the tag (a flag on older APs)
    "lastseen": (0, _U32),  # the AP's clock, whole seconds since the epoch
    "nextcheckin": (0, _U32),
    "batteryMv": (0, _U16),
    "RSSI": (-128, 127),  # dBm, one signed byte
    "LQI": (0, _U8),
    "temperature": (-128, 127),  # degrees Celsius, one signed byte
    "updatecount": (0, _U32),
    "updatelast": (0, _U32),
}


def _is_hex(text: str) -> bool:
    return all(character in string.hexdigits for character in text)


@dataclass(frozen=True, slots=True)
class TagType:
    """A tag type as the AP serves it at `/tagtypes/<HH>.json`."""

    hw_type: int
    name: str
    width: int
    height: int
    bpp: int
    colours: tuple[tuple[str, tuple[int, int, int]], ...]  # name, RGB; as the AP lists them
    rotatebuffer: int
    has_led: bool

    @classmethod
    def from_json(cls, hw_type: int, data: dict[str, Any]) -> TagType:
        table = data.get("colortable") or {"white": [255, 255, 255], "black": [0, 0, 0]}
        options = data.get("options") or []
        return cls(
            hw_type=hw_type,
            name=str(data.get("name", f"type {hw_type:02X}")),
            width=int(data["width"]),
            height=int(data["height"]),
            bpp=int(data.get("bpp", 1)),
            colours=tuple(
                (str(name), (int(c[0]), int(c[1]), int(c[2]))) for name, c in table.items()
            ),
            rotatebuffer=int(data.get("rotatebuffer", 0)),
            has_led="led" in options,
        )

    def colour(self, name: str) -> tuple[int, int, int] | None:
        return next((rgb for colour, rgb in self.colours if colour == name), None)

    @property
    def accent(self) -> str | None:
        return next((name for name, _ in self.colours if name not in ("white", "black")), None)


@dataclass(frozen=True, slots=True)
class ModelMatch:
    model_id: str | None
    reason: str  # why there is none ("" when there is)


def display_model_for(tag_type: TagType) -> ModelMatch:
    """The display model whose panel this tag type is, or why there is none."""
    if tag_type.bpp not in (1, 2) or tag_type.rotatebuffer % 2:
        return ModelMatch(
            None, f"{tag_type.name}: {tag_type.bpp} bits per pixel, rotated buffer not supported"
        )
    names = {name for name, _ in tag_type.colours}
    if not {"white", "black"} <= names or len(names) > 3:
        return ModelMatch(None, f"{tag_type.name}: colours {sorted(names)} are not ours")
    colours = ("white", "black", *([tag_type.accent] if tag_type.accent else []))
    for model in DISPLAY_MODELS.values():
        if (model.width, model.height, model.colours) == (
            tag_type.width,
            tag_type.height,
            colours,
        ):
            return ModelMatch(model.id, "")
    return ModelMatch(
        None,
        f"{tag_type.name}: no display model is {tag_type.width}x{tag_type.height} "
        f"{'/'.join(colours)}",
    )
