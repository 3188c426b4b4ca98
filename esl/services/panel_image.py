"""What a label's panel shows, as far as the controller knows: the one rule by which the
audit judges a shelf and the console draws and names it.

The label's own last word (`label_states.displayed_hash`, what settlement believed of
its check-ins and answers) wins over the image the record confirms (`confirmed_hash`:
the last frame it acknowledged, shown or held for a timed flip). They differ while a
label that drew a frame whose answer was lost has a newer update on its way, or while it
holds a timed image (it shows the image of now until the instant). One exception: a
timed image it holds whose instant has passed, with no believed answer of it signed
since on its clock; it flipped to it by itself, unheard. What it holds is the label's
fact (`label_states.held_hash`, `held_display_at`, kept by `esl.pipeline.held_flips`
from its acknowledgement of the timed frame), not the plan's: a flip withdrawn or moved
later while the label was out of reach, its cancelling image never delivered, still
happens on the panel. Judged by the plan (the confirmed image being the planned one, at
the planned instant), the audit said `match` on a shelf showing a promotion no longer
due (`tests/pipeline/test_withdrawn_flip_audit.py`). It flips by its own clock: when the
controller knows that clock off (`label_states.clock_offset_ms`, kept from its newest
answer by `label_clocks` until a SetClock puts it right), the flip is counted at the
instant that clock reaches the timed image's, ten minutes after it for a clock ten
minutes behind, ten minutes before for one ahead. Counted at the instant alone, a label
ten minutes slow was called flipped, and the audit said `match`, while its panel kept
the old price (`tests/pipeline/test_wire_clock_behind_without_check_ins.py`).

FLIPPED is the controller's count, not the label's word: a label whose battery sagged
below a refresh skips the flip. The audit weighs the image before beside it
(`label_reads.Seen.before_flip`: `unconfirmed`, never `match`, until the label is heard),
and the controller pings such a label soon after the instant (`label_keepalive`).

The label's own word signed at or past the instant (the hold forgotten, `held_flips`)
that shows another image than the timed one the record confirms says it did not flip
(`said_not_flipped`): its panel is that word's image (REPORTED), no view calls it up to
date, and the periodic pass plans the due image again (`check_ins`). Before, a check-in a
minute after the instant showing the price before was "expected" (its clock may lag) and
then nothing looked at it again: the shelf kept the old price while the console and
health said up to date (`tests/pipeline/test_console_state_against_the_audit.py`).

Drawing the confirmed image beside "pending" showed staff a price the panel did not show
(`tests/pipeline/test_console_shows_what_the_label_reported.py`).

Pure: hashes and instants in, a verdict out; no database, no clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

__all__ = ["PanelImage", "PanelSource", "flip_instant", "panel_image", "said_not_flipped"]


class PanelSource(StrEnum):
    CONFIRMED = "confirmed"  # the record's image; the label's last word agrees, or is unknown
    REPORTED = "reported"  # the label's last word, which the record does not confirm
    FLIPPED = "flipped"  # the timed image it holds, its instant passed since last heard


class PanelImage(NamedTuple):
    digest: str | None  # the content hash of the image on the panel (None: not known)
    source: PanelSource


def panel_image(
    *,
    confirmed: str | None,
    displayed: str | None,
    held: str | None,
    held_at: datetime | None,
    at: datetime,
    clock_offset_ms: int | None,
) -> PanelImage:
    """The image the label's panel shows at `at`, and whose word that is.

    `held`, `held_at`: the timed image the label holds and its instant on its clock
    (None: none held). `clock_offset_ms`: the label's clock minus the controller's, when
    known off (None: right as far as known)."""
    # Whether the label was heard since its flip is its own clock's word, not the
    # arrival's: a believed answer signed at or past the instant forgets the hold
    # (`held_flips.note_heard_at`), and one signed before it, arriving late (a gateway's
    # backlog), says nothing of the flip. Judged by when it arrived, such a check-in hid
    # the flip: `match` on a withdrawn promotion's price, or `stale` on a due one
    # (`tests/pipeline/test_withdrawn_flip_audit.py`).
    flips_at = None if held_at is None else flip_instant(held_at, clock_offset_ms)
    if flips_at is not None and held is not None and flips_at <= at:
        return PanelImage(held, PanelSource.FLIPPED)
    if displayed is not None and displayed != confirmed:
        return PanelImage(displayed, PanelSource.REPORTED)
    return PanelImage(confirmed, PanelSource.CONFIRMED)


def flip_instant(display_at: datetime, clock_offset_ms: int | None) -> datetime:
    """The controller's instant at which a label whose clock is `clock_offset_ms` off
    (None: right) reaches `display_at` on that clock."""
    if not clock_offset_ms:
        return display_at
    try:
        return display_at - timedelta(milliseconds=clock_offset_ms)
    except OverflowError:  # a clock wildly off: never, or long ago
        if clock_offset_ms < 0:
            return datetime.max.replace(tzinfo=display_at.tzinfo)
        return datetime.min.replace(tzinfo=display_at.tzinfo)


def said_not_flipped(
    *,
    confirmed: str | None,
    displayed: str | None,
    display_at: datetime | None,
    held_at: datetime | None,
    at: datetime,
    clock_offset_ms: int | None,
) -> bool:
    """Whether the label said, after the flip to the timed image the record confirms
    (`confirmed`, planned for `display_at`), that it shows another image (`displayed`):
    the instant has passed by `at` on its clock, and it holds no flip (`held_at` None: a
    believed answer signed at or past the instant forgot the hold, `held_flips`), so
    its word is newer than the flip. A label whose battery sagged below a refresh skips
    the flip and says so; the record must not count the flip done."""
    return (
        display_at is not None
        and held_at is None
        and displayed is not None
        and displayed != confirmed
        and flip_instant(display_at, clock_offset_ms) <= at
    )
