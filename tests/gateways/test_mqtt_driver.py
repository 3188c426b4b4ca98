"""The controller's MQTT driver and the store-gateway client, against real brokers.

Every test here runs twice: against Mosquitto (production) and the embedded amqtt
broker (the default when no broker URL is configured).
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from gateways.base import Downlink, GatewayState, GatewayStatus, TransportStatus, Uplink
from gateways.errors import GatewayNotStartedError, InvalidTopicPartError
from gateways.mqtt.connection import PahoConnection
from gateways.mqtt.driver import MqttGateway
from gateways.mqtt.endpoint import BrokerEndpoint
from gateways.mqtt.store_gateway import StoreGatewayClient
from tests.gateways.mqtt_harness import FixedClock, events_until, events_within
from tests.support.waiting import until

pytestmark = pytest.mark.integration


def _client_id() -> str:
    return f"ctl-{uuid.uuid4().hex[:8]}"


def _is_uplink(event: object) -> bool:
    return isinstance(event, Uplink)


async def test_a_frame_reaches_its_gateway_and_the_answer_comes_back_as_an_uplink(
    broker: BrokerEndpoint,
) -> None:
    clock = FixedClock()
    async with MqttGateway(broker, client_id=_client_id(), clock=clock) as controller:
        gateway = StoreGatewayClient(broker, store="S001", gateway="gw1")
        await gateway.start()
        frames = gateway.frames()
        await controller.send(Downlink("S001", "gw1", "L-0001", b"\x01frame-bytes\x00"))
        assert await asyncio.wait_for(anext(frames), 5) == b"\x01frame-bytes\x00"
        await gateway.publish_up(b"\x02ack")

        seen = await events_until(controller, _is_uplink)
        assert seen[-1] == Uplink(
            store="S001", gateway="gw1", payload=b"\x02ack", received_at=clock.at
        )
        await gateway.stop()


async def test_frames_for_one_gateway_never_reach_another(broker: BrokerEndpoint) -> None:
    async with MqttGateway(broker, client_id=_client_id()) as controller:
        one = StoreGatewayClient(broker, store="S001", gateway="gw1")
        other = StoreGatewayClient(broker, store="S001", gateway="gw2")
        await one.start()
        await other.start()
        await controller.send(Downlink("S001", "gw2", "L2", b"for gw2"))
        await controller.send(Downlink("S001", "gw1", "L1", b"for gw1"))
        assert await asyncio.wait_for(anext(one.frames()), 5) == b"for gw1"
        assert await asyncio.wait_for(anext(other.frames()), 5) == b"for gw2"
        await one.stop()
        await other.stop()


async def test_many_concurrent_sends_beyond_the_in_flight_window_all_arrive_in_order(
    broker: BrokerEndpoint,
) -> None:
    async with MqttGateway(broker, client_id=_client_id(), max_in_flight=5) as controller:
        assert controller.max_in_flight == 5
        gateway = StoreGatewayClient(broker, store="S001", gateway="gw1")
        await gateway.start()
        payloads = [f"frame {n:03}".encode() for n in range(60)]
        await asyncio.gather(
            *(controller.send(Downlink("S001", "gw1", "L", payload)) for payload in payloads)
        )
        assert controller.unacknowledged == 0
        received = []
        async for frame in gateway.frames():
            received.append(frame)
            if len(received) == len(payloads):
                break
        assert received == payloads
        await gateway.stop()


async def test_a_gateway_is_seen_online_then_offline_when_it_stops(broker: BrokerEndpoint) -> None:
    clock = FixedClock()
    async with MqttGateway(broker, client_id=_client_id(), clock=clock) as controller:
        gateway = StoreGatewayClient(broker, store="S002", gateway="gw1")
        await gateway.start()
        online = await events_until(controller, lambda e: isinstance(e, GatewayStatus))
        assert online[-1] == GatewayStatus("S002", "gw1", GatewayState.ONLINE, clock.at)
        await gateway.stop()
        offline = await events_until(controller, lambda e: isinstance(e, GatewayStatus))
        status = offline[-1]
        assert isinstance(status, GatewayStatus)
        assert (status.state, status.reason) == (GatewayState.OFFLINE, "shutdown")


async def test_the_last_will_marks_a_gateway_offline_when_its_connection_dies(
    broker: BrokerEndpoint,
) -> None:
    async with MqttGateway(broker, client_id=_client_id()) as controller:
        gateway = StoreGatewayClient(broker, store="S003", gateway="gw1", client_id=_client_id())
        await gateway.start()
        await events_until(controller, lambda e: isinstance(e, GatewayStatus))
        await gateway.crash()
        seen = await events_until(controller, lambda e: isinstance(e, GatewayStatus))
        status = seen[-1]
        assert isinstance(status, GatewayStatus)
        assert (status.store, status.gateway) == ("S003", "gw1")
        assert (status.state, status.reason) == (GatewayState.OFFLINE, "connection lost")


async def test_a_controller_that_starts_later_learns_gateway_states_from_retained_status(
    broker: BrokerEndpoint,
) -> None:
    gateway = StoreGatewayClient(broker, store="S004", gateway="gw7")
    await gateway.start()
    async with MqttGateway(broker, client_id=_client_id()) as controller:
        seen = await events_until(controller, lambda e: isinstance(e, GatewayStatus))
        status = seen[-1]
        assert isinstance(status, GatewayStatus)
        assert (status.store, status.gateway, status.state) == ("S004", "gw7", GatewayState.ONLINE)
    await gateway.stop()


async def test_frames_sent_while_a_gateway_is_away_wait_for_it_in_its_session(
    broker: BrokerEndpoint,
) -> None:
    client_id = _client_id()
    async with MqttGateway(broker, client_id=_client_id()) as controller:
        gateway = StoreGatewayClient(broker, store="S001", gateway="gw1", client_id=client_id)
        await gateway.start()
        await gateway.crash()
        for n in range(5):
            await controller.send(Downlink("S001", "gw1", "L", f"queued {n}".encode()))

        back = StoreGatewayClient(broker, store="S001", gateway="gw1", client_id=client_id)
        await back.start()
        received = [await asyncio.wait_for(anext(back.frames()), 5) for _ in range(5)]
        assert received == [f"queued {n}".encode() for n in range(5)]
        await back.stop()


async def test_uplinks_sent_while_the_controller_is_down_arrive_when_it_returns(
    broker: BrokerEndpoint,
) -> None:
    controller_id = _client_id()
    first = MqttGateway(broker, client_id=controller_id)
    await first.start()
    await first.stop()

    gateway = StoreGatewayClient(broker, store="S005", gateway="gw1")
    await gateway.start()
    for n in range(3):
        await gateway.publish_up(f"ack {n}".encode())

    async with MqttGateway(broker, client_id=controller_id) as restarted:
        seen = await events_until(
            restarted, lambda e: isinstance(e, Uplink) and e.payload == b"ack 2"
        )
    assert [e.payload for e in seen if isinstance(e, Uplink)] == [b"ack 0", b"ack 1", b"ack 2"]
    await gateway.stop()


async def test_a_controller_limited_to_some_stores_hears_nothing_from_the_others(
    broker: BrokerEndpoint,
) -> None:
    async with MqttGateway(broker, client_id=_client_id(), stores=("S001",)) as controller:
        elsewhere = StoreGatewayClient(broker, store="S009", gateway="gw1")
        mine = StoreGatewayClient(broker, store="S001", gateway="gw1")
        await elsewhere.start()
        await elsewhere.publish_up(b"not for you")
        await mine.start()
        await mine.publish_up(b"for you")
        seen = await events_until(controller, _is_uplink)
        assert {(e.store, e.payload) for e in seen if isinstance(e, Uplink)} == {
            ("S001", b"for you")
        }
        assert all(getattr(e, "store", "S001") == "S001" for e in seen)
        await elsewhere.stop()
        await mine.stop()


async def test_messages_outside_the_layout_are_counted_and_dropped(broker: BrokerEndpoint) -> None:
    async with MqttGateway(broker, client_id=_client_id()) as controller:
        rogue = PahoConnection(
            broker,
            client_id=_client_id(),
            persistent_session=False,
            subscriptions=(),
            on_message=lambda _m: None,
        )
        await rogue.connect()
        await rogue.publish("esl/v1/S001/gw1/status", b"not json")
        await rogue.publish("esl/v1/S001/gw1/up", b"real")
        seen = await events_until(controller, _is_uplink)
        assert [type(e) for e in seen if not isinstance(e, TransportStatus)] == [Uplink]
        assert controller.ignored_messages == 1
        await rogue.disconnect()


async def test_sending_before_start_or_after_stop_is_refused(broker: BrokerEndpoint) -> None:
    controller = MqttGateway(broker, client_id=_client_id())
    downlink = Downlink("S001", "gw1", "L", b"x")
    with pytest.raises(GatewayNotStartedError):
        await controller.send(downlink)
    await controller.start()
    with pytest.raises(InvalidTopicPartError):
        await controller.send(Downlink("S001/#", "gw1", "L", b"x"))
    await controller.stop()
    with pytest.raises(GatewayNotStartedError):
        await controller.send(downlink)
    # The event stream ends once stopped, so a consumer loop terminates.
    assert [e async for e in controller.events() if not isinstance(e, TransportStatus)] == []


async def test_a_frame_no_topic_can_carry_is_refused_alone_and_the_batch_goes_out(
    broker: BrokerEndpoint,
) -> None:
    # The dispatcher hands every store's due frames to one send_all: a gateway id no topic
    # can carry (a row older than the API's check) kept every other store's frames in.
    async with MqttGateway(broker, client_id=_client_id()) as controller:
        healthy = StoreGatewayClient(broker, store="S002", gateway="S002-gw1")
        await healthy.start()
        frames = healthy.frames()
        outcomes = await controller.send_all(
            [
                Downlink("S001", "gw.1", "L-1", b"price for S001"),
                Downlink("S002", "S002-gw1", "L-2", b"price for S002"),
            ]
        )
        assert await asyncio.wait_for(anext(frames), 5) == b"price for S002"
        await healthy.stop()
    refused, sent = outcomes
    assert isinstance(refused, InvalidTopicPartError)
    assert refused.fields["value"] == "gw.1"
    assert sent is None


async def test_events_start_with_the_link_coming_up(broker: BrokerEndpoint) -> None:
    clock = FixedClock()
    async with MqttGateway(broker, client_id=_client_id(), clock=clock) as controller:
        seen = await events_until(controller, lambda e: isinstance(e, TransportStatus))
        assert seen == [TransportStatus(connected=True, at=clock.at)]
        assert controller.connected
        assert await events_within(controller, 0.2) == []


# The production broker only: the flood is mosquitto_pub's, unmodified, which the
# embedded broker's authentication refuses.
@pytest.mark.parametrize("broker", ["mosquitto"], indirect=True)
async def test_a_store_flooding_its_up_topic_loses_its_excess_and_another_store_gets_through(
    broker: BrokerEndpoint,
) -> None:
    # Before, every uplink waited in one unbounded queue: one store's login could grow the
    # controller's memory without limit, and other stores' answers queued behind its flood.
    bound = 50
    async with MqttGateway(
        broker, client_id=_client_id(), max_queued_per_store=bound
    ) as controller:
        flood = await asyncio.create_subprocess_exec(
            "mosquitto_pub",
            *("-h", broker.host, "-p", str(broker.port), "-q", "1"),
            *("-t", "esl/v1/S002/gw1/up", "-l"),  # one message per line of stdin
            stdin=asyncio.subprocess.PIPE,
        )
        await flood.communicate(b"".join(b"flood %d\n" % n for n in range(500)))
        assert flood.returncode == 0
        gateway = StoreGatewayClient(broker, store="S001", gateway="gw1")
        await gateway.start()
        await gateway.publish_up(b"genuine")
        await until(
            lambda: controller.dropped_uplinks.get("S002") == 500 - bound,
            what="the flood's excess dropped",
            timeout_s=20,
        )

        seen = await events_until(controller, lambda e: _is_uplink(e) and e.store == "S001")

        assert [e.payload for e in seen if isinstance(e, Uplink) and e.store == "S001"] == [
            b"genuine"
        ]
        assert sum(1 for e in seen if isinstance(e, Uplink) and e.store == "S002") == bound
        assert dict(controller.dropped_uplinks) == {"S002": 500 - bound}
        await gateway.stop()
