"""`diswot db upgrade` and `diswot db current`: the service database's schema, as a step of its own (a deployment
that migrates before it starts its replicas; `diswot serve` also upgrades at start, once, under a lock)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator, Optional

import typer

from diswot.cli.app import app
from diswot.cli.service_commands import service_settings
from diswot.errors import DiswotError

if TYPE_CHECKING:
    from api.db import Database

db_app = typer.Typer(help="The service database's schema (Alembic migrations).", no_args_is_help=True)
app.add_typer(db_app, name="db")

DB_OPTION = typer.Option(
    None, help="SQLite file, or any SQLAlchemy URL (default: DISWOT_DATABASE_URL or DISWOT_DATABASE_PATH)."
)


@contextmanager
def database_at(db: Optional[str]) -> Iterator["Database"]:
    """The service's database (`--db` or the settings'); a database that cannot be reached is a one-line error."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError

    from api.db import Database

    url = service_settings(db).sqlalchemy_url
    database = Database(url)
    try:
        yield database
    except OperationalError as error:
        shown = make_url(url).render_as_string(hide_password=True)
        raise DiswotError(f"cannot use the database {shown}: {str(error.orig or error).splitlines()[0]}") from None
    finally:
        database.dispose()


@db_app.command("upgrade")
def upgrade_command(db: Optional[str] = DB_OPTION) -> None:
    """Create the tables, or upgrade them to this version's schema (a database made before migrations is adopted)."""
    from api.schema import current_revision

    with database_at(db) as database:
        before = current_revision(database.engine)
        database.upgrade_schema()
        after = current_revision(database.engine)
    typer.echo(f"schema already at {after}" if after == before
               else f"schema upgraded from {before or 'nothing'} to {after}")


@db_app.command("current")
def current_command(db: Optional[str] = DB_OPTION) -> None:
    """The database's schema revision and this version's newest one."""
    from api.schema import current_revision, head_revision

    with database_at(db) as database:
        revision = current_revision(database.engine)
    typer.echo(f"database: {revision or 'no schema'}; this version: {head_revision()}")
