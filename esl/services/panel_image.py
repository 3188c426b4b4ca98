"""What a label's panel shows, as far as the controller knows: the one rule by which the
audit judges a shelf and the console draws and names it.

The label's own last word (`label_states.displayed_hash`, what settlement believed of its
check-ins and answers) wins over the image the record confirms (`confirmed_hash`: the last
frame it acknowledged, shown or held for a timed flip). They differ while a label that
drew a frame whose answer was lost has a newer update on its way, or while it holds a
timed image (it shows the image of now until the instant). One exception: a timed image
it confirmed whose instant has passed since it last reported; it flipped to it by itself,
unheard.

Drawing the confirmed image beside "pending" showed staff a price the panel did not show
(`tests/pipeline/test_console_shows_what_the_label_reported.py`).

Pure: hashes and instants in, a verdict out; no database, no clock.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

__all__ = ["PanelImage", "PanelSource", "panel_image"]


class PanelSource(StrEnum):
    CONFIRMED = "confirmed"  # the record's image; the label's last word agrees, or is unknown
    REPORTED = "reported"  # the label's last word, which the record does not confirm
    FLIPPED = "flipped"  # the timed image it confirmed, its instant passed since last heard


class PanelImage(NamedTuple):
    digest: str | None  # the content hash of the image on the panel (None: not known)
    source: PanelSource


def panel_image(
    *,
    confirmed: str | None,
    displayed: str | None,
    desired: str | None,
    display_at: datetime | None,
    last_seen: datetime | None,
    at: datetime,
) -> PanelImage:
    """The image the label's panel shows at `at`, and whose word that is."""
    if (
        display_at is not None
        and confirmed is not None
        and confirmed == desired
        and display_at <= at
        and (last_seen is None or last_seen < display_at)
    ):
        return PanelImage(confirmed, PanelSource.FLIPPED)
    if displayed is not None and displayed != confirmed:
        return PanelImage(displayed, PanelSource.REPORTED)
    return PanelImage(confirmed, PanelSource.CONFIRMED)
