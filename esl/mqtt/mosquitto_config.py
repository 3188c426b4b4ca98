"""The Mosquitto files for a real deployment: config, password file, ACL, credentials.

`write_mosquitto_config(directory, gateways)` writes

    mosquitto.conf     listeners, no anonymous clients, persistence, queue limits
    passwords          `user:$7$...` lines (see mosquitto_password.py)
    acl                per gateway: read own .../down, write own .../up and .../status;
                       the controller: read and write everything under esl/v1/
    credentials.json   the plain passwords, mode 0600, for provisioning gateways

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

from esl.mqtt.errors import MosquittoConfigError
from esl.mqtt.mosquitto_password import generate_password, hash_password
from gateways.errors import InvalidTopicPartError
from gateways.mqtt.topics import TOPIC_ROOT, TopicKind, topic_for, validate_topic_part

__all__ = [
    "DEFAULT_CONTROLLER_USERNAME",
    "Account",
    "BrokerAccounts",
    "GatewayAccount",
    "ListenerTls",
    "WrittenConfig",
    "gateway_username",
    "gateways_from_counts",
    "gateways_from_lines",
    "plan_accounts",
    "render_acl",
    "render_mosquitto_conf",
    "render_password_file",
    "write_mosquitto_config",
]

DEFAULT_CONTROLLER_USERNAME = "esl-controller"
CREDENTIALS_FILE = "credentials.json"


@dataclass(frozen=True, slots=True)
class Account:
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
    """`gw1`..`gwN` in each store."""
    if per_store < 1:
        raise MosquittoConfigError(reason="each store needs at least one gateway")
    return [(store.strip(), f"gw{n}") for store in stores for n in range(1, per_store + 1)]


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
    if controller_username in {a.username for a in accounts}:
        raise MosquittoConfigError(reason="the controller username clashes with a gateway's")
    controller = Account(controller_username, known.get(controller_username) or new_password())
    return BrokerAccounts(controller=controller, gateways=tuple(accounts))


def render_acl(accounts: BrokerAccounts) -> str:
    lines = [
        "# Written by `esl mqtt config`. A gateway reads only its own down topic and writes",
        "# only its own up and status topics; nothing else is allowed (Mosquitto denies by",
        "# default). Denied publishes are dropped silently; denied subscriptions get nothing.",
        "",
        f"user {accounts.controller.username}",
        f"topic readwrite {TOPIC_ROOT}/#",
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
    return "".join(f"{a.username}:{hash_with(a.password)}\n" for a in accounts.all)


def render_mosquitto_conf(
    *,
    install_dir: Path,
    port: int = 1883,
    bind_address: str = "0.0.0.0",
    tls: ListenerTls | None = None,
    max_queued_messages: int = 10_000,
) -> str:
    lines = [
        "# Mosquitto 2.x configuration written by `esl mqtt config`.",
        "# Every client logs in with a password; acl_file says what each may read and write.",
        "per_listener_settings false",
        "allow_anonymous false",
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
        "",
        f"listener {port} {bind_address}",
    ]
    if tls is not None:
        lines += ["", f"listener {tls.port} {bind_address}"]
        lines += [f"certfile {tls.certfile}", f"keyfile {tls.keyfile}"]
        if tls.cafile is not None:
            lines.append(f"cafile {tls.cafile}")
        lines.append(f"require_certificate {'true' if tls.require_client_certificate else 'false'}")
    return "\n".join(lines) + "\n"


def _known_passwords(credentials: Path) -> dict[str, str]:
    if not credentials.exists():
        return {}
    try:
        body = json.loads(credentials.read_text(encoding="utf-8"))
        entries = [body["controller"], *body["gateways"]]
        return {str(e["username"]): str(e["password"]) for e in entries}
    except (ValueError, KeyError, TypeError) as exc:
        raise MosquittoConfigError(reason=f"{credentials} is not a credentials file") from exc


def _write_private(path: Path, text: str) -> None:
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
    port: int = 1883,
    bind_address: str = "0.0.0.0",
    tls: ListenerTls | None = None,
    max_queued_messages: int = 10_000,
) -> WrittenConfig:
    """Write the four files into `directory`; `install_dir` is where they live on the broker."""
    directory.mkdir(parents=True, exist_ok=True)
    credentials = directory / CREDENTIALS_FILE
    known = _known_passwords(credentials)
    accounts = plan_accounts(
        gateways, controller_username=controller_username, known_passwords=known
    )
    conf = directory / "mosquitto.conf"
    passwords = directory / "passwords"
    acl = directory / "acl"
    conf.write_text(
        render_mosquitto_conf(
            install_dir=(install_dir or directory).absolute(),
            port=port,
            bind_address=bind_address,
            tls=tls,
            max_queued_messages=max_queued_messages,
        ),
        encoding="utf-8",
    )
    _write_private(passwords, render_password_file(accounts))
    acl.write_text(render_acl(accounts), encoding="utf-8")
    (directory / "data").mkdir(exist_ok=True)
    body = {
        "controller": {
            "username": accounts.controller.username,
            "password": accounts.controller.password,
        },
        "gateways": [
            {"store": a.store, "gateway": a.gateway, "username": a.username, "password": a.password}
            for a in accounts.gateways
        ],
    }
    _write_private(credentials, json.dumps(body, indent=2) + "\n")
    new = tuple(a.username for a in accounts.all if a.username not in known)
    return WrittenConfig(conf, passwords, acl, credentials, accounts, new)
