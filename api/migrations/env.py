r"""Alembic's environment: migrations run on the connection `api.schema` hands over (inside its transaction,
under its lock), against the service's tables (`api.db.Base`).

A change to the tables is a change to the models in `api/db.py` plus a migration here. To write one, upgrade a
scratch database and let Alembic compare it with the models (from the repository root):

    python -c "from alembic import command; from api.db import Database; from api.schema import alembic_config; \
        db = Database('sqlite:////tmp/scratch.db'); db.upgrade_schema(); command.revision( \
        alembic_config(db.engine.connect()), 'what changes', autogenerate=True, rev_id='0003_what_changes')"

then read versions/0003_what_changes_what_changes.py: prefer plain `op.add_column` (a nullable column, or one
with a server_default) to the batch operation Alembic writes for SQLite, which copies the whole table.
tests/test_schema_migrations.py fails while the models and the migrations disagree.
"""

from alembic import context

from api.db import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
