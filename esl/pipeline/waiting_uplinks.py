"""Answers kept in memory while the database does not answer, in bounded space.

However long an outage lasts, labels keep checking in: only each label's newest check-in
still says anything (what it shows, its battery), so older ones are dropped. Nothing
here is verified yet (the keys are in the database that is away), so what is kept never
lets one uplink displace another's evidence:

- a check-in supersedes only an older one heard on the same store's topic for the same
  label: one published on another store's topic (a login replaying what it captured,
  which the verifier refuses later) cannot push out the label's genuine one;
- bytes that are not a frame at all are not kept: the verifier would only count them,
  and they must not use up the room genuine answers need.

On its own store's topic a check-in forged after a label's genuine one does supersede it
(unverified, the last to arrive is the newest): that label goes unheard until its next
check-in, as when the store's gateway does not relay it, while the forgery, verified
once the database is back, is a security event and believed in nothing.

Answers to commands are bounded by the frames in flight; past `limit` the oldest go
(their frames time out and are sent again: a label answers a repeated frame without
acting twice).
"""

from __future__ import annotations

import logging

from gateways.base import Uplink
from gateways.protocol import FrameKind, FrameRejectedError, peek_header

__all__ = ["waiting_uplinks"]

log = logging.getLogger(__name__)


def waiting_uplinks(uplinks: list[Uplink], *, limit: int) -> list[Uplink]:
    """`uplinks` in arrival order without unreadable ones and superseded check-ins, at
    most `limit` of them."""
    readable: list[tuple[Uplink, bool]] = []  # (uplink, is a check-in)
    newest_check_in: dict[tuple[str, str], int] = {}  # (store topic, label) -> index
    for uplink in uplinks:
        try:
            header = peek_header(uplink.payload)
        except FrameRejectedError:
            continue
        check_in = header.kind is FrameKind.CHECK_IN
        if check_in:
            newest_check_in[(uplink.store, header.label_id)] = len(readable)
        readable.append((uplink, check_in))
    if unreadable := len(uplinks) - len(readable):
        log.warning("dropping %d unreadable uplinks while the database is away", unreadable)
    kept_check_ins = set(newest_check_in.values())
    kept = [
        uplink
        for index, (uplink, check_in) in enumerate(readable)
        if not check_in or index in kept_check_ins
    ]
    if len(kept) > limit:
        log.warning("dropping %d old answers kept while the database is away", len(kept) - limit)
        kept = kept[-limit:]
    return kept
