"""One store under an attacker's network, for the shelf-truth property tests: the events a
schedule is made of, the Hypothesis strategies that draw schedules, and `Shelf`, which plays
them against the real controller (`UpdateController` on SQLite) and real simulated labels
(`firmware_sim` behind a `StoreGatewaySim`) on one test clock.

Two tests use it: `test_shelf_truth_property.py` (after the faults stop, record == panel ==
due for every label) and `test_audit_never_false_match.py` (after every event, no label
the audit calls right shows anything but its due price).
"""

from __future__ import annotations

import asyncio
import enum
import os
import random
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final, TypeVar

from hypothesis import HealthCheck, Phase, note, seed, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from esl.composition import build_controller, controller_settings
from esl.db.engine import create_engine_for, session_factory, upgrade_database
from esl.db.models import LabelRow, LabelStateRow
from esl.errors import PublicationRejectedError
from esl.pipeline import RetryPolicy, UpdateController
from esl.pipeline.action_kinds import ActionKind
from esl.pipeline.check_ins import FLIP_GRACE
from esl.services.label_actions import request_action
from esl.settings import Settings
from firmware_sim.fleet import LabelProvision, make_fleet
from firmware_sim.hardware import hardware_for
from firmware_sim.images import ImageStore
from firmware_sim.label import LabelSnapshot
from firmware_sim.store_gateway import StoreGatewaySim
from gateways.base import Uplink
from rendering.cache import RenderCache
from rendering.display_models import get_display_model
from rendering.encoding import content_hash
from tests.pipeline.adversarial_network import AdversarialNetwork, Direction, RecordingLabel
from tests.pipeline.in_memory_gateway import InMemoryGateway
from tests.pipeline.shared_clock_store import publish
from tests.pipeline.small_world import PRICES_A, T0
from tests.support.clock import Clock
from tests.support.database import seed_reference_data
from tests.support.outbox import open_outbox_rows, outbox_by_label
from tests.support.pipeline import ADMIN, due_content, register_and_bind

# Replays and forgeries are the attacks of issue 13's observations 1 (a replayed
# acknowledgement) and 2 (a forged frame cancelling a genuine update: the label answered
# BAD_MAC and the update was parked for good). Off, only the rest of the schedule runs
# (before their fix this test failed on them in seconds).
REPLAYS_AND_FORGERIES: Final = True

EXAMPLES: Final = int(os.environ.get("ESL_PROPERTY_EXAMPLES", "25"))
SEED: Final = os.environ.get("ESL_PROPERTY_SEED")

STORE: Final = "S01"
GATEWAY: Final = "gw1"
LABELS: Final = 4
SKUS: Final = ("MLK-1", "CHS-1")
AMOUNTS: Final = {"MLK-1": ("3.49", "3.19", "2.99", "3.69"), "CHS-1": ("8.99", "7.99", "9.49")}
CHECK_IN_EVERY_S: Final = 30.0
SETTINGS: Final = controller_settings(
    Settings.defaults(),
    window=8,
    policy=RetryPolicy(
        ack_timeout=timedelta(seconds=30),
        base_delay=timedelta(seconds=5),
        max_delay=timedelta(seconds=60),
        max_attempts=5,
    ),
)
# After the faults stop: quiet for a reconciliation pass and two check-ins of every label.
SETTLED_AFTER: Final = SETTINGS.reconcile_every + timedelta(seconds=2 * CHECK_IN_EVERY_S)
GIVE_UP_AFTER: Final = timedelta(hours=3)  # of simulated time: the shelf never settled

# Every example draws the same few contents: render each once for the whole run.
RENDERS: Final = RenderCache(max_labels=500, max_deltas=10)


# ---------------------------------------------------------------- the schedule


@dataclass(frozen=True)
class Tick:
    """`seconds` pass; with `deliver`, the network carries everything in flight first."""

    seconds: int
    deliver: bool


class Handling(enum.Enum):
    DELIVER = "deliver"  # it arrives (any of those in flight: a reordering)
    DROP = "drop"
    DUPLICATE = "duplicate"
    REPLAY = "replay"  # a genuine one captured earlier is published again


@dataclass(frozen=True)
class OnTheWire:
    """The network does `what` to the message at `index` going `direction`."""

    what: Handling
    direction: Direction
    index: int


@dataclass(frozen=True)
class ForgeFrame:
    """A forged copy of the frame at `index` follows it, or replaces it (`in_place`)."""

    index: int
    in_place: bool


@dataclass(frozen=True)
class ForgeAnswer:
    index: int
    signed: bool


@dataclass(frozen=True)
class SetPrice:
    sku: str
    amount: str
    ahead_minutes: int  # 0: now


@dataclass(frozen=True)
class Promote:
    """A percent-off promotion on `sku`, until `days` ahead (over any earlier one)."""

    sku: str
    percent: int
    days: int


@dataclass(frozen=True)
class PromoteAhead:
    """A percent-off promotion on `sku` from `minutes` ahead: a flip its labels hold."""

    sku: str
    percent: int
    minutes: int


@dataclass(frozen=True)
class MovePromotionAhead:
    """The newest promotion not started yet withdrawn (`minutes` None: end_promotion) or
    its start moved `minutes` later, while labels may hold its flip (out of reach, its
    cancelling image lost on the way)."""

    minutes: int | None


@dataclass(frozen=True)
class ResetLabel:
    """Label number `label` loses its image and counter (`backup` None) or is restored
    from one of its older backups."""

    label: int
    backup: int | None


@dataclass(frozen=True)
class RestartController:
    """A new controller starts on the database; whatever the old one held in memory
    (answers not yet settled, its view of what is in flight) is lost."""


@dataclass(frozen=True)
class RestartGateway:
    """The store gateway power-cycles: the frames it held are lost; its labels carry on
    exactly as they were (a label writes its state ahead)."""


@dataclass(frozen=True)
class ControllerAway:
    """The controller is down for `minutes`: the radio and the labels carry on, frames and
    answers already on the wire keep moving; then a new controller starts on the database."""

    minutes: int


@dataclass(frozen=True)
class ClockDrift:
    """Label number `label`'s clock is `seconds` off from now on (negative: behind), as a
    label's clock is reset or set wrong, unless it holds a timed image; the controller
    learns it only from the label's signed answers."""

    label: int
    seconds: int


@dataclass(frozen=True)
class StaffAction:
    """Staff ask label number `label` for an action (`ActionKind` value)."""

    label: int
    kind: str


Event = (
    Tick
    | OnTheWire
    | ForgeFrame
    | ForgeAnswer
    | SetPrice
    | Promote
    | PromoteAhead
    | MovePromotionAhead
    | ResetLabel
    | RestartController
    | RestartGateway
    | ControllerAway
    | ClockDrift
    | StaffAction
)

DIRECTIONS = st.sampled_from(Direction)
INDEX = st.integers(0, 40)
SKU = st.sampled_from(SKUS)
TICKS = st.builds(Tick, seconds=st.sampled_from((1, 5, 20, 60, 300)), deliver=st.booleans())


def on_the_wire(what: Handling) -> st.SearchStrategy[Event]:
    return st.builds(OnTheWire, what=st.just(what), direction=DIRECTIONS, index=INDEX)


NETWORK_FAULTS = [on_the_wire(h) for h in (Handling.DELIVER, Handling.DROP, Handling.DUPLICATE)]
ATTACKS: list[st.SearchStrategy[Event]] = [
    on_the_wire(Handling.REPLAY),
    st.builds(ForgeFrame, index=INDEX, in_place=st.booleans()),
    st.builds(ForgeAnswer, index=INDEX, signed=st.booleans()),
]
PRICES: list[st.SearchStrategy[Event]] = [
    SKU.flatmap(
        lambda sku: st.builds(
            SetPrice,
            sku=st.just(sku),
            amount=st.sampled_from(AMOUNTS[sku]),
            ahead_minutes=st.sampled_from((0, 0, 2, 10)),
        )
    ),
    st.builds(Promote, sku=SKU, percent=st.sampled_from((10, 20)), days=st.sampled_from((3, 5))),
]
# A promotion ahead, withdrawn or moved later before its start.
PROMOTIONS_AHEAD: list[st.SearchStrategy[Event]] = [
    st.builds(
        PromoteAhead, sku=SKU, percent=st.sampled_from((10, 20)), minutes=st.sampled_from((2, 10))
    ),
    st.builds(MovePromotionAhead, minutes=st.none() | st.sampled_from((5, 20))),
]
MISHAPS: list[st.SearchStrategy[Event]] = [
    st.builds(ResetLabel, label=st.integers(0, LABELS - 1), backup=st.none() | st.integers(0, 10)),
    st.just(RestartController()),
]
# What happens without any label being reset behind the controller's back: every panel
# changes only through frames the controller signed.
OUTAGES: list[st.SearchStrategy[Event]] = [
    st.just(RestartController()),
    st.just(RestartGateway()),
    st.builds(ControllerAway, minutes=st.sampled_from((1, 3, 12))),
]
CLOCK_DRIFTS: st.SearchStrategy[Event] = st.builds(
    ClockDrift,
    label=st.integers(0, LABELS - 1),
    seconds=st.sampled_from((-900, -120, -20, 0, 20, 120, 900)),
)
STAFF_ACTIONS: st.SearchStrategy[Event] = st.builds(
    StaffAction,
    label=st.integers(0, LABELS - 1),
    kind=st.sampled_from(("flash", "ping", "refresh", "refresh", "set_clock")),
)


def schedules() -> st.SearchStrategy[list[Event]]:
    """Any mix of events; then a few more without price changes, so that what a reset,
    a restart or an attack breaks is not always mended by the next price change."""
    attacks = ATTACKS if REPLAYS_AND_FORGERIES else []
    events: st.SearchStrategy[Event] = st.one_of(
        TICKS,
        TICKS,
        *NETWORK_FAULTS,
        *attacks,
        *PRICES,
        *PRICES,
        *MISHAPS,
        *OUTAGES,
        CLOCK_DRIFTS,
        STAFF_ACTIONS,
    )
    tail: st.SearchStrategy[Event] = st.one_of(
        TICKS, *NETWORK_FAULTS, *attacks, *MISHAPS, *MISHAPS, *OUTAGES
    )
    return st.tuples(
        st.lists(events, min_size=5, max_size=50), st.lists(tail, min_size=1, max_size=8)
    ).map(lambda parts: [*parts[0], *parts[1]])


# ---------------------------------------------------------------- the world


@dataclass
class Shelf:
    """One store: a controller on SQLite, the attacker's network, a store gateway and its
    labels, on one test clock."""

    engine: Engine
    # Labels behind a gateway that relays no check-ins and does not listen between them
    # (only answers to frames tell the controller anything).
    quiet_gateway: bool = False
    # Called at every half-minute step while the controller is away (`ControllerAway`).
    watch: Callable[[], None] = lambda: None
    # A minute after the first prices (the ledger takes no second entry at their instant).
    clock: Clock = field(default_factory=lambda: Clock(now=T0 + timedelta(minutes=1)))
    images: ImageStore = field(default_factory=ImageStore)
    provisions: dict[str, LabelProvision] = field(default_factory=dict)
    bindings: dict[str, str] = field(default_factory=dict)  # label -> sku
    history: dict[str, list[bytes | None]] = field(default_factory=dict)  # label -> panel
    backups: dict[str, list[LabelSnapshot]] = field(default_factory=dict)
    allowed: dict[str, dict[str, str]] = field(default_factory=dict)  # sku -> hash -> what
    instants: set[datetime] = field(default_factory=set)  # of every publication
    controllers: int = 0
    promotions: int = 0
    ahead: list[dict[str, Any]] = field(default_factory=list)  # promotions not started yet
    refused: int = 0  # publications the service refused
    network: AdversarialNetwork = field(init=False)
    link: InMemoryGateway = field(init=False)
    controller: UpdateController = field(init=False)

    def __post_init__(self) -> None:
        now = self.clock.now
        fleet = make_fleet(store=STORE, gateway=GATEWAY, count=LABELS)
        self.provisions = {p.label_id: p for p in fleet}
        labels = {p.label_id: self._new_label(p.label_id) for p in fleet}
        self.network = AdversarialNetwork(
            StoreGatewaySim(
                store=STORE,
                gateway=GATEWAY,
                labels=dict(labels),
                start=now,
                check_in_interval_s=CHECK_IN_EVERY_S,
                report_check_ins=not self.quiet_gateway,
                listening=not self.quiet_gateway,
            )
        )
        with self.sessions.begin() as session:
            self.bindings.update(
                register_and_bind(session, fleet, store=STORE, gateway=GATEWAY, skus=SKUS, now=now)
            )
        self.instants.add(now)
        self._note_allowed()
        self.start_controller()

    @property
    def sessions(self) -> sessionmaker[Session]:
        return session_factory(self.engine)

    @property
    def labels(self) -> dict[str, RecordingLabel]:
        found: dict[str, RecordingLabel] = {}
        for label_id, label in self.network.store_gateway.labels.items():
            assert isinstance(label, RecordingLabel)
            found[label_id] = label
        return found

    def _new_label(self, label_id: str, backup: LabelSnapshot | None = None) -> RecordingLabel:
        provision = self.provisions[label_id]
        hardware = hardware_for(get_display_model(provision.model_id))
        if backup is None:
            label = RecordingLabel(
                label_id=label_id,
                hardware=hardware,
                key=provision.key,
                now=self.clock.now,
                images=self.images,
            )
        else:
            restored = RecordingLabel.restore(
                backup, hardware=hardware, images=self.images, now=self.clock.now
            )
            assert isinstance(restored, RecordingLabel)
            label = restored
        label.panel_history = self.history.setdefault(label_id, [])
        return label

    def start_controller(self) -> None:
        """A controller starts on the database (at first, and after a crash: whatever the
        previous one held in memory, answers not yet settled included, is gone)."""
        self.controllers += 1
        self.link = InMemoryGateway()
        self.controller = build_controller(
            SETTINGS,
            gateway=self.link,
            sessions=self.sessions,
            clock=self.clock,
            rng=random.Random(self.controllers),
        )
        # What `Dispatcher.run` does first: take the database's view of what is in flight.
        self.controller.dispatcher.start_over()

    # ------------------------------------------------------------ one event

    async def play(self, event: Event) -> None:
        network, now = self.network, self.clock.now
        match event:
            case Tick(seconds=seconds, deliver=deliver):
                if deliver:
                    self.carry_everything()
                self.clock.advance(timedelta(seconds=seconds))
                await self.round()
            case OnTheWire(what=Handling.DELIVER, direction=Direction.DOWN, index=index):
                network.deliver_frame(index, now=now)
            case OnTheWire(what=Handling.DELIVER, direction=Direction.UP, index=index):
                self.hand_to_controller(network.deliver_answer(index, now=now))
            case OnTheWire(what=Handling.DROP, direction=direction, index=index):
                network.drop(direction, index)
            case OnTheWire(what=Handling.DUPLICATE, direction=direction, index=index):
                network.duplicate(direction, index)
            case OnTheWire(what=Handling.REPLAY, direction=direction, index=index):
                network.replay(direction, index)
            case ForgeFrame(index=index, in_place=in_place):
                network.forge_frame(index, in_place=in_place)
            case ForgeAnswer(index=index, signed=signed):
                network.forge_answer(index, now=now, signed=signed)
            case SetPrice(sku=sku, amount=amount, ahead_minutes=minutes):
                at = now + timedelta(minutes=minutes) if minutes else None
                self.publish([{"action": "set_price", "sku": sku, "amount": amount}], at=at)
            case Promote(sku=sku, percent=percent, days=days):
                # A started promotion cannot be changed: a new one, of a higher priority,
                # takes over (at the same price it changes only the validity text).
                self.promotions += 1
                until = (T0 + timedelta(days=days)).replace(hour=23, minute=0)
                promotion = {
                    "action": "upsert_promotion",
                    "promotion_id": f"PROMO-{self.promotions}",
                    "priority": self.promotions,
                    "name": f"-{percent}%",
                    "kind": "percent_off",
                    "percent": str(percent),
                    "skus": [sku],
                    "channels": ["store"],
                    "valid_until": until.isoformat(),
                }
                self.publish([promotion], at=None)
            case PromoteAhead(sku=sku, percent=percent, minutes=minutes):
                self.promotions += 1
                starts = (now + timedelta(minutes=minutes)).replace(microsecond=0)
                promotion = {
                    "action": "upsert_promotion",
                    "promotion_id": f"PROMO-{self.promotions}",
                    "priority": self.promotions,
                    "name": f"-{percent}% ahead",
                    "kind": "percent_off",
                    "percent": str(percent),
                    "skus": [sku],
                    "channels": ["store"],
                    "valid_from": starts.isoformat(),
                }
                if self.publish([promotion], at=None, starts=starts):
                    self.ahead.append(promotion)
            case MovePromotionAhead(minutes=minutes):
                waiting = [p for p in self.ahead if datetime.fromisoformat(p["valid_from"]) > now]
                if waiting:
                    promotion = waiting[-1]
                    self.ahead.remove(promotion)
                    if minutes is None:
                        end = {"action": "end_promotion", "promotion_id": promotion["promotion_id"]}
                        self.publish([end], at=None)
                    else:
                        starts = datetime.fromisoformat(promotion["valid_from"]) + timedelta(
                            minutes=minutes
                        )
                        moved = {**promotion, "valid_from": starts.isoformat()}
                        if self.publish([moved], at=None, starts=starts):
                            self.ahead.append(moved)
            case ResetLabel(label=number, backup=backup):
                label_id = sorted(self.provisions)[number]
                backups = self.backups.get(label_id, [])
                snapshot = (
                    backups[backup % len(backups)] if backup is not None and backups else None
                )
                self.network.store_gateway.labels[label_id] = self._new_label(label_id, snapshot)
            case RestartController():
                self.start_controller()
            case RestartGateway():
                gateway = self.network.store_gateway
                reloaded = [
                    self._new_label(label_id, label.snapshot())
                    for label_id, label in self.labels.items()
                ]
                gateway.restart(now=now, labels=reloaded)
            case ControllerAway(minutes=minutes):
                for _ in range(minutes * 2):
                    self.clock.advance(timedelta(seconds=30))
                    while network.frames:
                        network.deliver_frame(0, now=self.clock.now)
                    network.listen(now=self.clock.now)
                    self.watch()
                self.start_controller()
            case ClockDrift(label=number, seconds=seconds):
                label = self.labels[sorted(self.provisions)[number]]
                label.state(now=now)  # a flip due by now happens first, by the old clock
                # Only while the label holds no flip: a clock that jumps between a label's
                # last answer and its flip is a late flip no controller can know of until
                # the label is heard again. Drifted before, its clock is in every answer
                # (the acknowledgement of a timed image's included).
                if label.scheduled_page is None:
                    label.clock_offset_ms = seconds * 1000
            case StaffAction(label=number, kind=kind):
                with self.sessions.begin() as session:
                    request_action(
                        session,
                        principal=ADMIN,
                        label_id=sorted(self.provisions)[number],
                        kind=ActionKind(kind),
                        now=now,
                    )

    def hand_to_controller(self, uplink: Uplink | None) -> None:
        """An answer reached the controller's transport (settled at its next round)."""
        if uplink is not None:
            self.controller.dispatcher.handle_event(uplink)

    def carry_everything(self) -> None:
        """The network behaves: every frame in flight reaches the store gateway, the radio
        runs, and every answer in flight reaches the controller."""
        network = self.network
        while network.frames:
            network.deliver_frame(0, now=self.clock.now)
        network.listen(now=self.clock.now)
        while network.answers:
            self.hand_to_controller(network.deliver_answer(0, now=self.clock.now))

    async def round(self) -> int:
        """The radio runs up to now; the controller does one round (settles the answers it
        got, times out, plans, dispatches); its frames go on the wire. Frames sent."""
        self.network.listen(now=self.clock.now)
        self._back_up_labels()
        self.controller.plan_due_work()
        self.controller.dispatcher.step()
        await self.controller.dispatcher.sends_done()
        sent = self.link.take()
        self.network.carry(sent)
        return len(sent)

    def publish(
        self, items: list[dict[str, Any]], *, at: datetime | None, starts: datetime | None = None
    ) -> bool:
        """Publish `items` through the publication service, as a user would; one the
        service refuses (an instant not after the last one its prices already have) is
        left out, as the user would be told. `starts`: when a promotion of `items`
        starts (its content is allowed from then). Whether it was published."""
        now = self.clock.now
        try:
            publish(self.sessions, items, now=now, effective_at=at, title="change")
        except PublicationRejectedError:
            self.refused += 1
            return False
        self.instants.add(at or now)
        if starts is not None:
            self.instants.add(starts)
        self._note_allowed()
        return True

    def _back_up_labels(self) -> None:
        """Keep a backup of each label whenever its panel changed (for restores)."""
        for label_id, label in self.labels.items():
            backups = self.backups.setdefault(label_id, [])
            if label.shown_hash is not None and (
                not backups or backups[-1].shown_hash != label.shown_hash
            ):
                backups.append(label.snapshot())

    # ------------------------------------------------------------ the truth

    def _note_allowed(self) -> None:
        """The contents a label of each product may ever show: what is due at every
        instant a publication named, as the ledger stands after each publication."""
        with self.sessions() as session:
            for label_id, sku in sorted(self.bindings.items()):
                allowed = self.allowed.setdefault(sku, {})
                for at in sorted(self.instants):
                    allowed.setdefault(*due_render(session, label_id=label_id, sku=sku, at=at))

    def due_hash(self, label_id: str) -> str:
        with self.sessions() as session:
            digest, _ = due_render(
                session, label_id=label_id, sku=self.bindings[label_id], at=self.clock.now
            )
            return digest

    async def quiesce(self) -> None:
        """Faults stop: the network carries everything, time runs past every instant and
        until nothing happened for a reconciliation pass and two check-ins."""
        last_instant = max(self.instants)
        started = quiet_since = self.clock.now
        while True:
            self.carry_everything()
            sent = await self.round()
            self.carry_everything()
            now = self.clock.now
            if sent or self.open_rows() or not self.network.idle():
                quiet_since = now
            elif now >= last_instant + FLIP_GRACE and now - quiet_since >= SETTLED_AFTER:
                return
            if now - started > GIVE_UP_AFTER:
                raise AssertionError(f"never settled: {self.describe()}")
            self.clock.advance(timedelta(seconds=5 if now == quiet_since else 30))

    def open_rows(self) -> int:
        return open_outbox_rows(self.sessions, ("pending", "sent", "held"))

    def untruths(self) -> list[str]:
        """Every label whose record, panel and due content are not one and the same, and
        every image a panel showed that no publication made due for it."""
        found = []
        with self.sessions() as session:
            records = {row.label_id: row for row in session.scalars(select(LabelStateRow))}
        for label_id, label in sorted(self.labels.items()):
            sku = self.bindings[label_id]
            shown = None if label.shown is None else content_hash(label.shown).hex()
            record = records[label_id].confirmed_hash if label_id in records else None
            due = self.due_hash(label_id)
            if not record == shown == due:
                found.append(
                    f"{label_id} ({sku}): recorded {self._name(sku, record)}, "
                    f"shows {self._name(sku, shown)}, due {self._name(sku, due)}"
                )
            for digest in self.history.get(label_id, []):
                if digest is not None and digest.hex() not in self.allowed[sku]:
                    found.append(f"{label_id} ({sku}) showed {digest.hex()[:12]}: never due")
        return found

    def _name(self, sku: str, digest: str | None) -> str:
        if digest is None:
            return "nothing"
        return f"{digest[:8]} ({self.allowed[sku].get(digest, 'never due')})"

    def describe(self) -> str:
        return "; ".join(
            f"{label} #{sequence} {status}{' (' + parked + ')' if parked else ''}"
            for label, rows in outbox_by_label(self.sessions).items()
            for sequence, status, parked in rows
            if status not in ("acked", "superseded")
        )


def due_render(session: Session, *, label_id: str, sku: str, at: datetime) -> tuple[str, str]:
    """What the label must show at `at` (the quote service's price, as a label content):
    the hash of its render, and the content in words."""
    label = session.get(LabelRow, label_id)
    assert label is not None
    content, _ = due_content(session, label=label, sku=sku, at=at)
    rendered = RENDERS.render(content, model=get_display_model(label.model))
    words = f"{content.price} {content.promotion_text or ''}".strip()
    return content_hash(rendered.planes).hex(), words


# ---------------------------------------------------------------- running examples


def write_template_database(path: Path) -> Path:
    """A migrated, seeded database with the first prices at `path`, copied for every
    example (a migration per example would cost more than the example)."""
    engine = create_engine_for(f"sqlite:///{path}")
    upgrade_database(engine)
    with session_factory(engine).begin() as session:
        seed_reference_data(session)
    publish(
        session_factory(engine),
        [{"action": "set_price", "sku": sku, "amount": amount} for sku, amount in PRICES_A.items()],
        now=T0,
    )
    engine.dispose()
    return path


def play_on_a_copy(template: Path, play: Callable[[Engine], Awaitable[None]]) -> None:
    """Run `play` on a fresh copy of the template database."""
    with tempfile.TemporaryDirectory(prefix="shelf-truth-") as directory:
        path = Path(directory) / "esl.sqlite"
        shutil.copyfile(template, path)
        engine = create_engine_for(f"sqlite:///{path}")
        try:
            asyncio.run(play(engine))
        finally:
            engine.dispose()


_F = TypeVar("_F", bound=Callable[..., None])


def property_test(test: _F) -> _F:
    """Hypothesis' settings for both shelf-truth properties: `EXAMPLES` schedules,
    derandomized unless `ESL_PROPERTY_SEED` names a seed."""
    configured = settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=SEED is None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        # Shrinking gives a short schedule to read; explaining it would replay it hundreds
        # of times more for little.
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    )(test)
    return configured if SEED is None else seed(int(SEED))(configured)


def note_schedule(schedule: list[Event]) -> None:
    note("schedule:\n" + "\n".join(f"  {event}" for event in schedule))
