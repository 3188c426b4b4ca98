"""A simulated electronic shelf label: the firmware's state machine, framebuffer and battery.

The label speaks the real protocol (`gateways.protocol`) and decodes images with the real
decoder (`rendering.encoding`), so a test that drives it exercises the controller's own
bytes. Time is a parameter: every entry point takes `now`, and timers (a refresh in
progress, a scheduled flip, the ESL synchronisation timeouts) are settled lazily when the
label is next asked something.

States follow the ESL Service:

    UNASSOCIATED --associate(key)--> CONFIGURED --first valid frame or sync--> SYNCHRONIZED
    SYNCHRONIZED --refresh starts--> UPDATING --refresh done--> SYNCHRONIZED
    SYNCHRONIZED --60 min without a valid message--> UNSYNCHRONIZED --valid message--> SYNCHRONIZED
    UNSYNCHRONIZED --60 more minutes--> UNASSOCIATED (key deleted; the display keeps its image)

Whatever bytes arrive, an associated label answers with a signed response and, unless the
frame verified and asked for it, leaves the display as it was.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from firmware_sim.hardware import LabelHardware
from firmware_sim.images import ImageStore
from gateways.protocol import (
    NO_OPCODE,
    BasicStateFlag,
    Command,
    FlashLed,
    FrameKind,
    ImageUpdate,
    LabelFrame,
    LabelResponse,
    LabelState,
    Ping,
    ReasonCode,
    RefreshDisplay,
    SetClock,
    SwitchPage,
    Unassociate,
    check_label_key,
    encode_response,
    from_wire_ms,
    to_wire_ms,
)
from gateways.protocol.label_checks import (
    Refusal,
    Repeated,
    check_frame,
    check_image,
    clock_offset_ms,
)
from rendering.encoding import Planes, image_from_planes

__all__ = [
    "FIRMWARE_VERSION",
    "SYNC_TIMEOUT_MS",
    "LabelSnapshot",
    "SimulatedLabel",
    "link_quality",
]

FIRMWARE_VERSION: Final = "1.0.0"
# ESL Service: Unsynchronized after 60 min without a valid message, keys deleted after 60 more.
SYNC_TIMEOUT_MS: Final = 60 * 60 * 1000
UNASSOCIATE_TIMEOUT_MS: Final = 60 * 60 * 1000


@dataclass(frozen=True, slots=True)
class LabelSnapshot:
    """Everything a label keeps across a power cycle, as plain values (for persistence).

    Images are referenced by content hash; the caller stores their planes once.
    """

    label_id: str
    model_id: str
    key: bytes | None
    last_sequence: int
    last_mac: bytes
    last_response: bytes
    battery_nv: int
    shown_hash: bytes | None
    shown_page: int
    page_hashes: tuple[bytes | None, ...]
    scheduled_page: int | None
    scheduled_at_ms: int
    clock_offset_ms: int
    last_contact_ms: int
    busy_until_ms: int
    led_until_ms: int
    rssi_dbm: int
    temperature_tenths_c: int
    refreshes: int
    # A digest of the key the sequence counter was kept under (None: no counter yet).
    counter_key: bytes | None = None


# The snapshot fields a label holds under the same name and type: copied both ways by name.
# (The key, the model and the images are held otherwise and mapped by hand.)
_KEPT_AS_IS: Final = (
    "last_sequence",
    "last_mac",
    "last_response",
    "battery_nv",
    "shown_page",
    "scheduled_page",
    "scheduled_at_ms",
    "clock_offset_ms",
    "last_contact_ms",
    "busy_until_ms",
    "led_until_ms",
    "rssi_dbm",
    "temperature_tenths_c",
    "refreshes",
    "counter_key",
)


class SimulatedLabel:
    """One label. Mutable on purpose: it is a device, and thousands share one process."""

    __slots__ = (
        "_images",
        "_key",
        "battery_nv",
        "busy_until_ms",
        "clock_offset_ms",
        "counter_key",
        "hardware",
        "label_id",
        "last_contact_ms",
        "last_mac",
        "last_response",
        "last_sequence",
        "led_until_ms",
        "page_hashes",
        "pages",
        "refreshes",
        "rssi_dbm",
        "scheduled_at_ms",
        "scheduled_page",
        "service_needed",
        "shown",
        "shown_hash",
        "shown_page",
        "temperature_tenths_c",
    )

    def __init__(
        self,
        *,
        label_id: str,
        hardware: LabelHardware,
        key: bytes | None,
        now: datetime,
        images: ImageStore | None = None,
        rssi_dbm: int = -60,
        temperature_tenths_c: int = 210,
    ) -> None:
        now_ms = to_wire_ms(now)
        self.label_id = label_id
        self.hardware = hardware
        self._key = None if key is None else check_label_key(key)
        self.counter_key = None if key is None else _key_digest(key)
        self._images = images
        self.last_sequence = 0
        self.last_mac = b""
        self.last_response = b""
        self.battery_nv = hardware.power.full_nv
        self.shown: Planes | None = None
        self.shown_hash: bytes | None = None
        self.shown_page = 0
        self.pages: list[Planes | None] = [None] * hardware.pages
        self.page_hashes: list[bytes | None] = [None] * hardware.pages
        self.scheduled_page: int | None = None
        self.scheduled_at_ms = 0
        self.clock_offset_ms = 0
        # A freshly associated label counts as just synchronised by its configuring AP.
        self.last_contact_ms = now_ms
        self.busy_until_ms = 0
        self.led_until_ms = 0
        self.rssi_dbm = rssi_dbm
        self.temperature_tenths_c = temperature_tenths_c
        self.refreshes = 0
        self.service_needed = False

    # ------------------------------------------------------------ observation

    @property
    def associated(self) -> bool:
        return self._key is not None

    @property
    def battery_mv(self) -> int:
        return self.battery_nv // 1_000_000

    def state(self, *, now: datetime) -> LabelState:
        now_ms = to_wire_ms(now)
        self._settle(now_ms)
        return self._state(now_ms)

    def display_png(self, *, now: datetime | None = None) -> bytes:
        """A PNG of exactly the pixels on the panel (white when nothing was ever shown)."""
        if now is not None:
            self._settle(to_wire_ms(now))
        model = self.hardware.model
        planes = self.shown or Planes(
            width=model.width,
            height=model.height,
            black=bytes(((model.width + 7) // 8) * model.height),
            accent=bytes(((model.width + 7) // 8) * model.height) if model.has_accent else None,
        )
        buffer = io.BytesIO()
        image_from_planes(planes, palette=model.palette).save(buffer, format="PNG")
        return buffer.getvalue()

    # ------------------------------------------------------------ life cycle

    def associate(self, key: bytes, *, now: datetime) -> None:
        """Configure the label with its key (the ESL Configuring step, done out of band).

        Associated again with the key its sequence counter was kept under, it keeps the
        counter: every frame ever signed with that key stays a replay. Only a new key
        starts the count again (frames signed with the old one fail their MAC)."""
        self._key = check_label_key(key)
        digest = _key_digest(key)
        if digest != self.counter_key:
            self.last_sequence = 0
            self.last_mac = b""
            self.last_response = b""
            self.counter_key = digest
        self.last_contact_ms = to_wire_ms(now)

    def set_battery_mv(self, millivolts: int) -> None:
        self.battery_nv = millivolts * 1_000_000

    def check_in(self, *, now: datetime) -> bool:
        """Wake up and transmit a check-in; False when the label cannot talk at all."""
        now_ms = to_wire_ms(now)
        self._settle(now_ms)
        if self._key is None or self._browned_out():
            return False
        self._drain(self.hardware.power.check_in_nv + self.hardware.power.transmit_nv)
        return True

    def status_report(self, *, now: datetime) -> bytes | None:
        """A signed CHECK_IN message with the label's health; None when it cannot sign."""
        now_ms = to_wire_ms(now)
        self._settle(now_ms)
        if self._key is None:
            return None
        response = self._response(
            now_ms,
            sequence=self.last_sequence,
            reason=ReasonCode.SUCCESS,
            opcode=NO_OPCODE,
            kind=FrameKind.CHECK_IN,
        )
        return encode_response(response, key=self._key)

    def signed_refusal(
        self, sequence: int, opcode: int, reason: ReasonCode, *, now: datetime
    ) -> LabelResponse:
        """The label's refusal of a frame of its own (`sequence`, `opcode`) that another
        layer turned down (the BLE control point), as the label builds every answer: its
        clock, flags and state."""
        now_ms = to_wire_ms(now)
        self._settle(now_ms)
        return self._response(now_ms, sequence=sequence, reason=reason, opcode=opcode)

    def synchronize(self, *, now: datetime) -> None:
        """The gateway answered a check-in: the label is in sync again."""
        now_ms = to_wire_ms(now)
        self._settle(now_ms)
        if self._key is not None:
            self.last_contact_ms = now_ms

    # ------------------------------------------------------------ the radio receive path

    def receive(self, data: bytes, *, now: datetime) -> bytes | None:
        """Handle one frame; return the signed response, or None when the label is silent."""
        now_ms = to_wire_ms(now)
        self._settle(now_ms)
        key = self._key
        if key is None or self._browned_out():
            return None
        power = self.hardware.power
        self._drain(power.receive_nv_per_kib * (len(data) + 1023) // 1024 + power.transmit_nv)
        last = (self.last_sequence, self.last_mac)
        checked = check_frame(data, key=key, label_id=self.label_id, last=last)
        match checked:
            case Repeated():
                # The same frame again (a radio retry whose ack was lost): same answer.
                return self.last_response
            case Refusal(sequence=sequence, reason=reason, opcode=opcode):
                nack = self._response(now_ms, sequence=sequence, reason=reason, opcode=opcode)
                return encode_response(nack, key=key)
        frame = checked.frame
        self.last_contact_ms = now_ms
        if now_ms < self.busy_until_ms:
            return self._answer(now_ms, frame, ReasonCode.RETRY, remember=None)
        reason = self._execute(frame.command, now_ms)
        response = self._answer(
            now_ms, frame, reason, remember=None if reason.is_transient else checked.mac
        )
        if isinstance(frame.command, Unassociate) and reason is ReasonCode.SUCCESS:
            self._key = None
        return response

    def _answer(
        self, now_ms: int, frame: LabelFrame, reason: ReasonCode, *, remember: bytes | None
    ) -> bytes:
        assert self._key is not None
        response = self._response(
            now_ms, sequence=frame.sequence, reason=reason, opcode=frame.opcode
        )
        encoded = encode_response(response, key=self._key)
        if remember is not None:
            # Only an answer that settles the frame is remembered: a transient refusal
            # (busy, battery) lets the gateway deliver the very same frame again later.
            self.last_sequence = frame.sequence
            self.last_mac = remember
            self.last_response = encoded
        return encoded

    def _execute(self, command: Command, now_ms: int) -> ReasonCode:
        match command:
            case Ping() | Unassociate():
                return ReasonCode.SUCCESS
            case SetClock(at=at):
                offset_ms = clock_offset_ms(at, now_ms=now_ms)
                if offset_ms is None:
                    return ReasonCode.IMPLAUSIBLE_ABSOLUTE_TIME
                if self.scheduled_page is not None:
                    # A timed image waits for its instant on the label's clock: a clock
                    # set forward or back moves the flip with it.
                    self.scheduled_at_ms += self.clock_offset_ms - offset_ms
                self.clock_offset_ms = offset_ms
                return ReasonCode.SUCCESS
            case FlashLed(duration_s=duration_s):
                self.led_until_ms = now_ms + duration_s * 1000
                return ReasonCode.SUCCESS
            case RefreshDisplay():
                if self.shown is None:
                    return ReasonCode.IMAGE_NOT_AVAILABLE
                if not self._can_refresh():
                    return ReasonCode.INSUFFICIENT_BATTERY
                # The image on the panel, not its page: a timed image held for a later
                # flip may already be stored in that page.
                self._redraw(now_ms)
                return ReasonCode.SUCCESS
            case SwitchPage(page=page, display_at=display_at):
                if page >= len(self.pages):
                    return ReasonCode.INVALID_IMAGE_INDEX
                if self.pages[page] is None:
                    return ReasonCode.IMAGE_NOT_AVAILABLE
                return self._show(page, display_at, now_ms)
            case ImageUpdate():
                return self._store_image(command, now_ms)
        return ReasonCode.INVALID_OPCODE  # pragma: no cover - every command is matched

    def _store_image(self, update: ImageUpdate, now_ms: int) -> ReasonCode:
        model = self.hardware.model
        if update.model_id != model.id:
            return ReasonCode.WRONG_MODEL
        if update.page >= len(self.pages):
            return ReasonCode.INVALID_IMAGE_INDEX
        if (
            update.display_at is None
            and update.page == self.shown_page
            and update.content_hash == self.shown_hash
            and self.scheduled_page is None
        ):
            # Already on the panel: say so without redrawing. An unneeded refresh is the
            # most expensive thing a label can do to its battery.
            return ReasonCode.SUCCESS
        if update.display_at is None and not self._can_refresh():
            return ReasonCode.INSUFFICIENT_BATTERY
        image = check_image(
            update,
            panel=(model.width, model.height, model.has_accent),
            shown=self.shown,
            shown_hash=self.shown_hash,
        )
        if isinstance(image, ReasonCode):
            return image
        planes, digest = image.planes, image.digest
        if self._images is not None:
            planes = self._images.intern(digest, planes)
        self.pages[update.page] = planes
        self.page_hashes[update.page] = digest
        return self._show(update.page, update.display_at, now_ms)

    def _show(self, page: int, display_at: datetime | None, now_ms: int) -> ReasonCode:
        if display_at is not None:
            # Label clock = simulation clock + offset; a flip already due happens now.
            due_ms = to_wire_ms(display_at) - self.clock_offset_ms
            if due_ms > now_ms:
                self.scheduled_page = page
                self.scheduled_at_ms = due_ms
                return ReasonCode.SUCCESS
        if not self._can_refresh():
            return ReasonCode.INSUFFICIENT_BATTERY
        self.scheduled_page = None
        self._refresh(page, now_ms)
        return ReasonCode.SUCCESS

    def _refresh(self, page: int, start_ms: int) -> None:
        self.shown = self.pages[page]
        self.shown_hash = self.page_hashes[page]
        self.shown_page = page
        self._redraw(start_ms)

    def _redraw(self, start_ms: int) -> None:
        """Drive the panel with `shown` (a refresh: busy, and the battery pays for it)."""
        self.busy_until_ms = start_ms + self.hardware.refresh_ms
        self.refreshes += 1
        self._drain(self.hardware.refresh_cost_nv)

    # ------------------------------------------------------------ timers and power

    def _settle(self, now_ms: int) -> None:
        if self.scheduled_page is not None and now_ms >= self.scheduled_at_ms:
            page, due_ms = self.scheduled_page, self.scheduled_at_ms
            self.scheduled_page = None
            if self._can_refresh() and self.pages[page] is not None:
                self._refresh(page, due_ms)
            else:
                self.service_needed = True
        if self._key is not None:
            silent_ms = now_ms - self.last_contact_ms
            if silent_ms > SYNC_TIMEOUT_MS + UNASSOCIATE_TIMEOUT_MS:
                self._key = None

    def _state(self, now_ms: int) -> LabelState:
        if self._key is None:
            return LabelState.UNASSOCIATED
        if now_ms < self.busy_until_ms:
            return LabelState.UPDATING
        if now_ms - self.last_contact_ms > SYNC_TIMEOUT_MS:
            return LabelState.UNSYNCHRONIZED
        if self.last_sequence == 0 and self.shown is None:
            return LabelState.CONFIGURED
        return LabelState.SYNCHRONIZED

    def _flags(self, now_ms: int, state: LabelState) -> BasicStateFlag:
        flags = BasicStateFlag.NONE
        if self.service_needed or not self._can_refresh():
            flags |= BasicStateFlag.SERVICE_NEEDED
        if state in (LabelState.SYNCHRONIZED, LabelState.UPDATING):
            flags |= BasicStateFlag.SYNCHRONIZED
        if now_ms < self.led_until_ms:
            flags |= BasicStateFlag.ACTIVE_LED
        if self.scheduled_page is not None:
            flags |= BasicStateFlag.PENDING_DISPLAY_UPDATE
        return flags

    def _can_refresh(self) -> bool:
        return self.battery_nv >= self.hardware.power.min_refresh_nv

    def _browned_out(self) -> bool:
        return self.battery_nv < self.hardware.power.brownout_nv

    def _drain(self, nanovolts: int) -> None:
        self.battery_nv = max(0, self.battery_nv - nanovolts)

    def _response(
        self,
        now_ms: int,
        *,
        sequence: int,
        reason: ReasonCode,
        opcode: int,
        kind: FrameKind = FrameKind.RESPONSE,
    ) -> LabelResponse:
        state = self._state(now_ms)
        return LabelResponse(
            label_id=self.label_id,
            sequence=sequence,
            reason=reason,
            state=state,
            flags=self._flags(now_ms, state),
            displayed_hash=self.shown_hash,
            page=self.shown_page,
            battery_mv=min(self.battery_mv, 0xFFFF),
            rssi_dbm=self.rssi_dbm,
            lqi=link_quality(self.rssi_dbm),
            temperature_tenths_c=self.temperature_tenths_c,
            firmware=FIRMWARE_VERSION,
            label_time=from_wire_ms(max(0, now_ms + self.clock_offset_ms)),
            opcode=opcode,
            kind=kind,
        )

    # ------------------------------------------------------------ persistence

    def snapshot(self) -> LabelSnapshot:
        return LabelSnapshot(
            label_id=self.label_id,
            model_id=self.hardware.model.id,
            key=self._key,
            shown_hash=self.shown_hash,
            page_hashes=tuple(self.page_hashes),
            **{name: getattr(self, name) for name in _KEPT_AS_IS},
        )

    @classmethod
    def restore(
        cls,
        snapshot: LabelSnapshot,
        *,
        hardware: LabelHardware,
        images: ImageStore,
        now: datetime,
    ) -> SimulatedLabel:
        """Rebuild a label from its snapshot; `images` must hold every hash it names."""
        label = cls(
            label_id=snapshot.label_id,
            hardware=hardware,
            key=snapshot.key,
            now=now,
            images=images,
        )
        for name in _KEPT_AS_IS:
            setattr(label, name, getattr(snapshot, name))
        if label.counter_key is None and snapshot.key is not None:
            label.counter_key = _key_digest(snapshot.key)  # saved before it was kept
        label.shown = None if snapshot.shown_hash is None else images.get(snapshot.shown_hash)
        label.shown_hash = None if label.shown is None else snapshot.shown_hash
        for index, digest in enumerate(snapshot.page_hashes[: hardware.pages]):
            label.pages[index] = None if digest is None else images.get(digest)
            label.page_hashes[index] = None if label.pages[index] is None else digest
        return label


def _key_digest(key: bytes) -> bytes:
    """What a label keeps of a key it no longer holds: enough to know it again."""
    return hashlib.blake2b(key, digest_size=16, person=b"esl-counter-key").digest()


def link_quality(rssi_dbm: int) -> int:
    """Link quality 0-255 from RSSI, linear between -100 dBm (0) and -40 dBm (255)."""
    return max(0, min(255, (rssi_dbm + 100) * 255 // 60))
