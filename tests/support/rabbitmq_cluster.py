"""A real RabbitMQ cluster (MQTT plugin) on loopback, run as the current user in a temp dir.

    cluster = RabbitCluster.create(directory, config_dir, nodes=3)
    cluster.start()            # boots node 0, then the others join it; waits on MQTT
    cluster.nodes[1].kill()    # SIGKILL: a node dies mid-flight
    cluster.ensure_running()   # node 1 boots again on its data and rejoins the cluster
    cluster.stop()

Each node gets its own name (`<token>-<n>@localhost`), AMQP, distribution and MQTT ports,
data and log directories, and the files `esl mqtt config --broker rabbitmq` wrote
(`config_dir`: rabbitmq.conf with its definitions), with the node's own listener ports
put in place of the generated one. The nodes share one Erlang cookie through HOME. A node
that stops while booting because another process took one of its ports boots again on
other ports.

Why it boots this way (RabbitMQ 3.10, measured on a loaded 2-core machine):
- The plugin list is written as the `enabled_plugins` file itself: that is all
  `rabbitmq-plugins --offline enable rabbitmq_mqtt` does, and its CLI start costs 5-15 s.
- Clustering is peer discovery by configuration (`classic_config`), not `rabbitmqctl
  join_cluster` (stop_app, join, start_app: three more CLI starts per node). Node 0 boots
  alone; the others boot together and join it, because a node that finds no running peer
  forms a cluster of its own.
- Readiness is the real condition: the MQTT listener answers a CONNECT with CONNACK 0
  (authentication and the MQTT plugin's Raft client-id tracker are up), and a message
  published on one node reaches a subscriber on another.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from gateways.mqtt.endpoint import BrokerEndpoint
from gateways.mqtt.network_thread import stop_network_thread

__all__ = [
    "RABBITMQ_BIN",
    "LoginRefusedError",
    "NodeExitedError",
    "RabbitCluster",
    "RabbitNode",
    "find_rabbitmq",
    "mqtt_client",
]

RABBITMQ_BIN = Path("/usr/lib/rabbitmq/bin")
HOST = "127.0.0.1"
# Generous: one node boots in 20-40 s when eight test runs share two cores.
BOOT_TIMEOUT_S = 240.0
# A running node that refuses MQTT this long is not just busy.
DEAF_AFTER_S = 20.0


def find_rabbitmq() -> Path | None:
    server = RABBITMQ_BIN / "rabbitmq-server"
    return server if server.exists() else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def mqtt_client(
    endpoint: BrokerEndpoint, *, client_id: str, clean_session: bool = True
) -> mqtt.Client:
    """A paho client (MQTT 3.1.1, the only version RabbitMQ 3.10 speaks), not yet connected."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        clean_session=clean_session,
        protocol=MQTTProtocolVersion.MQTTv311,
    )
    if endpoint.username is not None:
        client.username_pw_set(endpoint.username, endpoint.password)
    return client


class LoginRefusedError(ConnectionRefusedError):
    """The listener answered, but not with CONNACK 0 (a TCP refusal is a plain
    ConnectionRefusedError)."""


@contextmanager
def connected(
    endpoint: BrokerEndpoint, *, client_id: str, timeout_s: float
) -> Iterator[mqtt.Client]:
    """A client whose CONNECT was accepted (CONNACK 0), disconnected on exit."""
    accepted = threading.Event()
    answer: list[object] = []
    client = mqtt_client(endpoint, client_id=client_id)

    def on_connect(_c: mqtt.Client, _u: object, _f: object, reason: object, _p: object) -> None:
        answer.append(reason)
        accepted.set()

    client.on_connect = on_connect
    client.connect(endpoint.host, endpoint.port, keepalive=30)
    client.loop_start()
    try:
        if not accepted.wait(timeout_s) or getattr(answer[0], "is_failure", True):
            raise LoginRefusedError(f"no CONNACK 0 from {endpoint.port}: {answer}")
        yield client
    finally:
        stop_network_thread(client)
        client.disconnect()


class NodeExitedError(RuntimeError):
    """The node stopped while booting (see its log in the message)."""


def _port_taken(port: int) -> bool:
    """Whether another process listens on `port` (bound as Erlang binds its listeners,
    with SO_REUSEADDR, so a closed connection's TIME_WAIT does not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return True
    return False


def _refuses_strangers(endpoint: BrokerEndpoint, client_id: str) -> bool:
    """Whether the listener refuses the probe's name with a wrong password: RabbitMQ does;
    a test's anonymous Mosquitto that took the port before the node bound it does not."""
    stranger = endpoint.with_credentials(endpoint.username or "esl-probe", "not-" + client_id)
    try:
        with connected(stranger, client_id=client_id, timeout_s=5):
            return False
    except LoginRefusedError:
        return True


@dataclass
class RabbitNode:
    name: str  # the Erlang node name, `<token>-<n>@localhost`
    directory: Path
    home: Path  # holds the shared .erlang.cookie
    config_dir: Path  # what `esl mqtt config --broker rabbitmq` wrote
    seed: str | None  # the node this one joins (None: it is the seed)
    amqp_port: int = field(default_factory=_free_port)
    dist_port: int = field(default_factory=_free_port)
    mqtt_port: int = field(default_factory=_free_port)
    _process: subprocess.Popen[bytes] | None = None

    def endpoint(self, username: str | None = None, password: str | None = None) -> BrokerEndpoint:
        return BrokerEndpoint(host=HOST, port=self.mqtt_port, username=username, password=password)

    @property
    def log_path(self) -> Path:
        return self.directory / "log" / f"{self.name}.log"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _write_config(self) -> Path:
        generated = (self.config_dir / "rabbitmq.conf").read_text(encoding="utf-8")
        lines = [
            line
            for line in generated.splitlines()
            if not line.startswith(("mqtt.listeners.tcp.default", "load_definitions"))
        ]
        peers = [self.name] if self.seed is None else [self.seed, self.name]
        lines += [
            f"mqtt.listeners.tcp.default = {HOST}:{self.mqtt_port}",
            f"load_definitions = {self.config_dir / 'definitions.json'}",
            f"listeners.tcp.default = {HOST}:{self.amqp_port}",
            "cluster_formation.peer_discovery_backend = classic_config",
            *(f"cluster_formation.classic_config.nodes.{i} = {p}" for i, p in enumerate(peers, 1)),
            # A joining node keeps looking for the seed instead of forming its own cluster.
            "cluster_formation.discovery_retry_limit = 240",
            "cluster_formation.discovery_retry_interval = 1000",
            # The disk space check would stop publishers on a nearly full /tmp.
            "disk_free_limit.absolute = 1MB",
        ]
        path = self.directory / "rabbitmq.conf"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    def environment(self) -> dict[str, str]:
        base = self.directory
        return {
            **os.environ,
            "HOME": str(self.home),
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_IP_ADDRESS": HOST,
            "RABBITMQ_NODE_PORT": str(self.amqp_port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(base / "log"),
            "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(base / "advanced.config"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
            "RABBITMQ_PID_FILE": str(base / "pid"),
            # The system's rabbitmq-env.conf is for the packaged service, not for us.
            "RABBITMQ_CONF_ENV_FILE": str(base / "rabbitmq-env.conf"),
        }

    def start(self) -> None:
        """Boot (or reboot, same data) the node; returns without waiting. It keeps its
        ports unless another process listens on one of them now (a test's broker that
        took a port while this node was down or still booting)."""
        server = find_rabbitmq()
        if server is None:
            raise RuntimeError("rabbitmq-server is not installed (apt-get install rabbitmq-server)")
        if any(_port_taken(port) for port in (self.amqp_port, self.dist_port, self.mqtt_port)):
            self.pick_new_ports()
        self.directory.mkdir(parents=True, exist_ok=True)
        self._write_config()
        (self.directory / "enabled_plugins").write_text("[rabbitmq_mqtt].\n")
        (self.directory / "rabbitmq-env.conf").write_text("")
        with (self.directory / "server.out").open("ab") as out:
            self._process = subprocess.Popen(
                [str(server)],
                env=self.environment(),
                # Erlang writes crash dumps (MnesiaCore.*, erl_crash.dump) where it runs:
                # in the node's own directory, not in the checkout.
                cwd=self.directory,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_mqtt(self, endpoint: BrokerEndpoint, *, timeout_s: float = BOOT_TIMEOUT_S) -> None:
        """Until this node accepts an MQTT login (CONNACK 0) and refuses a wrong password.

        The second half is what tells the node from an impostor: free ports are picked
        before the node binds them, and a Mosquitto that another test run started in
        between accepts anyone. Seen on CI: the probe's login went to such a broker, the
        cluster was declared up, and the next connection was refused when it stopped."""
        deadline = time.monotonic() + timeout_s
        last: Exception | None = None
        while time.monotonic() < deadline:
            if not self.running:
                raise NodeExitedError(f"{self.name} exited: {self._tail()}")
            try:
                with connected(endpoint, client_id=f"ready-{self.name}", timeout_s=5):
                    pass  # a broker let the probe in; whether it is this node is asked next
                if _refuses_strangers(endpoint, f"stranger-{self.name}"):
                    return
                last = RuntimeError(f"port {endpoint.port} is another broker's")
            except OSError as exc:
                last = exc
            time.sleep(0.5)
        raise RuntimeError(f"{self.name} never accepted MQTT ({last}): {self._tail()}")

    def ctl(self, *args: str, timeout_s: float = 120.0) -> str:
        """`rabbitmqctl -n <this node> ARGS`'s output (a CLI start costs seconds: use sparingly)."""
        done = subprocess.run(
            [str(RABBITMQ_BIN / "rabbitmqctl"), "-n", self.name, *args],
            env=self.environment(),
            cwd=self.directory,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)}: {done.stderr or done.stdout}")
        return done.stdout

    def pick_new_ports(self) -> None:
        """Other free ports, for a first boot that lost one of its ports to another process
        (free ports are picked before the node binds them: another test run may bind one
        first). Peers find a node by name (epmd), so its ports may change between boots."""
        self.amqp_port, self.dist_port, self.mqtt_port = _free_port(), _free_port(), _free_port()

    def kill(self) -> None:
        """SIGKILL the Erlang VM: no goodbye to clients or peers."""
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        """SIGTERM: RabbitMQ shuts down in order (closes client connections first)."""
        self._signal(signal.SIGTERM)

    def _signal(self, sig: signal.Signals) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        # The server script `exec`s erl, but its session also holds erl_child_setup.
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def _tail(self) -> str:
        """The end of the node's log and of its console (where a boot failure is printed)."""
        parts = [
            f"--- {path.name}:\n{path.read_text(errors='replace')[-3000:]}"
            for path in (self.log_path, self.directory / "server.out")
            if path.exists()
        ]
        return "\n".join(parts) or f"(no log in {self.directory})"


@dataclass
class RabbitCluster:
    nodes: list[RabbitNode]
    config_dir: Path
    # The admin the readiness checks log in as (listed in the definitions by `create`).
    probe: BrokerEndpoint = field(default_factory=lambda: BrokerEndpoint(HOST, 0))
    boot_seconds: float = 0.0
    deaf_nodes: int = 0  # nodes found running but refusing MQTT, stopped and booted again
    routing_retries: int = 0  # checks that the nodes route for each other begun again

    @classmethod
    def create(cls, directory: Path, config_dir: Path, *, nodes: int = 3) -> RabbitCluster:
        """Nodes for `config_dir`'s files; a probe user with every right is added to its
        definitions for the fixture's own readiness checks."""
        token = secrets.token_hex(3)
        home = directory / "home"
        home.mkdir(parents=True, exist_ok=True)
        cookie = home / ".erlang.cookie"
        cookie.write_text(secrets.token_hex(16))
        cookie.chmod(0o400)
        probe_password = secrets.token_urlsafe(12)
        _add_probe_user(config_dir / "definitions.json", "esl-probe", probe_password)
        names = [f"esl{token}-{n}@localhost" for n in range(nodes)]
        members = [
            RabbitNode(
                name=name,
                directory=directory / name.split("@")[0],
                home=home,
                config_dir=config_dir,
                seed=None if n == 0 else names[0],
            )
            for n, name in enumerate(names)
        ]
        probe = BrokerEndpoint(HOST, 0, "esl-probe", probe_password)
        return cls(nodes=members, config_dir=config_dir, probe=probe)

    def probe_endpoint(self, node: RabbitNode) -> BrokerEndpoint:
        return node.endpoint(self.probe.username, self.probe.password)

    def start(self) -> None:
        begun = time.monotonic()
        seed, *joiners = self.nodes
        self._boot([seed])
        self._boot(joiners)
        self._wait_routing()
        self.boot_seconds = time.monotonic() - begun

    def _boot(self, nodes: list[RabbitNode], *, attempts: int = 3) -> None:
        """Boot `nodes` together; one that stops while booting (a listener port taken by
        someone else between picking and binding it: its log says so) boots again on
        other ports, up to `attempts` times in all."""
        for node in nodes:
            node.start()
        for node in nodes:
            for attempt in range(1, attempts + 1):
                try:
                    node.wait_mqtt(self.probe_endpoint(node))
                    break
                except NodeExitedError:
                    if attempt == attempts:
                        raise
                    node.pick_new_ports()
                    node.start()

    def wait_clustered(self, *, timeout_s: float = 60.0) -> None:
        """Until a message published on each running node reaches a subscriber on the first
        running one: the nodes route for each other."""
        running = [node for node in self.nodes if node.running]
        listener, *others = running
        topic = f"esl-probe/{secrets.token_hex(4)}"
        arrived: set[bytes] = set()
        got = threading.Condition()

        def on_message(_c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
            with got:
                arrived.add(message.payload)
                got.notify_all()

        probe = self.probe_endpoint
        with connected(probe(listener), client_id="probe-sub", timeout_s=30) as subscriber:
            subscriber.on_message = on_message
            subscriber.subscribe(topic, qos=1)
            deadline = time.monotonic() + timeout_s
            for node in others:
                with connected(probe(node), client_id=f"probe-{node.name}", timeout_s=30) as pub:
                    payload = node.name.encode()
                    with got:
                        while payload not in arrived:
                            pub.publish(topic, payload, qos=1)
                            if not got.wait(timeout=1.0) and time.monotonic() > deadline:
                                raise RuntimeError(f"{node.name} does not route to {listener.name}")

    def ensure_running(self) -> None:
        """Boot every node that is down or deaf (same data, same ports unless one was taken
        meanwhile: it rejoins), then wait until the whole cluster routes again.

        Deaf: its VM runs but its MQTT listener refuses connections for
        `DEAF_AFTER_S` (seen once on CI after a node was killed and booted again: the
        next tests on that node were refused at TCP). Its log is kept beside it
        (`deaf-<n>.log`) and it is stopped and booted again.
        """
        down = self._down_or_deaf()
        self._boot(down)
        if down:
            self._wait_routing()

    def _down_or_deaf(self) -> list[RabbitNode]:
        return [node for node in self.nodes if not node.running or self._deaf(node)]

    def _wait_routing(self, *, attempts: int = 3) -> None:
        """`wait_clustered`; a node that stopped or went deaf meanwhile (a failed join, a
        crash under load) is booted again and the check starts over, `attempts` in all."""
        for attempt in range(1, attempts + 1):
            try:
                self.wait_clustered()
                return
            except (OSError, RuntimeError):
                if attempt == attempts:
                    raise
                self.routing_retries += 1
                self._boot(self._down_or_deaf())

    def _deaf(self, node: RabbitNode) -> bool:
        try:
            node.wait_mqtt(self.probe_endpoint(node), timeout_s=DEAF_AFTER_S)
        except NodeExitedError:
            return True
        except RuntimeError:
            self.deaf_nodes += 1
            kept = node.directory / f"deaf-{self.deaf_nodes}.log"
            kept.write_text(node._tail(), encoding="utf-8")
            node.stop()
            return True
        return False

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


def _add_probe_user(definitions: Path, username: str, password: str) -> None:
    from esl.mqtt.rabbitmq_config import HASHING_ALGORITHM, rabbitmq_password_hash

    body = json.loads(definitions.read_text(encoding="utf-8"))
    body["users"].append(
        {
            "name": username,
            "password_hash": rabbitmq_password_hash(password),
            "hashing_algorithm": HASHING_ALGORITHM,
            "tags": ["administrator"],
            "limits": {},
        }
    )
    for vhost in body["vhosts"]:
        body["permissions"].append(
            {
                "user": username,
                "vhost": vhost["name"],
                "configure": ".*",
                "write": ".*",
                "read": ".*",
            }
        )
    definitions.write_text(json.dumps(body, indent=2), encoding="utf-8")
