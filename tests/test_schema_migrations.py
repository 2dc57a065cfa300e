"""The jobs database's schema comes from Alembic migrations (`api/migrations`), on SQLite and on PostgreSQL: a new
database gets exactly the tables the models declare; a database made by the version before migrations (its
tables as that version's `create_all` wrote them, tests/data/schema_3314c92.*.sql) is upgraded in place, its jobs
kept and its queued and interrupted jobs run; replicas upgrading at the same moment make the schema once;
`diswot db upgrade` does it as a step of its own; a second server on one SQLite file is refused."""

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

pytest.importorskip("alembic")

from alembic.autogenerate import compare_metadata  # noqa: E402
from alembic.runtime.migration import MigrationContext  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import text  # noqa: E402

import diswot  # noqa: E402
from api.app import create_app  # noqa: E402
from api.db import Base, Database  # noqa: E402
from api.jobs import JobRepository  # noqa: E402
from api.schema import current_revision, head_revision  # noqa: E402
from api.settings import Settings  # noqa: E402
from diswot.errors import DiswotError  # noqa: E402
from diswot.student_search import SearchRequest  # noqa: E402
from service_testing import SCRIPT_HEADERS, wait_for  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread", "no_service_environment")

DATA = Path(__file__).parent / "data"
TINY = dict(teacher="resnet8", space="resnet_cifar_wide", num_classes=10, batch_size=8, population=4, sample_size=2,
            proxies=["diswot"], confirm_top=0, evaluations=6)


@pytest.fixture
def database(database_url):
    database = Database(database_url)
    yield database
    database.dispose()


def schema_differences(database: Database) -> list:
    """What Alembic's autogenerate would change to make the database match the models: nothing, when they agree."""
    with database.engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection), Base.metadata)


def test_a_new_database_gets_the_tables_the_models_declare(database):
    database.upgrade_schema()
    assert schema_differences(database) == []
    assert current_revision(database.engine) == head_revision()


def make_as_the_previous_version(database: Database) -> None:
    """The tables of the version before migrations, and rows it wrote: a succeeded job with its evaluations, a
    queued job and a job a crash left running (its config: the request as that version stored it)."""
    dialect = database.engine.dialect.name
    statements = (DATA / f"schema_3314c92.{dialect}.sql").read_text().split(";")
    config = json.dumps(SearchRequest.parse(TINY).to_dict())
    insert = ("INSERT INTO search_jobs (id, status, config, created_at, runs, cancel_requested, evaluations_done, "
              "result) VALUES (:id, :status, :config, :created, :runs, false, :done, :result)")
    with database.engine.begin() as connection:
        for statement in statements:
            body = "\n".join(line for line in statement.splitlines() if not line.startswith("--")).strip()
            if body:
                connection.exec_driver_sql(body)
        for id, status, created, runs, done, result in [
            ("finished", "succeeded", "2026-12-01 10:00:00+00:00", 1, 2, '{"students": [{"arch": "kept"}]}'),
            ("queued", "queued", "2026-12-01 11:00:00+00:00", 0, 0, None),
            ("interrupted", "running", "2026-12-01 12:00:00+00:00", 1, 0, None),
        ]:
            connection.execute(text(insert), dict(id=id, status=status, config=config, created=created, runs=runs,
                                                  done=done, result=result))
        for n, canonical in enumerate(("a", "b")):
            connection.execute(text("INSERT INTO search_evaluations (job_id, canonical, evaluation) "
                                    "VALUES ('finished', :canonical, :evaluation)"),
                               {"canonical": canonical, "evaluation": json.dumps({"canonical": canonical, "n": n})})


def test_a_database_made_before_migrations_is_upgraded_in_place_and_its_jobs_run(database):
    make_as_the_previous_version(database)
    expected = diswot.search(**TINY).to_dict()["students"]
    with TestClient(create_app(Settings(database_url=str(database.engine.url.render_as_string(hide_password=False)))),
                    headers=SCRIPT_HEADERS) as client:
        queued, interrupted = wait_for(client, "queued"), wait_for(client, "interrupted")
        assert (queued["status"], interrupted["status"]) == ("succeeded", "succeeded")
        assert client.get("/v1/searches/queued/result").json()["students"] == expected
    assert current_revision(database.engine) == head_revision()
    assert schema_differences(database) == []
    with database.engine.connect() as connection:
        rows = connection.execute(text("SELECT canonical FROM search_evaluations WHERE job_id = 'finished' "
                                       "ORDER BY id")).scalars().all()
    assert rows == ["a", "b"] and JobRepository(database).result("finished") == {"students": [{"arch": "kept"}]}


def test_replicas_upgrading_at_the_same_moment_make_the_schema_once(postgres_server):
    url = postgres_server.new_database()
    databases = [Database(url) for _ in range(4)]
    start, errors = threading.Barrier(len(databases)), []

    def upgrade(database: Database) -> None:
        start.wait()
        try:
            database.upgrade_schema()
        except Exception as error:  # collected: the test shows every replica's failure, not the first thread's
            errors.append(error)

    threads = [threading.Thread(target=upgrade, args=(database,)) for database in databases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "the upgrades are stuck waiting on one another"
    assert errors == []
    assert current_revision(databases[0].engine) == head_revision() and schema_differences(databases[0]) == []
    for database in databases:
        database.dispose()


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "diswot", *args], capture_output=True, text=True, timeout=300)


def test_diswot_db_upgrade_makes_and_then_keeps_the_schema(tmp_path):
    path = tmp_path / "jobs.db"
    head = head_revision()
    assert run_cli("db", "current", "--db", str(path)).stdout.strip() == f"database: no schema; this version: {head}"
    assert run_cli("db", "upgrade", "--db", str(path)).stdout.strip() == f"schema upgraded from nothing to {head}"
    assert run_cli("db", "upgrade", "--db", str(path)).stdout.strip() == f"schema already at {head}"
    refused = run_cli("db", "upgrade", "--db", "postgresql+psycopg://nobody:secret@127.0.0.1:1/none")
    assert refused.returncode == 2 and refused.stderr.startswith(
        "error: cannot use the database postgresql+psycopg://nobody:***@127.0.0.1:1/none: connection failed")
    assert len(refused.stderr.strip().splitlines()) == 1


def test_a_second_server_on_one_sqlite_file_is_refused_saying_why(tmp_path):
    settings = Settings(database_path=tmp_path / "jobs.db")
    with TestClient(create_app(settings), headers=SCRIPT_HEADERS):
        with pytest.raises(DiswotError, match="another diswot server .* is using the SQLite database"):
            with TestClient(create_app(settings)):
                pass
        refused = run_cli("serve", "--db", str(tmp_path / "jobs.db"), "--port", "1")
        assert refused.returncode == 2
        assert refused.stderr.strip().splitlines() == [
            f"error: another diswot server (process {__import__('os').getpid()}) is using the SQLite database "
            f"{tmp_path / 'jobs.db'}: SQLite serves one server process; to run several replicas, give them one "
            "PostgreSQL database (DISWOT_DATABASE_URL=postgresql+psycopg://...)"
        ]
    with TestClient(create_app(settings)):  # the first server stopped: the file is free again
        pass
