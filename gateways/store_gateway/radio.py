"""The small interfaces a store gateway process drives its labels through.

`LabelRadio`, for labels that cannot sign (OpenEPaperLink tags): the radio reaches them
by their radio address (the tag's MAC) and says, for each thing it did, what it learnt
about the label's health; the process verifies frames and signs answers for them
(`label_stand_in`). `gateways.oepl.radio.OeplRadio` is one; showing the image a label
holds draws nothing, the radio's `redraw` (a Refresh Display frame) draws it again.

`SelfSigningRadio`, for labels that verify frames and sign their answers themselves
(Bluetooth ESL labels): the process relays the frame's bytes and the label's signed
answer and holds no keys (`relay`). `gateways.ble.store_radio.BleStoreRadio` is one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from gateways.errors import GatewayError
from gateways.protocol.reasons import ReasonCode
from rendering.encoding import Planes

__all__ = ["LabelHealth", "LabelRadio", "RadioError", "SelfSigningRadio"]


@dataclass(frozen=True, slots=True)
class LabelHealth:
    """What the radio last heard from a label (0 where it does not say)."""

    battery_mv: int = 0
    rssi_dbm: int = 0
    lqi: int = 0
    temperature_tenths_c: int = 0
    last_seen_s: float = 0.0  # seconds since the epoch; 0: never
    # The radio's own fingerprint of what the label holds ("" when it cannot tell): if
    # it changes without us, someone else drew on the label.
    holds: str = ""
    settled: bool = True  # False while the radio still has something on the way to it
    # How many images the label has taken, as the radio counts them (None: it cannot
    # tell), and when it took the last one (the radio's clock, whole seconds since the
    # epoch; None: it cannot tell). The pair marks the label's last update: when it is
    # not the one of our last delivery, the label took someone else's image, even when
    # `holds` is ours again (the radio's record can be put back, the label's pixels
    # cannot), or the radio's count started again (the label forgotten and back, the
    # radio restarted): the same count again is not the same update.
    updates: int | None = None
    updated_s: int | None = None
    # The radio has not heard the label for longer than it calls it alive (a ping of it
    # goes unanswered): it is not reported as heard, whatever its stamp.
    silent: bool = False
    # The radio heard the label again after such a silence and confirmed no delivery to
    # it since: it may have been at another radio meanwhile (an OEPL tag roams to the
    # AP of the best signal) and taken an image there, so what it shows is not known.
    returned: bool = False


class RadioError(GatewayError):
    """The radio did not get it done. `final`: the label refused it for good (wrong size,
    unknown address); otherwise the same request may succeed later (never checked in,
    access point busy or unreachable). `attempts`: how often the radio tried. `refusal`:
    the reason code the stand-in signs for a final refusal (`WRONG_MODEL` for a panel of
    another display model than the image's; else `UNSPECIFIED_ERROR`)."""

    code = "radio_error"

    def __init__(
        self,
        *,
        address: str,
        reason: str,
        final: bool,
        attempts: int = 1,
        refusal: ReasonCode = ReasonCode.UNSPECIFIED_ERROR,
    ) -> None:
        super().__init__(
            f"label {address}: {reason}",
            address=address,
            reason=reason,
            final=final,
            attempts=attempts,
            refusal=refusal.name,
        )
        self.final = final
        self.reason = reason
        self.attempts = attempts
        self.refusal = refusal


class LabelRadio(ABC):
    @abstractmethod
    async def show(self, address: str, planes: Planes, *, model: str) -> LabelHealth:
        """Return once the label holds exactly `planes`, drawn for the display model
        `model`, on its panel; a final `RadioError` refusing `WRONG_MODEL` when the radio
        knows the label as another model (its panel would draw them in other colours)."""

    async def redraw(
        self, address: str, planes: Planes, *, model: str, for_update: bool = False
    ) -> LabelHealth:
        """The label holds `planes` and is asked to draw them again (a refresh). A radio
        whose labels redraw whatever they are sent needs nothing more than `show`.
        `for_update`: not a refresh asked (Refresh Display, the label must draw) but an
        image update for a label whose image is not known here; a radio may then count an
        image it asked the label to take for an earlier try and saw it take."""
        return await self.show(address, planes, model=model)

    async def ping(self, address: str) -> LabelHealth:
        """What the radio heard from the label lately, for a ping's answer; `RadioError`
        when it has not heard from it (the answer is then silence). Nothing (zeros) from a
        radio that cannot tell."""
        return LabelHealth()

    @abstractmethod
    async def flash_led(self, address: str, *, colour: int, pattern: int, seconds: int) -> None:
        """Ask the label to flash its LED (ESL colour and pattern numbers)."""

    @abstractmethod
    async def health(self) -> dict[str, LabelHealth]:
        """What the radio knows of each label it can reach, by address."""

    @abstractmethod
    async def close(self) -> None:
        """Let go of the radio."""


class SelfSigningRadio(ABC):
    @abstractmethod
    async def exchange(self, label_id: str, frame: bytes) -> bytes:
        """Deliver one signed frame as it is; return the label's own signed answer (a
        refusal the label signs is an answer). `RadioError` when the label gave none."""

    @abstractmethod
    async def health(self) -> dict[str, LabelHealth]:
        """What the radio heard of each label between frames, by address (may be empty:
        such labels report their health in the answers they sign)."""

    @abstractmethod
    async def reach(self, label_id: str) -> bytes | None:
        """Check that the label is within reach again (one short exchange, nothing
        signed); `RadioError` when it is not. When the label held a whole frame the radio
        had sent it and carried it out on the way, that frame's signed answer (the
        process sends it up like any answer); else None."""

    @abstractmethod
    async def close(self) -> None:
        """Let go of the radio."""
