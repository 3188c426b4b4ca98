"""The RabbitMQ files for a clustered deployment (MQTT plugin, RabbitMQ 3.10).

`write_rabbitmq_config(directory, gateways)` writes

    rabbitmq.conf      the MQTT listener, the `esl` vhost, no anonymous logins, QoS 1
                       session queues as quorum queues (replicated to every node), and
                       `load_definitions` pointing at definitions.json
    definitions.json   the vhost, one user per gateway plus the controller and its
                       login per store (`{controller}.{store}`, as for Mosquitto; salted
                       SHA-256 hashes, no plain passwords), queue permissions and topic
                       permissions; `rabbitmqctl import_definitions` loads it into a
                       running cluster, `load_definitions` into a booting one
    credentials.json   the plain passwords, mode 0600, shared with `esl mqtt config`'s
                       Mosquitto output (same accounts, same passwords)

How MQTT maps onto RabbitMQ's permissions, and why each pattern is what it is:

- Every MQTT publish goes to the topic exchange `amq.topic` with the topic as routing
  key, `/` turned into `.` (`esl/v1/S01/gw1/up` -> `esl.v1.S01.gw1.up`). Topic
  permissions are regular expressions over that routing key: `write` for publishing,
  `read` for subscribing (the filter's routing key, `+` turned into `*`). Store and
  gateway ids never contain `.` (see `validate_topic_part`), so the mapping is one to one.
- A subscription is a queue named `mqtt-subscription-<client id>qos0|qos1`, declared,
  bound to `amq.topic` and consumed by the client. Queue permissions (configure, write,
  read) name only the client's own queues, so a login cannot declare, drain or delete
  another client's session queue. This is RabbitMQ's counterpart of Mosquitto's
  `use_username_as_clientid`: the session a client id names is reachable only by the
  login that owns that client id.
- Nothing is allowed that is not listed: RabbitMQ denies by default.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from esl.mqtt.errors import MosquittoConfigError, RabbitmqConfigError
from esl.mqtt.mosquitto_config import (
    CREDENTIALS_FILE,
    DEFAULT_CONTROLLER_USERNAME,
    BrokerAccounts,
    GatewayAccount,
    credentials_body,
    known_passwords,
    plan_accounts,
    write_private,
)
from gateways.mqtt.driver import DEFAULT_CONTROLLER_CLIENT_ID
from gateways.mqtt.store_gateway import store_gateway_client_id
from gateways.mqtt.topics import TopicKind

__all__ = [
    "DEFAULT_VHOST",
    "WrittenRabbitConfig",
    "rabbitmq_password_hash",
    "render_definitions",
    "render_rabbitmq_conf",
    "routing_key_pattern",
    "write_rabbitmq_config",
]

DEFAULT_VHOST = "esl"
TOPIC_EXCHANGE = "amq.topic"
HASHING_ALGORITHM = "rabbit_password_hashing_sha256"
# The version whose definitions format this is (3.10: the Debian 12 package).
RABBITMQ_VERSION = "3.10.8"
# One level of our topics (store or gateway id), as RabbitMQ sees it in a routing key.
_LEVEL = "[A-Za-z0-9_-]+"
# MQTT clients name a vhost inside their username (`vhost:user`): keep it plain.
_VHOST = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True, slots=True)
class WrittenRabbitConfig:
    conf: Path
    definitions: Path
    credentials: Path
    accounts: BrokerAccounts
    new_usernames: tuple[str, ...]


def rabbitmq_password_hash(password: str, *, salt: bytes | None = None) -> str:
    """RabbitMQ's `rabbit_password_hashing_sha256`: base64(salt + sha256(salt + password)),
    with a 4-byte salt."""
    salt = os.urandom(4) if salt is None else salt
    digest = hashlib.sha256(salt + password.encode()).digest()
    return base64.b64encode(salt + digest).decode()


def routing_key_pattern(store: str, gateway: str, kinds: Iterable[TopicKind]) -> str:
    """`^esl\\.v1\\.S01\\.gw1\\.(up|status)$`: exactly these topics of one gateway."""
    alternatives = "|".join(kind.value for kind in kinds)
    return rf"^esl\.v1\.{re.escape(store)}\.{re.escape(gateway)}\.({alternatives})$"


def _own_queues(client_id_pattern: str) -> str:
    return f"^mqtt-subscription-{client_id_pattern}qos[01]$"


def _queue_permissions(user: str, vhost: str, client_id_pattern: str) -> dict[str, str]:
    queues = _own_queues(client_id_pattern)
    # Subscribing binds the client's queue to amq.topic: write on the queue, read on the
    # exchange. Publishing is write on the exchange. Consuming is read on the queue.
    both = f"^(amq\\.topic|mqtt-subscription-{client_id_pattern}qos[01])$"
    return {"user": user, "vhost": vhost, "configure": queues, "write": both, "read": both}


def render_definitions(accounts: BrokerAccounts, *, vhost: str = DEFAULT_VHOST) -> dict[str, Any]:
    """The definitions document RabbitMQ imports: users, the vhost and permissions."""
    controller = accounts.controller.username
    # Each controller process adds a suffix to the client id (`esl-controller-<host>-<pid>-
    # <id>`, host names keep their dots), so that two never share a session.
    controller_ids = f"{re.escape(DEFAULT_CONTROLLER_CLIENT_ID)}[A-Za-z0-9._-]*"
    users = [
        {
            "name": account.username,
            "password_hash": rabbitmq_password_hash(account.password),
            "hashing_algorithm": HASHING_ALGORITHM,
            "tags": [],
            "limits": {},
        }
        for account in accounts.logins
    ]
    permissions = [_queue_permissions(controller, vhost, controller_ids)]
    topic_permissions = [
        {
            "user": controller,
            "vhost": vhost,
            "exchange": TOPIC_EXCHANGE,
            "write": rf"^esl\.v1\.{_LEVEL}\.{_LEVEL}\.down$",
            # Its subscriptions are wildcard filters (`esl/v1/+/+/up` -> `esl.v1.*.*.up`)
            # or per-store ones (`esl/v1/S01/+/up`).
            "read": rf"^esl\.v1\.(\*|{_LEVEL})\.(\*|{_LEVEL})\.(up|status)$",
        }
    ]
    # The controller's login per store (its session hearing that store): the store's
    # answers and statuses only, on a session queue of a controller's client id.
    for session in accounts.store_sessions:
        permissions.append(_queue_permissions(session.username, vhost, controller_ids))
        topic_permissions.append(
            {
                "user": session.username,
                "vhost": vhost,
                "exchange": TOPIC_EXCHANGE,
                "write": "^$",
                "read": rf"^esl\.v1\.{re.escape(session.store)}\.\*\.(up|status)$",
            }
        )
    for account in accounts.gateways:
        permissions.append(_gateway_queue_permissions(account, vhost))
        topic_permissions.append(
            {
                "user": account.username,
                "vhost": vhost,
                "exchange": TOPIC_EXCHANGE,
                "write": routing_key_pattern(
                    account.store, account.gateway, (TopicKind.UP, TopicKind.STATUS)
                ),
                "read": routing_key_pattern(account.store, account.gateway, (TopicKind.DOWN,)),
            }
        )
    return {
        "rabbit_version": RABBITMQ_VERSION,
        "rabbitmq_version": RABBITMQ_VERSION,
        "users": users,
        "vhosts": [{"name": vhost}],
        "permissions": permissions,
        "topic_permissions": topic_permissions,
        "parameters": [],
        "global_parameters": [],
        "policies": [],
        "queues": [],
        "exchanges": [],
        "bindings": [],
    }


def _gateway_queue_permissions(account: GatewayAccount, vhost: str) -> dict[str, str]:
    client_id = store_gateway_client_id(store=account.store, gateway=account.gateway)
    return _queue_permissions(account.username, vhost, re.escape(client_id))


def render_rabbitmq_conf(
    *,
    definitions: Path,
    mqtt_port: int = 1883,
    bind_address: str = "0.0.0.0",
    vhost: str = DEFAULT_VHOST,
) -> str:
    return "\n".join(
        [
            "# RabbitMQ 3.10 configuration written by `esl mqtt config --broker rabbitmq`.",
            "# The same file on every cluster node; enable the plugin on each:",
            "#   rabbitmq-plugins enable rabbitmq_mqtt",
            f"mqtt.listeners.tcp.default = {bind_address}:{mqtt_port}",
            "mqtt.allow_anonymous = false",
            f"mqtt.vhost = {vhost}",
            f"mqtt.exchange = {TOPIC_EXCHANGE}",
            "# Persistent sessions' QoS 1 queues are quorum queues: replicated (Raft) to the",
            "# cluster's nodes, so a session and its queued frames outlive the node it was on.",
            "mqtt.durable_queue_type = quorum",
            "# Sessions are never expired by the broker: a gateway away for a week still gets",
            "# its frames (the controller's retry policy decides what is stale).",
            "mqtt.subscription_ttl = infinity",
            "# Users, the vhost and permissions (no default guest user is created).",
            f"load_definitions = {definitions}",
            "",
        ]
    )


def write_rabbitmq_config(
    directory: Path,
    gateways: Iterable[tuple[str, str]],
    *,
    controller_username: str = DEFAULT_CONTROLLER_USERNAME,
    install_dir: Path | None = None,
    port: int = 1883,
    bind_address: str = "0.0.0.0",
    vhost: str = DEFAULT_VHOST,
) -> WrittenRabbitConfig:
    """Write the three files into `directory`; `install_dir` is where they live on each node."""
    directory.mkdir(parents=True, exist_ok=True)
    credentials = directory / CREDENTIALS_FILE
    try:
        known = known_passwords(credentials)
        accounts = plan_accounts(
            gateways, controller_username=controller_username, known_passwords=known
        )
    except MosquittoConfigError as exc:  # the account rules are shared with Mosquitto's
        raise RabbitmqConfigError(reason=str(exc.fields["reason"])) from exc
    if not _VHOST.fullmatch(vhost):
        raise RabbitmqConfigError(reason=f"vhost {vhost!r}: use 1-64 of A-Z a-z 0-9 _ -")
    conf = directory / "rabbitmq.conf"
    definitions = directory / "definitions.json"
    conf.write_text(
        render_rabbitmq_conf(
            definitions=(install_dir or directory).absolute() / definitions.name,
            mqtt_port=port,
            bind_address=bind_address,
            vhost=vhost,
        ),
        encoding="utf-8",
    )
    # Hashes only, but still credentials: readable by the broker's user alone.
    write_private(definitions, json.dumps(render_definitions(accounts, vhost=vhost), indent=2))
    write_private(credentials, json.dumps(credentials_body(accounts), indent=2) + "\n")
    new = tuple(a.username for a in accounts.all if a.username not in known)
    return WrittenRabbitConfig(conf, definitions, credentials, accounts, new)
