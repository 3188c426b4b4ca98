"""Workers share stores only on PostgreSQL: every test here runs on it
(tests/workers/database.py), each test in a schema of its own."""

from __future__ import annotations

# The PostgreSQL fixtures every worker test uses (a server per module, a schema per test).
from tests.workers.database import (  # noqa: F401 - fixtures
    database_url_fixture,
    engine_fixture,
    postgres_server_fixture,
)
