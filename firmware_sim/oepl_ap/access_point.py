"""An OpenEPaperLink access point and its tags, as the AP's HTTP interface shows them.

Written from the AP's documented behaviour (docs/gateways.md, /work/shared/domain.md §7),
no firmware code copied. What a client can observe is reproduced:

- tags are never reached on demand: each checks in on its own interval (about 40 s on
  real tags; configurable so tests run fast) and only then takes what the AP holds for it;
- one transfer at a time per AP, at a radio speed in bytes per second (about 5 kB/s);
- an upload is stored as the tag's image at once: its record's `hash` (the MD5 of the
  stored image) changes and `pending` is set; `pending` clears only when the tag has
  taken the image at a check-in. An image with the MD5 the tag already holds is "the same
  as the current image" and changes nothing;
- while the AP processes an upload it answers further uploads `409 Come back later`;
- an image that is not a baseline JPEG is accepted with 200 and silently dropped (the
  AP's JPEG decoder reads nothing else), the "silent non-update" users complain about;
- a pending image a tag never fetched is dropped after a while (about 20 minutes).

Time is a parameter (`now`, seconds since the epoch); `firmware_sim.oepl_ap.http_app`
serves it over HTTP and moves the clock.
"""

from __future__ import annotations

import hashlib
import io
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import numpy as np
from PIL import Image, UnidentifiedImageError

from firmware_sim.oepl_ap.tag_types import TAG_TYPES, TagTypeSpec
from rendering.display_models import COLOUR_RGB
from rendering.encoding import Planes, image_from_planes

__all__ = [
    "AccessPointConfig",
    "EmulatedAccessPoint",
    "EmulatedTag",
    "UploadAnswer",
    "planes_from_raw",
    "raw_from_jpeg",
    "transfer_size",
]

NO_HASH: Final = "0" * 32
_EXTERNAL_IMAGE: Final = 24
_QUEUED_COMMANDS: Final = frozenset(
    {"reboot", "scan", "reset", "deepsleep", "purge", "ledflash", "ledflash_long", "ledflash_stop"}
)  # content mode "image uploaded by someone else"


@dataclass(frozen=True, slots=True)
class AccessPointConfig:
    check_in_interval_s: float = 40.0
    radio_bytes_per_s: float = 5_000.0
    # How long processing an upload keeps the AP busy (409 to anyone else meanwhile).
    upload_processing_s: float = 0.05
    pending_expiry_s: float = 20 * 60.0
    page_size: int = 8  # tag records per /get_db page (the AP pages at about 5 kB)
    # Current tags take zlib-compressed images (a 4-byte size, then the stream); old
    # ones the raw planes (9,472 bytes for 2.9" BWR: the ~2 s per image users see).
    zlib_transfers: bool = True


@dataclass
class EmulatedTag:
    """One tag: what it reports and exactly the pixels it holds (OEPL raw planes)."""

    mac: str
    hw_type: int
    battery_mv: int = 2_950
    rssi: int = -62
    lqi: int = 95
    temperature: int = 21
    checks_in: bool = True  # False: out of range, never checks in
    alias: str = ""
    # What the tag holds: the raw image it last took, and that image's MD5.
    shown_raw: bytes | None = None
    shown_md5: str = NO_HASH
    # The AP's record for it: the image stored for the tag (pending or taken).
    stored_raw: bytes | None = None
    record_md5: str = NO_HASH
    pending: bool = False
    pending_since: float = 0.0
    content_mode: int = 0
    last_seen: float = 0.0
    next_checkin: float = 0.0
    update_count: int = 0
    update_last: float = 0.0
    wakeup_reason: int = 0
    commands: list[str] = field(default_factory=list)  # waiting for the next check-in
    delivered: list[str] = field(default_factory=list)  # taken at a check-in

    @property
    def tag_type(self) -> TagTypeSpec:
        return TAG_TYPES[self.hw_type]

    def record(self) -> dict[str, Any]:
        """The tag as `/get_db` lists it (field names and types as the AP sends them)."""
        return {
            "mac": self.mac,
            "hash": self.record_md5,
            "lastseen": int(self.last_seen),
            "nextupdate": int(self.next_checkin),
            "nextcheckin": int(self.next_checkin),
            "pending": int(self.pending),
            "alias": self.alias,
            "contentMode": self.content_mode,
            "LQI": self.lqi,
            "RSSI": self.rssi,
            "temperature": self.temperature,
            "batteryMv": self.battery_mv,
            "hwType": self.hw_type,
            "wakeupReason": self.wakeup_reason,
            "capabilities": 0x04 if "led" in self.tag_type["options"] else 0,
            "modecfgjson": "{}",
            "isexternal": False,
            "apip": "0.0.0.0",
            "rotate": 0,
            "lut": 0,
            "invert": 0,
            "updatecount": self.update_count,
            "updatelast": int(self.update_last),
            "ch": 11,
            "ver": 0x0027,
        }

    def display_png(self, *, now: datetime | None = None) -> bytes:
        """A PNG of exactly the pixels on the panel, in this project's colours (white when
        nothing was ever shown). `now` is accepted for the simulated labels' signature."""
        spec = self.tag_type
        planes = self.shown_planes() or planes_from_raw(
            bytes((spec["width"] + 7) // 8 * spec["height"] * spec["bpp"]), spec
        )
        accents = [str(n) for n in spec["colortable"] if n not in ("white", "black")]
        palette = [COLOUR_RGB[name] for name in ("white", "black", *accents) if name in COLOUR_RGB]
        buffer = io.BytesIO()
        image_from_planes(planes, palette=palette).save(buffer, format="PNG")
        return buffer.getvalue()

    def shown_planes(self) -> Planes | None:
        """The pixels on the tag's panel as this project's planes (None: blank panel)."""
        if self.shown_raw is None:
            return None
        return planes_from_raw(self.shown_raw, self.tag_type)


@dataclass(frozen=True, slots=True)
class UploadAnswer:
    status: int
    body: str


class EmulatedAccessPoint:
    """The AP's state: its tags, its one radio, its busy spells. Not thread-safe: one loop."""

    def __init__(self, config: AccessPointConfig | None = None) -> None:
        self.config = config or AccessPointConfig()
        self.tags: dict[str, EmulatedTag] = {}
        self.log: list[str] = []
        self.transfers = 0  # images sent over the radio
        self.bytes_sent = 0
        self.refused_busy = 0  # uploads answered 409
        self._busy_until = 0.0
        self._forced_busy = 0
        self._radio_mac: str | None = None
        self._radio_free_at = 0.0
        self._listeners: list[Callable[[dict[str, Any]], None]] = []

    # ------------------------------------------------------------ set-up and faults

    def add_tag(self, tag: EmulatedTag, *, now: float) -> EmulatedTag:
        if tag.hw_type not in TAG_TYPES:
            raise ValueError(f"tag {tag.mac}: no tag type {tag.hw_type:02X}")
        tag.mac = tag.mac.upper()
        # Tags wake on their own schedules: spread the first check-ins over one interval.
        spread = (zlib.crc32(tag.mac.encode()) % 1000) / 1000
        tag.next_checkin = now + self.config.check_in_interval_s * spread
        tag.last_seen = now
        self.tags[tag.mac] = tag
        return tag

    def refuse_next_uploads(self, count: int) -> None:
        """A 409 storm: the next `count` uploads are answered "Come back later"."""
        self._forced_busy = count

    def subscribe(self, listener: Callable[[dict[str, Any]], None]) -> Callable[[], None]:
        """Messages as the `/ws` WebSocket sends them (`tags`, `logMsg`, `errMsg`)."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    # ------------------------------------------------------------ the HTTP verbs

    def records(self, *, pos: int = 0, mac: str | None = None) -> dict[str, Any]:
        """`/get_db`: one page of records and `continu` (the next `pos`, 0 at the end)."""
        if mac is not None:
            tag = self.tags.get(mac.upper())
            return {"tags": [] if tag is None else [tag.record()]}
        ordered = list(self.tags.values())
        page = ordered[pos : pos + self.config.page_size]
        following = pos + len(page)
        return {
            "tags": [tag.record() for tag in page],
            "continu": following if following < len(ordered) else 0,
        }

    def upload(self, mac: str, image: bytes, *, dither: int, now: float) -> UploadAnswer:
        """`/imgupload`: store an image for a tag; it goes out at the tag's next check-in."""
        tag = self.tags.get(mac.upper())
        if tag is None:
            return UploadAnswer(400, "mac not found")
        if self._forced_busy > 0 or now < self._busy_until:
            self._forced_busy = max(0, self._forced_busy - 1)
            self.refused_busy += 1
            return UploadAnswer(409, "Come back later")
        self._busy_until = now + self.config.upload_processing_s
        try:
            raw = raw_from_jpeg(image, tag.tag_type, dither=dither)
        except _NotAnImageError as error:
            # The AP answers before it decodes: the client never hears of the failure.
            self._say("errMsg", f"{tag.mac}: {error}")
            return UploadAnswer(200, "Ok, saved")
        digest = hashlib.md5(raw).hexdigest()
        if digest == tag.record_md5:
            self._say("logMsg", f"{tag.mac}: new image is the same as current image")
            return UploadAnswer(200, "Ok, saved")
        if self._radio_mac == tag.mac:
            self._radio_mac = None  # the old transfer is abandoned; the tag keeps its image
        tag.stored_raw = raw
        tag.record_md5 = digest
        tag.content_mode = _EXTERNAL_IMAGE
        # The first 8 bytes of the MD5 are the data version the tag compares at check-in.
        tag.pending = digest[:16] != tag.shown_md5[:16]
        tag.pending_since = now
        self._publish_tag(tag)
        return UploadAnswer(200, "Ok, saved")

    def current_raw(self, mac: str) -> bytes | None:
        """`/current/<mac>.raw`: the image the AP stores for the tag."""
        tag = self.tags.get(mac.upper())
        return None if tag is None else tag.stored_raw

    def led_flash(self, mac: str, pattern: str) -> UploadAnswer:
        tag = self.tags.get(mac.upper())
        if tag is None:
            return UploadAnswer(400, "Error: mac not found")
        if len(pattern) != 24 or any(c not in "0123456789abcdefABCDEF" for c in pattern):
            return UploadAnswer(400, "Error: pattern is 24 hex characters")
        if int(pattern[1], 16) > 1:  # the mode nibble: 0 off, 1 flash
            return UploadAnswer(400, "Error: unknown LED mode")
        tag.commands.append(f"led:{pattern.lower()}")
        return UploadAnswer(200, "ok")

    def tag_command(self, mac: str, command: str, *, now: float) -> UploadAnswer:
        tag = self.tags.get(mac.upper())
        if tag is None:
            return UploadAnswer(400, "Error: mac not found")
        if command == "del":
            del self.tags[tag.mac]
        elif command == "clear":
            tag.pending = False
        elif command == "refresh":
            # The tag is made to take its image again (it forgets its data version) and
            # hears "refresh" at its next check-in, where it also fetches the image.
            tag.pending = tag.stored_raw is not None
            tag.pending_since = now if tag.pending else tag.pending_since
            tag.shown_md5 = NO_HASH if tag.pending else tag.shown_md5
            tag.commands.append(command)
            self._publish_tag(tag)
        elif command in _QUEUED_COMMANDS:
            tag.commands.append(command)
        else:
            return UploadAnswer(400, "Error: unknown command")
        return UploadAnswer(200, "Ok, done")

    def save_config(self, mac: str, fields: dict[str, str]) -> UploadAnswer:
        """`/save_cfg`: answers 200 even when it fails (the error is in the body)."""
        tag = self.tags.get(mac.upper())
        if tag is None:
            return UploadAnswer(200, "Error while saving: mac not found")
        if "alias" in fields:
            tag.alias = fields["alias"]
        if "contentmode" in fields and fields["contentmode"].isdigit():
            tag.content_mode = int(fields["contentmode"])
        return UploadAnswer(200, "Ok, saved")

    # ------------------------------------------------------------ time

    def advance(self, *, now: float) -> None:
        """Let the radio and the tags' timers run up to `now`."""
        if self._radio_mac is not None and now >= self._radio_free_at:
            self._finish_transfer(now)
        for tag in sorted(self.tags.values(), key=lambda t: t.next_checkin):
            if now < tag.next_checkin:
                break
            tag.next_checkin = now + self.config.check_in_interval_s
            if tag.checks_in:
                self._check_in(tag, now)
        for tag in self.tags.values():
            if tag.pending and now - tag.pending_since > self.config.pending_expiry_s:
                tag.pending = False
                self._say("errMsg", f"{tag.mac}: pending image dropped, the tag never fetched it")
                self._publish_tag(tag)

    def _check_in(self, tag: EmulatedTag, now: float) -> None:
        tag.last_seen = now
        # Commands (LED patterns, reboot, ...) ride on the check-in answer.
        tag.delivered.extend(tag.commands)
        tag.commands.clear()
        if tag.pending and tag.stored_raw is not None:
            if tag.record_md5[:16] == tag.shown_md5[:16]:
                tag.pending = False  # the tag already holds this data version: "complete"
            elif self._radio_mac is None:
                self._radio_mac = tag.mac
                size = transfer_size(tag.stored_raw, zlib_transfers=self.config.zlib_transfers)
                self._radio_free_at = now + size / self.config.radio_bytes_per_s
        self._publish_tag(tag)

    def _finish_transfer(self, now: float) -> None:
        tag = self.tags.get(self._radio_mac or "")
        self._radio_mac = None
        if tag is None or tag.stored_raw is None:
            return
        tag.shown_raw = tag.stored_raw
        tag.shown_md5 = tag.record_md5
        tag.pending = False
        tag.update_count += 1
        tag.update_last = now
        self.transfers += 1
        self.bytes_sent += transfer_size(tag.stored_raw, zlib_transfers=self.config.zlib_transfers)
        self._publish_tag(tag)

    # ------------------------------------------------------------ websocket messages

    def _publish_tag(self, tag: EmulatedTag) -> None:
        self._emit({"tags": [tag.record()]})

    def _say(self, kind: str, text: str) -> None:
        self.log.append(text)
        self._emit({kind: text})

    def _emit(self, message: dict[str, Any]) -> None:
        for listener in list(self._listeners):
            listener(message)


def transfer_size(raw: bytes, *, zlib_transfers: bool) -> int:
    """Bytes the radio carries for an image: OEPL's own encoding of it."""
    return 4 + len(zlib.compress(raw, 9)) if zlib_transfers else len(raw)


class _NotAnImageError(ValueError):
    pass


def _palette(spec: TagTypeSpec) -> list[tuple[str, tuple[int, int, int]]]:
    table: dict[str, list[int]] = spec["colortable"]
    return [(name, (rgb[0], rgb[1], rgb[2])) for name, rgb in table.items()]


def raw_from_jpeg(image: bytes, spec: TagTypeSpec, *, dither: int) -> bytes:
    """What the AP makes of an upload: each pixel mapped to a panel colour, as planes."""
    if not image.startswith(b"\xff\xd8"):
        raise _NotAnImageError("not a JPEG image")
    try:
        with Image.open(io.BytesIO(image)) as opened:
            rgb = opened.convert("RGB")
    except (UnidentifiedImageError, OSError) as error:
        raise _NotAnImageError(f"unreadable JPEG ({error})") from None
    width, height = spec["width"], spec["height"]
    if rgb.size != (width, height):
        # The AP does not scale; we refuse rather than draw garbage, and say why.
        raise _NotAnImageError(f"image is {rgb.size[0]}x{rgb.size[1]}, the tag is {width}x{height}")
    palette = _palette(spec)
    colours = np.array([rgb for _, rgb in palette], dtype=np.int32)
    if dither == 0:
        pixels = np.asarray(rgb, dtype=np.int32)
        distances = ((pixels[:, :, None, :] - colours[None, None, :, :]) ** 2).sum(axis=3)
        indices = distances.argmin(axis=2)
    else:
        reference = Image.new("P", (1, 1))
        reference.putpalette([c for _, rgb in palette for c in rgb] * (256 // len(palette)))
        indices = np.asarray(rgb.quantize(palette=reference, dither=Image.Dither.FLOYDSTEINBERG))
        indices = indices % len(palette)
    names = [name for name, _ in palette]
    black = np.packbits(indices == names.index("black"), axis=1).tobytes()
    if spec["bpp"] == 1:
        return black
    accent_index = next(i for i, name in enumerate(names) if name not in ("white", "black"))
    return black + np.packbits(indices == accent_index, axis=1).tobytes()


def planes_from_raw(raw: bytes, spec: TagTypeSpec) -> Planes:
    width, height = spec["width"], spec["height"]
    size = (width + 7) // 8 * height
    accent = raw[size : 2 * size] if spec["bpp"] == 2 else None
    return Planes(width=width, height=height, black=raw[:size], accent=accent)
