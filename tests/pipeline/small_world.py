"""A store of simulated labels reached through the in-memory gateway, on one test clock."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable, Collection, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import replace
from datetime import datetime, timedelta

import httpx
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker

from esl.api.app import create_app
from esl.composition import build_controller, controller_settings
from esl.db.console_models import LabelActionRow
from esl.db.engine import session_factory
from esl.db.models import LabelStateRow, OutboxRow
from esl.services.ble_inventory import record_ble_association
from esl.services.keys import Role, create_key
from esl.services.label_actions import ActionKind, request_action
from esl.services.labels import bind_label
from esl.settings import Settings
from firmware_sim.fleet import build_labels, make_fleet
from firmware_sim.hardware import hardware_for
from firmware_sim.images import ImageStore
from firmware_sim.label import LabelSnapshot, SimulatedLabel
from gateways.base import Uplink
from gateways.ble.control_point import EslAddress
from gateways.ble.esl_service import DisplayType
from gateways.ble.inventory import DisplayInformation, LabelInventoryRecord
from rendering.display_models import get_display_model
from rendering.encoding import content_hash
from tests.pipeline.in_memory_gateway import InMemoryGateway, radio
from tests.support.audit import audit_by_label
from tests.support.clock import Clock
from tests.support.pipeline import ADMIN, expected_planes, publish_prices, register_and_bind

T0 = Clock().now.replace(year=2027)
PRICES_A = {"MLK-1": "3.49", "CHS-1": "8.99", "CFE-1": "59.99"}


# What the audit calls a shelf showing its due price.
SHELF_RIGHT = ("match", "intended_difference")


class World:
    def action_outcome(self, action_id: int) -> tuple[str, str | None]:
        """A label action's status and detail, as staff read them."""
        with self.sessions() as session:
            action = session.get(LabelActionRow, action_id)
            assert action is not None
            return action.status, action.detail

    def ask_refresh(self, label_id: str) -> int:
        """Staff ask for `label_id`'s refresh (taken up at the controller's next round);
        the action's id."""
        with self.sessions.begin() as session:
            return request_action(
                session,
                principal=ADMIN,
                label_id=label_id,
                kind=ActionKind.REFRESH,
                now=self.clock.now,
            ).id

    def associated_anew(self, label_id: str, *, device: str, esl_id: int = 1) -> None:
        """`label_id`'s BLE association recorded anew, at the address `device` (a 2.9"
        red panel, ESL `esl_id` of group 2), as the BLE gateway's association reports it."""
        with self.associating_anew(label_id, device=device, esl_id=esl_id):
            pass

    @contextmanager
    def associating_anew(self, label_id: str, *, device: str, esl_id: int = 1) -> Iterator[None]:
        """`associated_anew`, its transaction open inside the block (its rows written,
        not committed: a writer slow to commit) and committed when the block ends."""
        record = LabelInventoryRecord(
            address=device,
            esl_address=EslAddress(esl_id=esl_id, group=2),
            displays=(DisplayInformation(296, 128, DisplayType.RED_BLACK_WHITE),),
            max_image_index=1,
            leds=(),
            associated_at=self.clock.now,
        )
        with self.sessions.begin() as session:
            record_ble_association(
                session, label_id=label_id, gateway="gw1", record=record, now=self.clock.now
            )
            yield

    def bind_to_template(self, label_id: str, template: str) -> None:
        """Bind `label_id` to the world's SKU drawn with the layout `template`."""
        with self.sessions.begin() as session:
            bind_label(
                session,
                principal=ADMIN,
                label_id=label_id,
                sku=self.sku,
                template=template,
                now=self.clock.now,
            )

    @classmethod
    def priced(
        cls, engine: Engine, count: int = 2, sku: str = "MLK-1", settings: Settings | None = None
    ) -> World:
        """The chain's prices `PRICES_A` published at T0, then the world: its labels
        bound, nothing planned yet."""
        publish_prices(session_factory(engine), PRICES_A, now=T0)
        return cls(engine, count=count, sku=sku, settings=settings)

    def __init__(
        self,
        engine: Engine,
        count: int = 2,
        sku: str = "MLK-1",
        settings: Settings | None = None,
    ) -> None:
        self.sku = sku
        self.engine = engine
        self.clock = Clock(now=T0)
        self.sessions: sessionmaker[Session] = session_factory(engine)
        provisions = make_fleet(store="S01", gateway="gw1", count=count)
        self.keys = {p.label_id: p.key for p in provisions}
        self.labels: dict[str, SimulatedLabel] = {
            label.label_id: label for label in build_labels(provisions, now=T0, images=ImageStore())
        }
        with self.sessions.begin() as session:
            register_and_bind(session, provisions, store="S01", gateway="gw1", skus=[sku], now=T0)
        self.gateway = InMemoryGateway()
        self.settings = settings or Settings.defaults()
        self.restart_controller(seed=3)

    def restart_controller(self, *, seed: int = 4) -> None:
        """A new controller on the same database, gateway and clock (the host restarted:
        what the old one held in memory is gone)."""
        self.controller = build_controller(
            controller_settings(self.settings, window=8),
            gateway=self.gateway,
            sessions=self.sessions,
            clock=self.clock,
            rng=random.Random(seed),
        )
        self.dispatcher = self.controller.dispatcher

    @classmethod
    async def showing(
        cls, engine: Engine, prices: dict[str, str], *, count: int = 2, sku: str = "MLK-1"
    ) -> World:
        """A world whose labels show `prices`, published and delivered."""
        world = cls(engine, count=count, sku=sku)
        publish_prices(world.sessions, prices, now=world.clock.now)
        await world.converge()
        return world

    @asynccontextmanager
    async def admin_api(self) -> AsyncIterator[httpx.AsyncClient]:
        """The API over this world's database and clock, as an admin."""
        with self.sessions.begin() as session:
            _, admin = create_key(
                session, name="admin", role=Role.ADMIN, store=None, now=self.clock.now
            )
        app = create_app(Settings(currency="PLN"), engine=self.engine, clock=self.clock)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://esl",
            headers={"X-API-Key": admin},
        ) as client:
            yield client

    async def send_due(self) -> None:
        self.dispatcher.step()
        await self.dispatcher.sends_done()

    def publish_flip_ahead(
        self, price: str = "2.49", *, ahead: timedelta = timedelta(minutes=50)
    ) -> datetime:
        """MLK-1 at `price` from `ahead` (a whole second): the instant its labels are to
        flip at."""
        flip = (self.clock.now + ahead).replace(microsecond=0)
        publish_prices(self.sessions, {"MLK-1": price}, now=self.clock.now, effective_at=flip)
        return flip

    def publish_flip_with_clock_off(
        self, label_id: str, off: timedelta, *, ahead: timedelta
    ) -> datetime:
        """`label_id`'s clock set `off` (negative: behind) and MLK-1 at 2.49 from `ahead`
        (a whole second): the instant its labels are to flip at."""
        self.labels[label_id].clock_offset_ms = int(off / timedelta(milliseconds=1))
        flip = (self.clock.now + ahead).replace(microsecond=0)
        publish_prices(self.sessions, {"MLK-1": "2.49"}, now=self.clock.now, effective_at=flip)
        return flip

    async def acknowledge_timed_image(
        self,
        label_id: str,
        flip: datetime,
        *,
        delivered: Callable[[list[Uplink]], list[Uplink]] = lambda answers: answers,
        lost_until: datetime | None = None,
        rounds: int = 10,
    ) -> LabelStateRow:
        """Rounds (5 s apart) until `label_id` acknowledged its image timed at `flip` (its
        answers through `delivered`: late, say; frames sent before `lost_until` never
        reach the labels); its state then."""
        for _ in range(rounds):
            self.controller.plan_due_work()
            await self.send_due()
            sent = self.gateway.take()
            if lost_until is not None and self.clock.now < lost_until:
                sent = []
            answers = radio(sent, self.labels, now=self.clock.now)
            self.dispatcher.settle(delivered(answers))
            state = self.state(label_id)
            if state.desired_display_at == flip and state.confirmed_hash == state.desired_hash:
                return state
            self.clock.advance(timedelta(seconds=5))
        raise AssertionError("the timed image was never acknowledged")

    async def acknowledged_behind_its_check_in(self, label_id: str) -> None:
        """The frames due now sent and taken by the labels; their acknowledgements held at
        the gateway and relayed after `label_id`'s next check-in, which the controller
        takes: refused as older, they still settle the frames."""
        self.controller.plan_due_work()
        await self.send_due()
        acknowledgements = radio(self.gateway.take(), self.labels, now=self.clock.now)
        assert acknowledgements
        self.clock.advance(timedelta(seconds=10))
        self.dispatcher.settle([self.check_in(label_id)])
        self.clock.advance(timedelta(seconds=5))
        self.dispatcher.settle(
            [replace(answer, received_at=self.clock.now) for answer in acknowledgements]
        )
        assert self.rows(label_id)[-1][1] == "acked"

    async def run_until(
        self,
        instant: datetime,
        *,
        step: timedelta = timedelta(seconds=30),
        out_of_reach: Collection[str] = (),
    ) -> None:
        """The controller's rounds, the labels answering, every `step` until `instant`;
        frames to the labels `out_of_reach` are lost on the way."""
        while self.clock.now < instant:
            self.clock.advance(step)
            self.controller.plan_due_work()
            await self.send_due()
            sent = [f for f in self.gateway.take() if f.label_id not in out_of_reach]
            self.dispatcher.settle(radio(sent, self.labels, now=self.clock.now))

    async def false_matches(
        self, label_id: str, *, until: datetime, out_of_reach: Collection[str] = ()
    ) -> list[str]:
        """Minute by minute until `until` (the world running, frames to `out_of_reach`
        lost): each minute the audit called `label_id`'s shelf right (`match`, an intended
        difference) while its panel showed other than due."""
        found = []
        while self.clock.now < until:
            await self.run_until(self.clock.now + timedelta(minutes=1), out_of_reach=out_of_reach)
            panel, due = self.panel_hash(label_id), self.hash_of(label_id)
            verdict = audit_by_label(self.sessions, self.clock.now)[label_id]
            if panel != due and verdict.audit_class.value in SHELF_RIGHT:
                found.append(
                    f"{self.clock.now}: audit {verdict.audit_class.value} "
                    f"(shows {verdict.shown_price}, due {verdict.due_price})"
                )
        return found

    def panel_hash(self, label_id: str) -> str | None:
        """What `label_id`'s panel shows now, on its own clock (a timed flip done if due)."""
        label = self.labels[label_id]
        label.state(now=self.clock.now)
        return content_hash(label.shown).hex() if label.shown is not None else None

    async def converge(self) -> None:
        """Plan, send and answer until nothing is open (a busy panel is asked again later)."""
        for _ in range(60):
            self.controller.plan_due_work()
            await self.send_due()
            sent = self.gateway.take()
            self.dispatcher.settle(radio(sent, self.labels, now=self.clock.now))
            if not sent and all(
                status not in ("pending", "sent", "held")
                for label_id in self.labels
                for _, status in self.rows(label_id)
            ):
                return
            self.clock.advance(timedelta(seconds=5))
        raise AssertionError("not converged")

    async def drew_a_superseded_frame(
        self, label_id: str, *, drawn: dict[str, str], due: dict[str, str]
    ) -> None:
        """`drawn` published, sent and drawn on `label_id`'s panel, its answer lost; `due`
        published before the label answered again (the drawn frame superseded, the due one
        not sent yet); then the label's check-in, believed (newer than every answer held):
        the record confirms the image before `drawn`, the label says it shows `drawn`."""
        publish_prices(self.sessions, drawn, now=self.clock.now)
        self.controller.plan_due_work()
        await self.send_due()
        assert radio(self.gateway.take(), self.labels, now=self.clock.now), "its answer, lost"
        self.clock.advance(timedelta(minutes=1))
        publish_prices(self.sessions, due, now=self.clock.now)
        self.controller.plan_due_work()
        self.clock.advance(timedelta(seconds=5))
        self.dispatcher.settle([self.check_in(label_id)])

    def back_up(self, label_id: str) -> tuple[LabelSnapshot, ImageStore]:
        """What a backup of the label keeps: its state and the images it stores."""
        label = self.labels[label_id]
        images = ImageStore()
        for digest, planes in zip(label.page_hashes, label.pages, strict=True):
            if digest is not None and planes is not None:
                images.intern(digest, planes)
        return label.snapshot(), images

    def restore(self, label_id: str, backup: tuple[LabelSnapshot, ImageStore]) -> None:
        """The label as `backup` kept it (restored from an older backup)."""
        snapshot, images = backup
        self.labels[label_id] = SimulatedLabel.restore(
            snapshot,
            hardware=hardware_for(get_display_model(snapshot.model_id)),
            images=images,
            now=self.clock.now,
        )

    def corrupt_record(self, label_id: str) -> None:
        """Overwrite what the controller believes `label_id` shows and holds with a hash no
        content has, as a bad restore or a hand edit would; only reconciliation repairs it."""
        with self.sessions.begin() as session:
            session.execute(
                update(LabelStateRow)
                .where(LabelStateRow.label_id == label_id)
                .values(confirmed_hash="00" * 16, displayed_hash="00" * 16)
            )

    def state(self, label_id: str) -> LabelStateRow:
        with self.sessions() as session:
            row = session.get(LabelStateRow, label_id)
            assert row is not None
            return row

    def rows(self, label_id: str) -> list[tuple[int, str]]:
        query = (
            select(OutboxRow.sequence, OutboxRow.status)
            .where(OutboxRow.label_id == label_id)
            .order_by(OutboxRow.sequence)
        )
        with self.sessions() as session:
            return list(session.execute(query).all())

    def check_in(self, label_id: str, *, at: datetime | None = None) -> Uplink:
        """The label's signed check-in (what it shows, its health), as its gateway hears it."""
        when = self.clock.now if at is None else at
        report = self.labels[label_id].status_report(now=when)
        assert report is not None
        return Uplink("S01", "gw1", report, when)

    def hash_of(self, label_id: str) -> str:
        with self.sessions() as session:
            planes = expected_planes(session, label_id=label_id, sku=self.sku, at=self.clock.now)
        return content_hash(planes).hex()
