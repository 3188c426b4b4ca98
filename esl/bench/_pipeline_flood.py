"""The flood rounds of `esl bench pipeline` (not a suite: the name starts with "_").

One store's gateway login floods its store's `up` topic while a publication changes
every label: `mosquitto_pub -l` (the real client, one message per line, QoS 1 as a
gateway publishes, as fast as the broker acknowledges) reads a file of junk lines, again
and again until the round ends, logged in with that store's own username and password,
which the bench broker checks against its password file. A file, not an endless pipe:
`mosquitto_pub -l` reads its input faster than it publishes and queues the rest in
memory (fed by `yes`, it grew past 2 GB in under two minutes), so each run holds one
file's worth.
What is measured is the other (quiet) stores' acknowledgements per second: their frames
acknowledged, over the seconds from the commit of the publication until each of their
frames is acknowledged or parked (the controller gave up after its retries), against the
same measurement without the flood in the same run; with the quiet frames parked and the
uplinks of the flooding store the controller dropped over its bound
(`ESL_CONTROLLER_UPLINKS_PER_STORE`).

The controller and the simulated gateways stay anonymous, as in the rest of the bench:
a password file without an ACL costs the broker a check per login, not per message, so
the other figures are measured as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from esl.db.models import OutboxRow
from esl.mqtt.mosquitto_config import gateway_username, write_private
from esl.mqtt.mosquitto_password import generate_password, hash_password
from gateways.mqtt.endpoint import BrokerEndpoint
from gateways.mqtt.topics import TopicKind, topic_for

__all__ = [
    "FloodLogin",
    "RoundEnd",
    "flood_login",
    "flooding",
    "last_outbox_id",
    "nothing_waiting",
    "until_stores_settled",
]

# Not a frame: the controller hears it as an answer of the flooding store and has to
# settle (and refuse) it, or drop it over the store's bound.
JUNK = "not an answer from any label"
# Lines per `mosquitto_pub` run: about a second of flood, a few MB of its memory.
_LINES_PER_RUN = 50_000
_WAITING = ("pending", "sent")


@dataclass(frozen=True, slots=True)
class FloodLogin:
    store: str
    gateway: str
    username: str
    broker_config: str  # the lines the bench broker needs to check this login
    directory: Path  # the junk file and mosquitto_pub's option file (the login) are here


def flood_login(directory: Path, *, store: str, gateway: str) -> FloodLogin:
    """The flooding store's gateway account, as `esl mqtt config` names it, in a password
    file under `directory` (0600). Anonymous clients stay allowed (see the docstring)."""
    username = gateway_username(store=store, gateway=gateway)
    password = generate_password()
    passwords = directory / "flood-passwords"
    write_private(passwords, f"{username}:{hash_password(password)}\n")
    # mosquitto_pub reads default options from $XDG_CONFIG_HOME/mosquitto_pub: the
    # password stays out of the process list.
    write_private(directory / "mosquitto_pub", f"-u {username}\n-P {password}\n")
    (directory / "junk").write_text(f"{JUNK}\n" * _LINES_PER_RUN, encoding="utf-8")
    return FloodLogin(store, gateway, username, f"password_file {passwords}\n", directory)


@asynccontextmanager
async def flooding(endpoint: BrokerEndpoint, login: FloodLogin) -> AsyncIterator[None]:
    """`mosquitto_pub -l < junk`, run after run, on the store's up topic until the block
    ends; an error when a run failed (refused login, broker gone)."""
    client = shutil.which("mosquitto_pub")
    if client is None:
        raise RuntimeError("the pipeline benchmark's flood needs mosquitto_pub (mosquitto-clients)")
    topic = topic_for(store=login.store, gateway=login.gateway, kind=TopicKind.UP)
    command = [client, "-h", endpoint.host, "-p", str(endpoint.port), "-q", "1", "-t", topic]
    runs = asyncio.create_task(_publish_runs([*command, "-l"], login.directory))
    try:
        yield
    finally:
        runs.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runs


async def _publish_runs(command: list[str], directory: Path) -> None:
    environment = {"XDG_CONFIG_HOME": str(directory), "PATH": "/usr/bin:/bin"}
    while True:
        with (directory / "junk").open("rb") as junk:
            run = await asyncio.create_subprocess_exec(
                *command, stdin=junk, stderr=asyncio.subprocess.PIPE, env=environment
            )
        try:
            _, error = await run.communicate()
        except asyncio.CancelledError:
            # The run may have ended on its own between the last read and the cancel.
            with contextlib.suppress(ProcessLookupError):
                run.terminate()
            await run.wait()
            raise
        if run.returncode != 0:
            raise RuntimeError(f"mosquitto_pub ended with {run.returncode}: {error!r}")


def last_outbox_id(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.coalesce(func.max(OutboxRow.id), 0))) or 0)


@dataclass(frozen=True, slots=True)
class RoundEnd:
    seconds: float  # from the commit of the publication until the last was settled
    acked: int
    parked: int  # given up after the retry policy's attempts (their answers never came)


def _stores_settled(
    sessions: sessionmaker[Session], stores: tuple[str, ...], *, after_id: int, labels: int
) -> tuple[int, int] | None:
    """(acked, parked) once the frames planned after `after_id` for `stores` are `labels`
    rows, none pending or sent; None before. Reads only rows after `after_id` (the
    primary key): cheap enough to ask often."""
    with sessions() as session:
        acked, parked, waiting = session.execute(
            select(
                func.count().filter(OutboxRow.status == "acked"),
                func.count().filter(OutboxRow.status == "parked"),
                func.count().filter(OutboxRow.status.in_(_WAITING)),
            ).where(OutboxRow.id > after_id, OutboxRow.store.in_(stores))
        ).one()
    return (acked, parked) if acked + parked >= labels and waiting == 0 else None


async def until_stores_settled(
    sessions: sessionmaker[Session],
    stores: tuple[str, ...],
    *,
    after_id: int,
    labels: int,
    started: float,
    timeout_s: float,
) -> RoundEnd:
    """Wait until the `labels` frames of `stores` after `after_id` are acknowledged or
    parked; seconds counted from `started` (a `perf_counter` instant). Asked every 20 ms
    from a thread, so the controller's event loop is not held by the question."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        settled = await asyncio.to_thread(
            _stores_settled, sessions, stores, after_id=after_id, labels=labels
        )
        if settled is not None:
            return RoundEnd(time.perf_counter() - started, *settled)
        await asyncio.sleep(0.02)
    raise TimeoutError(f"{stores} not all settled after {timeout_s} s")


def nothing_waiting(sessions: sessionmaker[Session]) -> bool:
    """No frame of any store pending or sent (parked ones stay, until superseded)."""
    with sessions() as session:
        waiting = session.scalar(
            select(func.count()).select_from(OutboxRow).where(OutboxRow.status.in_(_WAITING))
        )
    return not waiting
