"""A PostgreSQL engine gives its connections libpq's liveness limits unless the URL names
them (esl/db/engine.py, docs/scale.md "A worker's link to the database"): a new
connection to a database that never answers gives up after `connect_timeout` with an
error the controller takes for an outage, and the kernel probes an idle connection after
30 s and gives up on unacknowledged data after 30 s. Before, an engine had libpq's
defaults: such a connection waited 130 s (psycopg's own bound, libpq has none) and an
idle one was first probed after two hours.

Real PostgreSQL; the silent database is tests/support/database_link.py cut.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, make_url, text
from sqlalchemy.exc import DBAPIError

from esl.db.engine import POSTGRESQL_LINK_LIMITS, create_engine_for
from esl.pipeline.database_outage import is_database_outage
from tests.support.database import ON_POSTGRESQL, database_url
from tests.support.database_link import DatabaseLink

pytestmark = pytest.mark.integration

# Far longer than the limit, far shorter than the 130 s the connection took before: the
# test fails instead of waiting for it.
OUTER_BOUND_S = 45.0


@pytest.fixture
def link(engine: Engine) -> Iterator[DatabaseLink]:
    link = DatabaseLink(database_url(engine))
    yield link
    link.close()


def _with_query(url: str, **query: str) -> str:
    return make_url(url).update_query_dict(query).render_as_string(hide_password=False)


def _first_connection_outcome(engine: Engine) -> tuple[BaseException | None, float]:
    """What opening a connection raised, and after how many seconds; the test fails if it
    is still waiting after OUTER_BOUND_S."""
    outcome: list[BaseException | None] = []
    done = threading.Event()

    def connect() -> None:
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            outcome.append(None)
        except Exception as error:  # the test judges it
            outcome.append(error)
        finally:
            done.set()

    started = time.monotonic()
    threading.Thread(target=connect, name="first-connection", daemon=True).start()
    assert done.wait(OUTER_BOUND_S), (
        f"a new connection through a silent cut still waits after {OUTER_BOUND_S:g} s"
    )
    return outcome[0], time.monotonic() - started


@ON_POSTGRESQL
@pytest.mark.slow  # waits out one connect_timeout (10 s) and shorter ones on purpose
@pytest.mark.parametrize(
    ("query", "environment", "limit_s"),
    [
        ({}, {}, float(POSTGRESQL_LINK_LIMITS["connect_timeout"])),
        ({"connect_timeout": "3"}, {}, 3.0),
        # libpq's own environment variable is the operator's word too.
        ({}, {"PGCONNECT_TIMEOUT": "2"}, 2.0),
    ],
    ids=["default", "named-in-the-url", "named-in-libpqs-environment"],
)
def test_a_new_connection_through_a_silent_cut_gives_up_at_its_connect_timeout(
    link: DatabaseLink,
    query: dict[str, str],
    environment: dict[str, str],
    limit_s: float,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    engine = create_engine_for(_with_query(link.url, **query))
    try:
        link.cut()
        error, waited_s = _first_connection_outcome(engine)
    finally:
        link.close()  # resets the connection if it still waits
        engine.dispose()
    assert isinstance(error, DBAPIError), error
    assert "connection timeout expired" in str(error), error
    # An outage the controller waits out and reports (`database unreachable since …`).
    assert is_database_outage(error)
    assert limit_s - 0.5 <= waited_s <= limit_s + 5, waited_s


def _kernel_link_limits(engine: Engine) -> dict[str, int]:
    """What the kernel applies to a connection of `engine`, read off its socket."""
    with engine.connect() as connection:
        driver_connection = connection.connection.driver_connection
        assert driver_connection is not None
        with socket.socket(fileno=os.dup(driver_connection.fileno())) as sock:
            return {
                "keepalives": sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
                "keepalives_idle": sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
                "keepalives_interval": sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
                "keepalives_count": sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT),
                "tcp_user_timeout": sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT),
            }


@ON_POSTGRESQL
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, {}),
        ({"keepalives_idle": "45"}, {"keepalives_idle": 45}),
        ({"tcp_user_timeout": "12000"}, {"tcp_user_timeout": 12000}),
    ],
    ids=["default", "idle-named-in-the-url", "user-timeout-named-in-the-url"],
)
def test_the_kernel_applies_the_link_limits_the_url_does_not_name(
    engine: Engine, query: dict[str, str], expected: dict[str, int]
) -> None:
    limited = create_engine_for(_with_query(database_url(engine), **query))
    try:
        applied = _kernel_link_limits(limited)
    finally:
        limited.dispose()
    defaults = {
        name: int(value)
        for name, value in POSTGRESQL_LINK_LIMITS.items()
        if name != "connect_timeout"  # no socket option: how long libpq waits to connect
    }
    assert applied == {"keepalives": 1, **defaults, **expected}


@ON_POSTGRESQL
def test_a_connection_service_files_keepalive_limits_are_not_overridden(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = tmp_path / "pg_service.conf"
    services.write_text("[esl]\nkeepalives_idle=45\nkeepalives_count=5\n", encoding="utf-8")
    monkeypatch.setenv("PGSERVICEFILE", str(services))
    served = create_engine_for(_with_query(database_url(engine), service="esl"))
    try:
        applied = _kernel_link_limits(served)
    finally:
        served.dispose()
    assert applied["keepalives_idle"] == 45
    assert applied["keepalives_count"] == 5
    # Not named in the file: libpq's own (none), not laid over the service by us.
    assert applied["tcp_user_timeout"] == 0
