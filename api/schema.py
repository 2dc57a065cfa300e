"""The jobs database's schema, made and changed by Alembic migrations (`api/migrations/versions`) once, however
many replicas start at the same moment.

On PostgreSQL the whole upgrade is one transaction under an advisory lock: a replica that starts while another
migrates waits for the lock, then finds the schema current and does nothing. On SQLite one server owns the file
(`api.sqlite_lock`), so there is nobody to race. A database made before migrations (by `create_all`, diswot up to
commit 3314c92: the tables, no alembic_version) is adopted: stamped at the baseline, then upgraded in place.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

BASELINE = "0001_baseline"
# Any fixed 64-bit number shared by every replica: the advisory lock that serialises their upgrades.
MIGRATION_LOCK_KEY = 0x6469_7377_6F74_0001


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", "api:migrations")
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade_schema(engine: Engine) -> None:
    """Upgrade the database at `engine` to the newest revision (a new database: create every table)."""
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        if sqlite:
            # A migration that rebuilds a table (Alembic's batch mode on SQLite: copy, drop, rename) would delete
            # every evaluation of its jobs through the ON DELETE CASCADE while foreign keys are enforced.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()  # a pragma outside any transaction, where SQLite applies it
        try:
            with connection.begin():
                if not sqlite:
                    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
                config = alembic_config(connection)
                if _made_before_migrations(connection):
                    command.stamp(config, BASELINE)
                command.upgrade(config, "head")
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


def _made_before_migrations(connection: Connection) -> bool:
    tables = set(inspect(connection).get_table_names())
    return "search_jobs" in tables and "alembic_version" not in tables
