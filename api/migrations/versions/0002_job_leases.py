"""Job leases: the replica running a job, until when it holds it, and how often an expired lease was taken over.

Revision ID: 0002_job_leases
Revises: 0001_baseline
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_job_leases"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN, on SQLite too: a batch operation would copy the table into a new one.
    op.add_column("search_jobs", sa.Column("lease_owner", sa.String(128), nullable=True))
    op.add_column("search_jobs", sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("search_jobs", sa.Column("takeovers", sa.Integer(), nullable=False, server_default=sa.text("0")))


def downgrade() -> None:
    with op.batch_alter_table("search_jobs") as table:
        table.drop_column("takeovers")
        table.drop_column("lease_expires_at")
        table.drop_column("lease_owner")
