"""The tables as `create_all` made them up to diswot 0.1.0 (commit 3314c92): jobs, their evaluations, calibrations.

A database made then has these tables and no alembic_version: `api.schema` stamps it at this revision (adopts it)
and upgrades it from here.

Revision ID: 0001_baseline
Revises:
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

import api.exact_json

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "search_jobs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("config", api.exact_json.ExactJSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("evaluations_done", sa.Integer(), nullable=False),
        sa.Column("evaluations_total", sa.Integer(), nullable=True),
        sa.Column("best_score", sa.Double(), nullable=True),
        sa.Column("eta_seconds", sa.Double(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("result", api.exact_json.ExactJSON(), nullable=True),
    )
    op.create_index("ix_search_jobs_status", "search_jobs", ["status"])
    op.create_index("ix_search_jobs_created_at", "search_jobs", ["created_at"])
    op.create_table(
        "search_evaluations",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("job_id", sa.String(32), sa.ForeignKey("search_jobs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("canonical", sa.String(1024), nullable=False),
        sa.Column("evaluation", api.exact_json.ExactJSON(), nullable=False),
        sa.UniqueConstraint("job_id", "canonical"),
    )
    op.create_index("ix_search_evaluations_job_id", "search_evaluations", ["job_id"])
    op.create_table(
        "calibrations",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("calibration", api.exact_json.ExactJSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("calibrations")
    op.drop_table("search_evaluations")
    op.drop_table("search_jobs")
