"""A label showing an image the controller never sent (`unknown_content`) that keeps
checking in is wrong since it FIRST reported that image, not since its latest check-in.
docs/audit.md, Outputs: `--fail-after` exits 1 when "some label has shown another price
than the due one for longer (stale labels, and offline, flat, unconfirmed or tampered
ones that are wrong too)".

A panel reset or forged at T0 + 10 min, checking in every 10 minutes as a healthy label
does, was reported at T0 + 3 h as wrong for one minute: `esl audit --fail-after 30m`
never alerted for it, however long it showed the forged price, and its age in every
output was a minute. Found by a reviewer (moved from /tmp/rev-audit).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from esl.audit.classify import AuditClass
from tests.audit.world import T0, AuditWorld

FORGED = "cd" * 16
FIRST_REPORT = T0 + timedelta(minutes=10)
AT = T0 + timedelta(hours=3)


def _keeps_checking_in(world: AuditWorld, label_id: str, *, since: datetime) -> None:
    """Check-ins every 10 minutes until just before AT, each with what it showed before."""
    heard = since
    while heard + timedelta(minutes=10) < AT:
        heard += timedelta(minutes=10)
        world.checked_in(label_id, at=heard)


def test_a_tampered_label_that_keeps_checking_in_is_overdue(world: AuditWorld) -> None:
    world.label("L-t", store="S01", sku="MLK-1")
    world.acknowledged("L-t", at=T0)
    world.checked_in("L-t", at=FIRST_REPORT, displayed_hash=FORGED)
    _keeps_checking_in(world, "L-t", since=FIRST_REPORT)  # still the forged image

    report = world.audit(at=AT).report
    verdict = {v.label_id: v for v in report.labels}["L-t"]
    assert verdict.audit_class is AuditClass.UNKNOWN_CONTENT
    assert verdict.shown_hash == FORGED
    # It has reported the forged image since T0 + 10 min, for 2 h 50 min.
    assert verdict.wrong_since == FIRST_REPORT, (verdict.wrong_since, verdict.since)
    assert verdict.age(AT) == AT - FIRST_REPORT
    assert "L-t" in {v.label_id for v in report.overdue(timedelta(minutes=30))}


def test_a_label_forged_again_is_dated_from_its_latest_run(world: AuditWorld) -> None:
    """Put right in between (it reported the due image), then forged again: wrong since
    the second forgery, not the first."""
    world.label("L-t", store="S01", sku="MLK-1")
    due, _ = world.acknowledged("L-t", at=T0)
    world.checked_in("L-t", at=FIRST_REPORT, displayed_hash=FORGED)
    world.checked_in("L-t", at=T0 + timedelta(minutes=20), displayed_hash=due)
    again = AT - timedelta(minutes=25)
    world.checked_in("L-t", at=again, displayed_hash=FORGED)
    _keeps_checking_in(world, "L-t", since=again)

    report = world.audit(at=AT).report
    verdict = {v.label_id: v for v in report.labels}["L-t"]
    assert verdict.audit_class is AuditClass.UNKNOWN_CONTENT
    assert verdict.wrong_since == verdict.since == again
    assert "L-t" not in {v.label_id for v in report.overdue(timedelta(minutes=30))}
    # Audited as at the first run's end, the past audit dates it from its first report.
    past = {v.label_id: v for v in world.audit(at=T0 + timedelta(minutes=15), now=AT).report.labels}
    assert past["L-t"].wrong_since == FIRST_REPORT
