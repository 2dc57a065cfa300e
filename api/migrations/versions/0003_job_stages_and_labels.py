"""Job stages, stop reason and labels: the stage a job is in and its own count, why a search stopped, and a
job's name, tags and note.

Revision ID: 0003_job_stages_and_labels
Revises: 0002_job_leases
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_job_stages_and_labels"
down_revision = "0002_job_leases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN, on SQLite too: a batch operation would copy the table into a new one.
    op.add_column("search_jobs", sa.Column("stage", sa.String(16), nullable=True))
    op.add_column("search_jobs", sa.Column("stage_done", sa.Integer(), nullable=True))
    op.add_column("search_jobs", sa.Column("stage_total", sa.Integer(), nullable=True))
    op.add_column("search_jobs", sa.Column("stop_reason", sa.Text(), nullable=True))
    op.add_column("search_jobs", sa.Column("name", sa.String(200), nullable=True))
    op.add_column("search_jobs", sa.Column("tags", sa.String(1000), nullable=False, server_default=""))
    op.add_column("search_jobs", sa.Column("note", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("search_jobs") as table:
        for column in ("note", "tags", "name", "stop_reason", "stage_total", "stage_done", "stage"):
            table.drop_column(column)
