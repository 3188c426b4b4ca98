"""The audit is never wrong in the shelf's favour, at any moment: after every event of an
adversarial schedule, no label the audit calls right (`match`, `intended_difference`)
shows anything but its due price.

The shelf-truth property (`test_shelf_truth_property.py`) checks the end state, once the
faults stop. An auditor reads the report at any time, so here the same world (the real
controller on SQLite, firmware_sim labels behind a StoreGatewaySim, an attacker holding
the network: drops, duplicates, reordering, replays, forgeries; prices now and ahead) is
audited after every event, and at every half-minute of a controller outage, while the
store gateway power-cycles, the controller restarts and staff ask labels for actions.
No label is reset behind the controller's back here (that is an `unknown_content` the
controller cannot know of until the label is heard): every panel changes only through
frames the controller signed. Run with a gateway that relays check-ins and listens, and
with a quiet one (only answers to frames tell the controller anything: its clock offsets
included).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import Engine

from rendering.encoding import content_hash
from tests.pipeline.adversarial_shelf import (
    ATTACKS,
    CLOCK_DRIFTS,
    NETWORK_FAULTS,
    OUTAGES,
    PRICES,
    PROMOTIONS_AHEAD,
    STAFF_ACTIONS,
    TICKS,
    Event,
    MovePromotionAhead,
    PromoteAhead,
    Shelf,
    Tick,
    note_schedule,
    play_on_a_copy,
    property_test,
    write_template_database,
)
from tests.support.audit import audit_by_label

RIGHT = frozenset({"match", "intended_difference"})


def schedules() -> st.SearchStrategy[list[Event]]:
    events: st.SearchStrategy[Event] = st.one_of(
        TICKS,
        TICKS,
        *NETWORK_FAULTS,
        *ATTACKS,
        *PRICES,
        *PRICES,
        *PROMOTIONS_AHEAD,
        *OUTAGES,
        CLOCK_DRIFTS,
        STAFF_ACTIONS,
    )
    return st.lists(events, min_size=5, max_size=60)


# -20 % on milk from ten minutes ahead, its flip acknowledged by the labels; withdrawn
# (or moved 20 minutes later) nine minutes before its start while nothing reaches them.
# They flip to it by their own clocks; once the periodic re-plan signs the regular image
# to cancel the flip, the audit, judging by that plan, called the withdrawn -20 % on the
# panels `match` (`tests/pipeline/test_withdrawn_flip_audit.py`). Drawn first, always.
def _flip_moved_while_out_of_reach(minutes: int | None) -> list[Event]:
    delivered = [Tick(seconds=5, deliver=True)] * 8
    lost = [Tick(seconds=60, deliver=False)] * 14
    return [
        *delivered,
        PromoteAhead("MLK-1", percent=20, minutes=10),
        *delivered,
        MovePromotionAhead(minutes),
        *lost,
    ]


def false_matches(shelf: Shelf) -> list[str]:
    """Every label the audit at this moment calls right whose panel shows another image
    than the render of its due content."""
    now = shelf.clock.now
    verdicts = audit_by_label(shelf.sessions, now)
    found = []
    for label_id, label in sorted(shelf.labels.items()):
        label.state(now=now)  # a timed flip due by now happens, by the label's own clock
        verdict = verdicts.get(label_id)
        if verdict is None or verdict.audit_class.value not in RIGHT:
            continue
        shown = None if label.shown is None else content_hash(label.shown).hex()
        due = shelf.due_hash(label_id)
        if shown != due:
            sku = shelf.bindings[label_id]
            found.append(
                f"{now:%H:%M:%S} {label_id}: audit {verdict.audit_class.value}, panel "
                f"{shelf._name(sku, shown)}, due {shelf._name(sku, due)}; "
                f"open: {shelf.describe()}"
            )
    return found


@pytest.fixture(scope="module")
def template_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_template_database(tmp_path_factory.mktemp("audit-truth") / "template.sqlite")


@pytest.mark.slow
@pytest.mark.parametrize("quiet_gateway", [False, True], ids=["listening", "quiet"])
@property_test
@given(schedule=schedules())
@example(schedule=_flip_moved_while_out_of_reach(None))
@example(schedule=_flip_moved_while_out_of_reach(20))
def test_the_audit_never_calls_a_label_right_while_its_panel_shows_another_price(
    template_database: Path, quiet_gateway: bool, schedule: list[Event]
) -> None:
    note_schedule(schedule)

    async def play(engine: Engine) -> None:
        moment = "at the start"

        def check() -> None:
            wrong = false_matches(shelf)
            assert not wrong, f"{moment}:\n" + "\n".join(wrong)

        shelf = Shelf(engine, quiet_gateway=quiet_gateway, watch=check)
        await shelf.round()
        check()
        for number, event in enumerate(schedule):
            moment = f"during or after event {number} ({event})"
            await shelf.play(event)
            check()
        moment = "once the faults stopped"
        await shelf.quiesce()
        check()

    play_on_a_copy(template_database, play)
