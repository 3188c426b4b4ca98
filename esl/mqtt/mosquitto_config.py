"""The Mosquitto files for a real deployment: config, password file, ACL, credentials.

`write_mosquitto_config(directory, gateways)` writes

    mosquitto.conf     listeners, no anonymous clients, client id = username, packet
                       size limit, persistence, queue limits
    passwords          `user:$7$...` lines (see mosquitto_password.py), mode 0600
    acl                per gateway: read own .../down, write own .../up and .../status;
                       the controller: write every .../down, read every .../up and
                       .../status, nothing else; its login per store
                       (`{controller}.{store}`, the controller's password): read that
                       store's .../up and .../status only
    credentials.json   the plain passwords, mode 0600, for provisioning gateways

Hardening, and why:

- `use_username_as_clientid true`: the broker uses each client's username as its client
  id, whatever the client asked for. A client id names a session (subscriptions, queued
  messages); without this, one gateway's login could connect with the controller's or
  another gateway's client id, take over that session and read what it queues.
- `max_packet_size`: one protocol frame (`MAX_FRAME_BYTES`) in a PUBLISH on the longest
  topic, and no more: larger packets are refused by the broker before any client
  reads them.
- the plain listener can be left out when TLS is configured (`plain_listener=False`).
- gateway names generated per store include the store (`S001-gw1`): gateway ids are
  unique across stores by construction (the controller's database keys gateways by id).

Running it again keeps the passwords of accounts that already exist in
credentials.json and only invents passwords for new ones, so adding a store does not
re-provision every gateway.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict, Unpack

from esl.mqtt.errors import MosquittoConfigError
from esl.mqtt.mosquitto_password import generate_password, hash_password
from gateways.errors import InvalidTopicPartError
from gateways.mqtt.packet_size import DEFAULT_MAX_PACKET_BYTES
from gateways.mqtt.store_gateway import store_gateway_client_id
from gateways.mqtt.topics import (
    TOPIC_ROOT,
    TopicKind,
    store_session_username,
    topic_for,
    validate_topic_part,
)

__all__ = [
    "CREDENTIALS_FILE",
    "DEFAULT_CONTROLLER_USERNAME",
    "MAX_PACKET_BYTES",
    "Account",
    "BrokerAccounts",
    "GatewayAccount",
    "ListenerTls",
    "MosquittoListeners",
    "WrittenConfig",
    "credentials_body",
    "gateway_username",
    "gateways_from_counts",
    "gateways_from_lines",
    "known_passwords",
    "plan_accounts",
    "render_acl",
    "render_mosquitto_conf",
    "render_password_file",
    "write_mosquitto_config",
    "write_private",
]

DEFAULT_CONTROLLER_USERNAME = "esl-controller"
CREDENTIALS_FILE = "credentials.json"
# One protocol frame on the longest topic (gateways/mqtt/packet_size.py): the size the
# controller's driver assumes unless told otherwise (ESL_MQTT_MAX_PACKET_BYTES).
MAX_PACKET_BYTES = DEFAULT_MAX_PACKET_BYTES


@dataclass(frozen=True, slots=True)
class Account:
    username: str
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class StoreSessionAccount:
    store: str
    username: str
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class GatewayAccount:
    store: str
    gateway: str
    username: str
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class BrokerAccounts:
    controller: Account
    gateways: tuple[GatewayAccount, ...]

    @property
    def all(self) -> tuple[Account | GatewayAccount, ...]:
        return (self.controller, *self.gateways)

    @property
    def store_sessions(self) -> tuple[StoreSessionAccount, ...]:
        """The controller's login per store for its session hearing that store
        (`gateways.mqtt.driver`): one session per store, so one store's flood fills only
        its own queue; the broker takes the username as the client id, so each needs a
        username of its own. The controller's password: nothing more to hand out."""
        stores = sorted({account.store for account in self.gateways})
        username = self.controller.username
        return tuple(
            StoreSessionAccount(
                store, store_session_username(username, store), self.controller.password
            )
            for store in stores
        )

    @property
    def logins(self) -> tuple[Account | GatewayAccount | StoreSessionAccount, ...]:
        """Every login the broker checks: `all` and the controller's per store."""
        return (*self.all, *self.store_sessions)


@dataclass(frozen=True, slots=True)
class ListenerTls:
    port: int
    certfile: Path
    keyfile: Path
    cafile: Path | None = None
    require_client_certificate: bool = False


@dataclass(frozen=True, slots=True)
class WrittenConfig:
    conf: Path
    passwords: Path
    acl: Path
    credentials: Path
    accounts: BrokerAccounts
    new_usernames: tuple[str, ...]


def gateway_username(*, store: str, gateway: str) -> str:
    return f"{store}.{gateway}"


def gateways_from_counts(stores: Iterable[str], *, per_store: int) -> list[tuple[str, str]]:
    """`{store}-gw1`..`{store}-gwN` in each store: gateway ids unique across stores."""
    if per_store < 1:
        raise MosquittoConfigError(reason="each store needs at least one gateway")
    codes = [store.strip() for store in stores]
    return [(store, f"{store}-gw{n}") for store in codes for n in range(1, per_store + 1)]


def gateways_from_lines(lines: Iterable[str]) -> list[tuple[str, str]]:
    """`store,gateway` per line (blank lines and `#` comments skipped)."""
    pairs = []
    for number, raw in enumerate(lines, start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        fields = [part.strip() for part in line.replace(",", " ").split()]
        if len(fields) != 2:
            raise MosquittoConfigError(reason=f"line {number}: expected 'store,gateway'")
        pairs.append((fields[0], fields[1]))
    return pairs


def plan_accounts(
    gateways: Iterable[tuple[str, str]],
    *,
    controller_username: str = DEFAULT_CONTROLLER_USERNAME,
    known_passwords: dict[str, str] | None = None,
    new_password: Callable[[], str] = generate_password,
) -> BrokerAccounts:
    """One account per gateway plus the controller, reusing `known_passwords` by username."""
    known = known_passwords or {}
    pairs = list(gateways)
    if not pairs:
        raise MosquittoConfigError(reason="no gateways given")
    if len(set(pairs)) != len(pairs):
        raise MosquittoConfigError(reason="a store/gateway pair is listed twice")
    if not controller_username or any(c in controller_username for c in ": \t\n#"):
        raise MosquittoConfigError(reason="the controller username may not contain ':' or spaces")
    accounts = []
    for store, gateway in pairs:
        try:
            validate_topic_part(store, kind="store")
            validate_topic_part(gateway, kind="gateway")
        except InvalidTopicPartError as exc:
            raise MosquittoConfigError(reason=exc.message) from exc
        username = gateway_username(store=store, gateway=gateway)
        accounts.append(
            GatewayAccount(store, gateway, username, known.get(username) or new_password())
        )
    # A gateway's MQTT client id (its session, and on RabbitMQ its session queue) joins
    # store and gateway with "-", which ids may hold: "S0"/"1-gw1" and "S0-1"/"gw1" would
    # share one session, and each login could read the other store's frames.
    by_client: dict[str, tuple[str, str]] = {}
    for account in accounts:
        client = store_gateway_client_id(store=account.store, gateway=account.gateway)
        other = by_client.setdefault(client, (account.store, account.gateway))
        if other != (account.store, account.gateway):
            raise MosquittoConfigError(
                reason=f"gateways {other[0]}/{other[1]} and {account.store}/{account.gateway} "
                f"would share the MQTT client id {client}: rename one"
            )
    if controller_username in {a.username for a in accounts}:
        raise MosquittoConfigError(reason="the controller username clashes with a gateway's")
    controller = Account(controller_username, known.get(controller_username) or new_password())
    planned = BrokerAccounts(controller=controller, gateways=tuple(accounts))
    if {s.username for s in planned.store_sessions} & {a.username for a in accounts}:
        raise MosquittoConfigError(
            reason="the controller's login for a store clashes with a gateway's"
        )
    return planned


def render_acl(accounts: BrokerAccounts) -> str:
    lines = [
        "# Written by `esl mqtt config`. A gateway reads only its own down topic and writes",
        "# only its own up and status topics; the controller writes frames and reads answers",
        "# and statuses; nothing else is allowed (Mosquitto denies by default). Denied",
        "# publishes are dropped silently; denied subscriptions get nothing.",
        "",
        f"user {accounts.controller.username}",
        f"topic write {TOPIC_ROOT}/+/+/{TopicKind.DOWN.value}",
        f"topic read {TOPIC_ROOT}/+/+/{TopicKind.UP.value}",
        f"topic read {TOPIC_ROOT}/+/+/{TopicKind.STATUS.value}",
    ]
    for session in accounts.store_sessions:
        lines += [
            "",
            f"user {session.username}",
            f"topic read {TOPIC_ROOT}/{session.store}/+/{TopicKind.UP.value}",
            f"topic read {TOPIC_ROOT}/{session.store}/+/{TopicKind.STATUS.value}",
        ]
    for account in accounts.gateways:
        store, gateway = account.store, account.gateway
        lines += [
            "",
            f"user {account.username}",
            f"topic read {topic_for(store=store, gateway=gateway, kind=TopicKind.DOWN)}",
            f"topic write {topic_for(store=store, gateway=gateway, kind=TopicKind.UP)}",
            f"topic write {topic_for(store=store, gateway=gateway, kind=TopicKind.STATUS)}",
        ]
    return "\n".join(lines) + "\n"


def render_password_file(
    accounts: BrokerAccounts, *, hash_with: Callable[[str], str] = hash_password
) -> str:
    return "".join(f"{a.username}:{hash_with(a.password)}\n" for a in accounts.logins)


class MosquittoListeners(TypedDict, total=False):
    """The listener options `write_mosquitto_config` passes on to `render_mosquitto_conf`,
    whose defaults they take."""

    port: int
    bind_address: str
    tls: ListenerTls | None
    max_queued_messages: int
    plain_listener: bool


def render_mosquitto_conf(
    *,
    install_dir: Path,
    port: int = 1883,
    bind_address: str = "0.0.0.0",
    tls: ListenerTls | None = None,
    max_queued_messages: int = 10_000,
    plain_listener: bool = True,
) -> str:
    if not plain_listener and tls is None:
        raise MosquittoConfigError(reason="without the plain listener a TLS listener is needed")
    lines = [
        "# Mosquitto 2.x configuration written by `esl mqtt config`.",
        "# Every client logs in with a password; acl_file says what each may read and write.",
        "per_listener_settings false",
        "allow_anonymous false",
        "# One protocol frame on the longest topic; larger packets are refused unread.",
        f"max_packet_size {MAX_PACKET_BYTES}",
        f"password_file {install_dir / 'passwords'}",
        f"acl_file {install_dir / 'acl'}",
        "",
        "# Persistent sessions (controller and gateways) and their queued QoS 1 messages",
        "# survive a broker restart.",
        "persistence true",
        f"persistence_location {install_dir / 'data'}/",
        "",
        "# QoS 1 messages Mosquitto queues per slow or offline client before it drops new ones",
        "# (default 1000). The controller's per-gateway window keeps well below it.",
        f"max_queued_messages {max_queued_messages}",
    ]
    # The username is the client id: a login can only ever resume its own session.
    # Mosquitto 2.0 reads this option per listener, so it follows each listener line.
    same_id = "use_username_as_clientid true"
    if plain_listener:
        lines += ["", f"listener {port} {bind_address}", same_id]
    if tls is not None:
        lines += ["", f"listener {tls.port} {bind_address}", same_id]
        lines += [f"certfile {tls.certfile}", f"keyfile {tls.keyfile}"]
        if tls.cafile is not None:
            lines.append(f"cafile {tls.cafile}")
        lines.append(f"require_certificate {'true' if tls.require_client_certificate else 'false'}")
    return "\n".join(lines) + "\n"


def known_passwords(credentials: Path) -> dict[str, str]:
    if not credentials.exists():
        return {}
    try:
        body = json.loads(credentials.read_text(encoding="utf-8"))
        entries = [body["controller"], *body["gateways"]]
        return {str(e["username"]): str(e["password"]) for e in entries}
    except (ValueError, KeyError, TypeError) as exc:
        raise MosquittoConfigError(reason=f"{credentials} is not a credentials file") from exc


def credentials_body(accounts: BrokerAccounts) -> dict[str, object]:
    """credentials.json's content: every account's plain password, for provisioning."""
    return {
        "controller": {
            "username": accounts.controller.username,
            "password": accounts.controller.password,
        },
        "gateways": [
            {"store": a.store, "gateway": a.gateway, "username": a.username, "password": a.password}
            for a in accounts.gateways
        ],
    }


def write_private(path: Path, text: str) -> None:
    # Created 0600 from the start: a password never sits in a world-readable file.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    path.chmod(0o600)


def write_mosquitto_config(
    directory: Path,
    gateways: Iterable[tuple[str, str]],
    *,
    controller_username: str = DEFAULT_CONTROLLER_USERNAME,
    install_dir: Path | None = None,
    **listeners: Unpack[MosquittoListeners],
) -> WrittenConfig:
    """Write the four files into `directory`; `install_dir` is where they live on the broker,
    `listeners` as `render_mosquitto_conf` takes them."""
    directory.mkdir(parents=True, exist_ok=True)
    credentials = directory / CREDENTIALS_FILE
    known = known_passwords(credentials)
    accounts = plan_accounts(
        gateways, controller_username=controller_username, known_passwords=known
    )
    conf = directory / "mosquitto.conf"
    passwords = directory / "passwords"
    acl = directory / "acl"
    conf.write_text(
        render_mosquitto_conf(install_dir=(install_dir or directory).absolute(), **listeners),
        encoding="utf-8",
    )
    write_private(passwords, render_password_file(accounts))
    acl.write_text(render_acl(accounts), encoding="utf-8")
    (directory / "data").mkdir(exist_ok=True)
    write_private(credentials, json.dumps(credentials_body(accounts), indent=2) + "\n")
    new = tuple(a.username for a in accounts.all if a.username not in known)
    return WrittenConfig(conf, passwords, acl, credentials, accounts, new)
