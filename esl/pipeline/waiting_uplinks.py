"""Answers kept in memory while the database does not answer, in bounded space.

However long an outage lasts, labels keep checking in: only each label's newest check-in
still says anything (what it shows, its battery), so older ones are dropped. Answers to
commands are bounded by the frames in flight; past `limit` the oldest go (their frames
time out and are sent again: a label answers a repeated frame without acting twice).
"""

from __future__ import annotations

import logging

from gateways.base import Uplink
from gateways.protocol import FrameKind, FrameRejectedError, peek_header

__all__ = ["waiting_uplinks"]

log = logging.getLogger(__name__)


def waiting_uplinks(uplinks: list[Uplink], *, limit: int) -> list[Uplink]:
    """`uplinks` in arrival order without superseded check-ins, at most `limit` of them."""
    newest_check_in: dict[str, int] = {}
    for index, uplink in enumerate(uplinks):
        try:
            header = peek_header(uplink.payload)
        except FrameRejectedError:
            continue  # the verifier counts it when the database answers again
        if header.kind is FrameKind.CHECK_IN:
            newest_check_in[header.label_id] = index
    kept_check_ins = set(newest_check_in.values())
    kept = [
        uplink
        for index, uplink in enumerate(uplinks)
        if index in kept_check_ins or not _is_check_in(uplink)
    ]
    if len(kept) > limit:
        log.warning("dropping %d old answers kept while the database is away", len(kept) - limit)
        kept = kept[-limit:]
    return kept


def _is_check_in(uplink: Uplink) -> bool:
    try:
        return peek_header(uplink.payload).kind is FrameKind.CHECK_IN
    except FrameRejectedError:
        return False
