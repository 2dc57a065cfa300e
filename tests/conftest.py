"""Shared fixtures: the optional ../shared/data folder, and fresh databases on SQLite and on PostgreSQL.

A test that takes `database_url` (or a module fixture that takes `fresh_database`) runs twice: on a SQLite file
and on a new database of the PostgreSQL server named by DISWOT_TEST_POSTGRES_URL (`.ci/run` starts one;
`.ci/postgres start` prints such a URL). Without that variable the PostgreSQL runs are skipped, saying so.
"""

import os
import uuid
from pathlib import Path
from typing import Callable

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
POSTGRES_URL_VARIABLE = "DISWOT_TEST_POSTGRES_URL"
NO_POSTGRES = (
    f"PostgreSQL variant skipped: {POSTGRES_URL_VARIABLE} is not set (.ci/run starts a server and sets it; "
    "locally `.ci/postgres start` prints a URL to set it to)"
)


def pytest_report_header() -> str:
    url = os.environ.get(POSTGRES_URL_VARIABLE)
    return f"database tests: SQLite and PostgreSQL at {url}" if url else f"database tests: SQLite only. {NO_POSTGRES}"


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present (it exists only on the project's own machines)")
    return SHARED_DATA


class PostgresServer:
    """Creates empty databases on one server, one per call, and drops them all at the end of the session."""

    def __init__(self, url: str):
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url

        self.url = make_url(url)
        self.admin = create_engine(self.url, isolation_level="AUTOCOMMIT")
        self.created: list[str] = []

    def check_reachable(self) -> None:
        from sqlalchemy import text
        from sqlalchemy.exc import OperationalError

        try:
            with self.admin.connect() as connection:
                connection.execute(text("SELECT 1"))
        except OperationalError as error:
            # The variable promises a server: a wrong URL or a dead server is a failure, not a skip.
            pytest.fail(f"{POSTGRES_URL_VARIABLE}={self.url!r} is set but no server answers there: {error}")

    def new_database(self) -> str:
        from sqlalchemy import text

        name = f"diswot_test_{uuid.uuid4().hex}"
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return self.url.set(database=name).render_as_string(hide_password=False)

    def drop_created(self) -> None:
        from sqlalchemy import text

        with self.admin.connect() as connection:
            for name in self.created:
                # FORCE: a killed server's connections, or a test's engine never disposed, may still be open.
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


@pytest.fixture(scope="session")
def postgres_server():
    url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not url:
        pytest.skip(NO_POSTGRES)
    pytest.importorskip("psycopg", reason="PostgreSQL variant skipped: psycopg is not installed (the postgres extra)")
    server = PostgresServer(url)
    server.check_reachable()
    yield server
    server.drop_created()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def fresh_database(request, tmp_path_factory) -> Callable[[], str]:
    """`fresh_database()` -> the SQLAlchemy URL of a new, empty database on this run's kind of server."""
    pytest.importorskip("sqlalchemy")
    if request.param == "sqlite":
        return lambda: f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'jobs.db'}"
    return request.getfixturevalue("postgres_server").new_database


@pytest.fixture
def database_url(fresh_database) -> str:
    """A new, empty database for this test, on SQLite and (a second run) on PostgreSQL."""
    return fresh_database()
