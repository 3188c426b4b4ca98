"""What a label's panel may have shown at a past instant, read from the kept words and
the outbox as the live audit reads the label's state at that instant.

The live audit judges a panel by `esl.services.panel_image` (the label's last word, or
a timed image it holds whose instant has passed: it flipped by itself, unheard) and
weighs the frames signed after its newest believed answer, sent and unanswered (the
panel may show one, its answer lost). The past audit read only the last word, so it
said `match` where the live audit at the same instant did not: on a label that flipped
by itself to a promotion withdrawn while it was out of reach, and on one that drew a
frame whose answer was lost before the price went back
(`tests/audit/test_past_audit_after_a_timed_flip.py`,
`tests/audit/test_past_audit_of_a_frame_drawn_unheard.py`). Both are in the record:

- The flip: the newest image frame a label acknowledged by the instant (a believed
  word) is the one it holds or shows, as `esl.pipeline.held_flips` keeps it. A timed
  one whose instant has come by then (on the label's clock as last known) is counted on
  the panel when nothing the label said since can tell otherwise: no word since, or only
  words that arrived before the instant, or one that reports that image. Unless that
  word reports that image, the one it reports is weighed beside it (a flip the label
  could not draw, its battery sagged), so the audit says at best `unconfirmed` until a
  word after the instant (`test_timed_flip_a_label_cannot_draw_is_not_audited_as_drawn`).
  A word that arrived after the instant reporting another image may have been signed
  before the flip (a gateway's backlog) or after it (a label that lost its timed image): the kept
  word does not carry the label's clock, so the flip is weighed as a frame that may be
  on the panel (`UnansweredFrame`), and the audit says at best `unconfirmed`.
- The frames: those sent by the instant (their first send) with a later sequence than
  the label's newest believed word then, and not acknowledged by then (a frame answered
  after the instant was unanswered at it), a timed one once its instant had come.

Where the kept word is unknown (the record forgot the panel) none of this is read: the
audit says `unconfirmed` already.

Its health as the live audit read it, where nothing changed since: the battery the
label last reported when it has not been heard since the instant (the kept words do not
carry it), and its store gateway offline when its last status, offline, came by then.
So an instant a few seconds back reads as the live audit does.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from esl.audit.label_reads import (
    PanelWord,
    Seen,
    SentFrame,
    label_filters,
    last_panel_words,
    newest_words,
    past_seen,
)
from esl.db.models import (
    GatewayStateRow,
    LabelAcknowledgementRow,
    LabelRow,
    LabelStateRow,
    OutboxRow,
    core_table,
)
from esl.delivery_states import OutboxStatus, RecordedPanel
from esl.services.panel_image import flip_instant

__all__ = ["PastPanels", "past_panels"]

_acks = core_table(LabelAcknowledgementRow)
_outbox = core_table(OutboxRow)
_states = core_table(LabelStateRow)
_labels = core_table(LabelRow)
_gateways = core_table(GatewayStateRow)

# A believed word acknowledging an image frame: its image is on the panel, or held for
# its instant (a row kept before migration 0046 says neither way: taken as believed).
_ACKED_IMAGE = and_(
    or_(_acks.c.panel == RecordedPanel.REPORTED.value, _acks.c.panel.is_(None)),
    _acks.c.acked_hash.is_not(None),
)


class PastPanels(NamedTuple):
    seen: dict[str, Seen]  # label id -> what it showed at the instant, as far as known
    # label id -> frames that may be on its panel whatever it last said, newest first
    frames: dict[str, list[SentFrame]]


class _HeldFlip(NamedTuple):
    word_id: int  # the acknowledgement of the timed frame
    sequence: int
    content_hash: str
    flips_at: datetime  # on the controller's clock


def past_panels(
    session: Session, label_ids: Iterable[str], *, at: datetime, every: bool = False
) -> PastPanels:
    """What each of `label_ids` showed at the past instant `at`, and the frames that may
    be on its panel instead (module docstring). Every read asks for `label_ids` only, in
    chunks (`label_reads.label_filters`), and for the rows that can matter at `at`: a
    one-store past audit costs that store's labels, not the chain's. `every`: the audit
    covers every store, so each table is read once instead."""
    wanted = set(label_ids)
    words = last_panel_words(session, wanted, at=at, every=every)
    seen = past_seen(session, list(wanted), at=at, words=words, every=every)
    frames: dict[str, list[SentFrame]] = defaultdict(list)
    for label_id, flip in _held_flips(session, wanted, at=at, every=every).items():
        word = words.get(label_id)
        if word is None or word.forgotten or word.shown_hash is None or flip.flips_at > at:
            continue  # unknown or blank already; or not flipped yet: its last word says
        if _flipped_unheard(word, flip):
            seen[label_id] = seen[label_id]._replace(shown_hash=flip.content_hash)
            if word.shown_hash != flip.content_hash:
                # Counted flipped, not heard flipped: its last word may still be on the
                # panel (a flip it could not draw), as the live audit weighs it.
                frames[label_id].append(
                    SentFrame(flip.sequence, word.shown_hash, flip.flips_at, before_flip=True)
                )
        else:
            frames[label_id].append(SentFrame(flip.sequence, flip.content_hash, flip.flips_at))
    for label_id, sent in _unanswered_then(session, words, at=at, every=every).items():
        frames[label_id].extend(sent)
    for sent in frames.values():
        sent.sort(reverse=True)
    _health_then(session, wanted, seen, at=at, every=every)
    return PastPanels(seen, dict(frames))


def _health_then(
    session: Session, wanted: set[str], seen: dict[str, Seen], *, at: datetime, every: bool
) -> None:
    """Give each label of `wanted` in `seen` its battery at `at` when it has not been
    heard since (its last report is its reading then), and mark it behind an offline
    gateway when its gateway's last status, offline, came by `at` (a label moved to
    another gateway since is judged by its gateway now: at worst `offline`, a false
    alarm). Otherwise its battery is unknown and its gateway taken as online."""
    offline_then = and_(
        _gateways.c.store == _labels.c.store,
        _gateways.c.gateway == _labels.c.gateway,
        _gateways.c.online.is_(False),
        _gateways.c.changed_at <= at,
    )
    for labels in label_filters(_labels.c.id, wanted, every=every):
        statement = (
            select(
                _labels.c.id,
                _states.c.battery_mv,
                _states.c.last_seen,
                _gateways.c.store.is_not(None).label("offline"),
            )
            .outerjoin(_states, _states.c.label_id == _labels.c.id)
            .outerjoin(_gateways, offline_then)
            .where(labels)
        )
        for label_id, battery, last_seen, offline in session.execute(statement):
            if label_id not in wanted:
                continue
            state = seen.get(label_id)
            if (
                state is not None
                and battery is not None
                and last_seen is not None
                and last_seen <= at
            ):
                seen[label_id] = state = state._replace(battery_mv=battery)
            if offline:
                seen[label_id] = (state or Seen(None, None, None))._replace(gateway_online=False)


def _flipped_unheard(word: PanelWord, flip: _HeldFlip) -> bool:
    """Whether the label's last word `word` leaves its held `flip` on the panel: it is the
    acknowledgement itself (the label flips at the instant, or showed it at once), it
    arrived before the instant (the label still held it), or it reports that image."""
    return (
        word.id == flip.word_id or word.at < flip.flips_at or word.shown_hash == flip.content_hash
    )


def _held_flips(
    session: Session, wanted: set[str], *, at: datetime, every: bool
) -> dict[str, _HeldFlip]:
    """Per label of `wanted`, its newest believed acknowledgement of an image frame by
    `at` when that frame was timed: the image and the controller's instant the label
    flips at (its clock's known offset applied, as the live audit does). The frame is
    found by the outbox's (label, sequence) index."""
    found: dict[str, _HeldFlip] = {}
    for labels in label_filters(_acks.c.label_id, wanted, every=every):
        newest = newest_words(_ACKED_IMAGE, labels, at=at).subquery()
        statement = (
            select(
                _acks.c.label_id,
                _acks.c.id,
                _acks.c.sequence,
                _acks.c.acked_hash,
                _outbox.c.display_at,
                _states.c.clock_offset_ms,
            )
            .join(newest, newest.c.id == _acks.c.id)
            .join(
                _outbox,
                and_(
                    _outbox.c.label_id == _acks.c.label_id,
                    _outbox.c.sequence == _acks.c.sequence,
                    _outbox.c.display_at.is_not(None),
                ),
            )
            .outerjoin(_states, _states.c.label_id == _acks.c.label_id)
        )
        for label_id, word_id, sequence, digest, display_at, offset in session.execute(statement):
            if label_id in wanted:
                found[label_id] = _HeldFlip(
                    word_id, sequence, digest, flip_instant(display_at, offset)
                )
    return found


def _unanswered_then(
    session: Session, words: dict[str, PanelWord], *, at: datetime, every: bool
) -> dict[str, list[SentFrame]]:
    """Per label of `words`, the frames signed after its newest believed word by `at`,
    sent by `at` (their first send) and not acknowledged by `at`, whatever their status
    since (a superseded frame that was sent may have reached the panel); a timed frame
    once its instant had come on the label's clock as last known. A label's first send
    of a frame is kept since migration 0042 (`first_sent_at`); a row without it is dated
    by its last send. Only labels whose word is known are asked for."""
    first_sent = func.coalesce(_outbox.c.first_sent_at, _outbox.c.sent_at)
    known = {label_id for label_id, word in words.items() if not word.forgotten}
    found: dict[str, list[SentFrame]] = defaultdict(list)
    for labels in label_filters(_outbox.c.label_id, known, every=every):
        statement = (
            select(
                _outbox.c.label_id,
                _outbox.c.sequence,
                _outbox.c.content_hash,
                _outbox.c.sent_at,
                first_sent.label("first_sent"),
                _outbox.c.display_at,
                _states.c.clock_offset_ms,
            )
            .outerjoin(_states, _states.c.label_id == _outbox.c.label_id)
            .where(
                labels,
                _outbox.c.sent_at.is_not(None),
                first_sent <= at,
                or_(
                    _outbox.c.status != OutboxStatus.ACKED.value,
                    _outbox.c.settled_at.is_(None),
                    _outbox.c.settled_at > at,
                ),
            )
        )
        for label_id, sequence, digest, sent_at, first, display_at, offset in session.execute(
            statement
        ):
            word = words.get(label_id)
            if label_id not in known or word is None or sequence <= word.sequence:
                continue  # unknown already, or answered by a word believed by then
            if display_at is not None and flip_instant(display_at, offset) > at:
                continue
            found[label_id].append(SentFrame(sequence, digest, sent_at if sent_at <= at else first))
    return found
