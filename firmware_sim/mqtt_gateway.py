"""A simulated store gateway on a real MQTT broker (paho-mqtt 2.x).

Topics (the layout every part of the system uses, see docs/protocol.md):

    esl/v1/{store}/{gateway}/down    frames from the controller, QoS 1 (subscribed)
    esl/v1/{store}/{gateway}/up      label responses, QoS 1 (published)
    esl/v1/{store}/{gateway}/status  retained {"state": "online"|"offline", ...};
                                     the last will says "offline"

paho runs its network loop on its own thread; `on_message` only copies the payload into
an asyncio queue with `call_soon_threadsafe`, so the simulation runs on one thread.
The session is persistent (client id `esl-gw-{store}-{gateway}`, as the real store
gateway client uses): frames published while the gateway is away wait at the broker.
What a restart loses is what the gateway held in memory: frames it had already taken
from the broker but not yet delivered to a label. The controller resends those when it
hears nothing back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from firmware_sim.label import FIRMWARE_VERSION
from firmware_sim.simulation import SimulatedSite
from gateways.mqtt.network_thread import stop_network_thread

__all__ = ["BrokerSettings", "MqttStoreGateway", "gateway_topic", "parse_broker_url"]

_log = logging.getLogger(__name__)


def gateway_topic(store: str, gateway: str, leaf: str) -> str:
    return f"esl/v1/{store}/{gateway}/{leaf}"


@dataclass(frozen=True, slots=True)
class BrokerSettings:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    keepalive_s: int = 30


def parse_broker_url(
    url: str,
    *,
    username: str | None = None,
    password: str | None = None,
    ca_file: Path | None = None,
    cert_file: Path | None = None,
    key_file: Path | None = None,
) -> BrokerSettings:
    """mqtt://user:pass@host:1883 or mqtts://host:8883?ca=/ca.pem&cert=/c.pem&key=/k.pem
    (the URL form the controller uses too); explicit arguments win over the URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts"):
        # Not the URL itself: it may carry a password.
        raise ValueError(f"broker URL: scheme must be mqtt:// or mqtts://, not {parts.scheme!r}")
    query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
    ca_file = ca_file or (Path(query["ca"]) if "ca" in query else None)
    cert_file = cert_file or (Path(query["cert"]) if "cert" in query else None)
    key_file = key_file or (Path(query["key"]) if "key" in query else None)
    tls = parts.scheme == "mqtts" or ca_file is not None
    return BrokerSettings(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or (8883 if tls else 1883),
        username=username or (unquote(parts.username) if parts.username else None),
        password=password or (unquote(parts.password) if parts.password else None),
        tls=tls,
        ca_file=ca_file,
        cert_file=cert_file,
        key_file=key_file,
    )


def _utc_now() -> datetime:
    return datetime.now(UTC)


class MqttStoreGateway:
    """Runs a `SimulatedSite` against a broker until `stop()`."""

    def __init__(
        self,
        site: SimulatedSite,
        broker: BrokerSettings,
        *,
        clock: Callable[[], datetime] = _utc_now,
        tick_s: float = 0.02,
        save_every_s: float = 5.0,
        restart_downtime_s: float = 1.0,
        write_ahead: bool = True,
    ) -> None:
        self.site = site
        # Labels that took a frame are saved before their answers leave (a kill -9 loses
        # no acknowledged image); only a benchmark of the controller turns it off.
        self._write_ahead = write_ahead
        self.broker = broker
        self._clock = clock
        self._tick_s = tick_s
        self._save_every_s = save_every_s
        self._restart_downtime_s = restart_downtime_s
        store, gateway = site.config.store, site.config.gateway
        self.down_topic = gateway_topic(store, gateway, "down")
        self.up_topic = gateway_topic(store, gateway, "up")
        self.status_topic = gateway_topic(store, gateway, "status")
        # Filled by paho's thread, emptied every tick (deque appends and pops are atomic):
        # no wake-up of the event loop per frame.
        self._inbox: deque[bytes] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: mqtt.Client | None = None
        self._connected = asyncio.Event()
        self._stopping = asyncio.Event()
        self.published = 0
        self.refusal: str | None = None

    # ------------------------------------------------------------ public

    async def run(self) -> None:
        """Connect, relay until `stop()`, then say offline, save and disconnect."""
        self._loop = asyncio.get_running_loop()
        self._connect()
        last_save = self._loop.time()
        try:
            while not self._stopping.is_set():
                now = self._clock()
                while self._inbox:
                    self.site.gateway.submit(self._inbox.popleft(), now=now)
                if self.site.gateway.restart_due(now=now):
                    await self._restart()
                    continue
                answers = (
                    self.site.advance(now=now)
                    if self._write_ahead
                    else self.site.gateway.advance(now=now)
                )
                for payload in answers:
                    self._publish(payload)
                if self._loop.time() - last_save >= self._save_every_s:
                    self.site.save()
                    last_save = self._loop.time()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self._tick_s)
        finally:
            await self._disconnect()
            self.site.save()

    async def wait_connected(self, timeout_s: float = 10.0) -> None:
        await asyncio.wait_for(self._connected.wait(), timeout_s)

    def stop(self) -> None:
        self._stopping.set()

    # ------------------------------------------------------------ paho

    def _connect(self) -> None:
        broker = self.broker
        config = self.site.config
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"esl-gw-{config.store}-{config.gateway}",
            clean_session=False,
        )
        if broker.username is not None:
            client.username_pw_set(broker.username, broker.password)
        if broker.tls:
            client.tls_set(
                ca_certs=str(broker.ca_file) if broker.ca_file else None,
                certfile=str(broker.cert_file) if broker.cert_file else None,
                keyfile=str(broker.key_file) if broker.key_file else None,
                cert_reqs=ssl.CERT_REQUIRED,
            )
        client.will_set(
            self.status_topic, self._status("offline", "connection lost"), qos=1, retain=True
        )
        client.reconnect_delay_set(min_delay=1, max_delay=5)
        client.max_inflight_messages_set(200)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.connect_async(broker.host, broker.port, keepalive=broker.keepalive_s)
        client.loop_start()
        self._client = client

    async def _disconnect(self, reason: str = "stopped") -> None:
        client, self._client = self._client, None
        self._connected.clear()
        if client is None:
            return
        # Off the event loop: waiting for the goodbye's PUBACK on it would stall the loop
        # for up to 2 s, and with it an embedded broker on the same loop (`esl demo`),
        # which then could not send that PUBACK either.
        await asyncio.to_thread(self._say_goodbye, client, self._status("offline", reason))

    def _say_goodbye(self, client: mqtt.Client, goodbye: str) -> None:
        if client.is_connected():
            with contextlib.suppress(RuntimeError):  # the link dropped meanwhile: the will says it
                client.publish(self.status_topic, goodbye, qos=1, retain=True).wait_for_publish(2)
        client.disconnect()
        stop_network_thread(client)

    def _publish(self, payload: bytes) -> None:
        if self._client is not None:
            self._client.publish(self.up_topic, payload, qos=1)
            self.published += 1

    async def _restart(self) -> None:
        _log.info("simulated gateway restart")
        await self._disconnect("restarting")
        self.site.save()
        await asyncio.sleep(self._restart_downtime_s)
        self._inbox.clear()  # frames that arrived as it went down die with it
        self.site.reload_labels(now=self._clock())
        self._connect()

    def _status(self, state: str, reason: str | None = None) -> str:
        config = self.site.config
        return json.dumps(
            {
                "state": state,
                **({"reason": reason} if reason else {}),
                "store": config.store,
                "gateway": config.gateway,
                "labels": len(self.site.gateway.labels),
                "firmware": f"sim-{FIRMWARE_VERSION}",
                "at": self._clock().isoformat(),
            }
        )

    def _on_connect(
        self, client: mqtt.Client, _userdata: Any, _flags: Any, reason_code: Any, _props: Any
    ) -> None:
        if reason_code.is_failure:
            _log.warning("broker refused the connection: %s", reason_code)
            self.refusal = str(reason_code)  # why `wait_connected` times out, for the CLI
            return
        client.subscribe(self.down_topic, qos=1)

    def _on_subscribe(
        self, client: mqtt.Client, _userdata: Any, _mid: int, reason_codes: Any, _props: Any
    ) -> None:
        # "online" only once the broker confirmed the subscription: from then on no frame
        # published for this gateway can miss it.
        if any(code.is_failure for code in reason_codes):
            _log.warning("broker refused the subscription to %s", self.down_topic)
            return
        client.publish(self.status_topic, self._status("online"), qos=1, retain=True)
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._connected.set)

    def _on_disconnect(
        self, _client: mqtt.Client, _userdata: Any, _flags: Any, _reason: Any, _props: Any
    ) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._connected.clear)

    def _on_message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        self._inbox.append(bytes(message.payload))
