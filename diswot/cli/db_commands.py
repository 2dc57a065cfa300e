"""`diswot db upgrade` and `diswot db current`: the service database's schema, as a step of its own (a deployment
that migrates before it starts its replicas; `diswot serve` also upgrades at start, once, under a lock)."""

from __future__ import annotations

from typing import Optional

import typer

from diswot.cli.app import app
from diswot.cli.service_commands import service_settings

db_app = typer.Typer(help="The service database's schema (Alembic migrations).", no_args_is_help=True)
app.add_typer(db_app, name="db")

DB_OPTION = typer.Option(
    None, help="SQLite file, or any SQLAlchemy URL (default: DISWOT_DATABASE_URL or DISWOT_DATABASE_PATH)."
)


@db_app.command("upgrade")
def upgrade_command(db: Optional[str] = DB_OPTION) -> None:
    """Create the tables, or upgrade them to this version's schema (a database made before migrations is adopted)."""
    from api.db import Database
    from api.schema import current_revision

    database = Database(service_settings(db).sqlalchemy_url)
    try:
        before = current_revision(database.engine)
        database.upgrade_schema()
        after = current_revision(database.engine)
        typer.echo(f"schema already at {after}" if after == before else f"schema upgraded from {before or 'nothing'} to {after}")
    finally:
        database.dispose()


@db_app.command("current")
def current_command(db: Optional[str] = DB_OPTION) -> None:
    """The database's schema revision and this version's newest one."""
    from api.db import Database
    from api.schema import current_revision, head_revision

    database = Database(service_settings(db).sqlalchemy_url)
    try:
        typer.echo(f"database: {current_revision(database.engine) or 'no schema'}; this version: {head_revision()}")
    finally:
        database.dispose()
