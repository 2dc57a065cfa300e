"""Alembic's environment: migrations run on the connection `api.schema` hands over (inside its transaction,
under its lock), against the service's tables (`api.db.Base`)."""

from alembic import context

from api.db import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
