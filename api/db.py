"""The job tables and the connection to them: SQLite (WAL) by default, any SQLAlchemy URL otherwise.

A job row holds the validated request, its status and progress; its evaluations are rows of their own,
appended one per scored candidate as the search runs, so a job interrupted by a crash resumes from them.
The result, the one large document, is a deferred column: listing and polling never load it. Calibrations are
kept once for every job (`CalibrationRow`). The schema is made and changed by migrations (`api.migrations`,
run by `api.schema`): a change to these classes comes with a migration.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Optional

from sqlalchemy import DateTime, ForeignKey, String, Text, UniqueConstraint, create_engine, event, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

from api.exact_json import ExactJSON

JOB_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
FINISHED_STATUSES = ("succeeded", "failed", "cancelled")


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


class JobRow(Base):
    __tablename__ = "search_jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    config: Mapped[dict[str, Any]] = mapped_column(ExactJSON)  # SearchRequest.to_dict(): the request parsed at submission
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    started_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    runs: Mapped[int] = mapped_column(default=0)  # times a worker started it: more than 1 after a resume
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    evaluations_done: Mapped[int] = mapped_column(default=0)
    evaluations_total: Mapped[Optional[int]]
    best_score: Mapped[Optional[float]]
    eta_seconds: Mapped[Optional[float]]
    error: Mapped[Optional[str]] = mapped_column(Text)
    # The replica running the job holds it by a lease it renews (api.jobs); an expired lease is taken over.
    lease_owner: Mapped[Optional[str]] = mapped_column(String(128))
    lease_expires_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    takeovers: Mapped[int] = mapped_column(default=0, server_default=text("0"))  # leases taken over after expiry
    result: Mapped[Optional[dict[str, Any]]] = mapped_column(ExactJSON, deferred=True)
    # Stages, stop reason and labels (migration 0003): nullable or with a server default, so a database made
    # before them takes them with one ALTER TABLE ... ADD COLUMN each.
    stage: Mapped[Optional[str]] = mapped_column(String(16))  # calibration, search, confirm; training (distil)
    stage_done: Mapped[Optional[int]]  # the stage's own count: cells, candidates, finalists, epochs
    stage_total: Mapped[Optional[int]]
    stop_reason: Mapped[Optional[str]] = mapped_column(Text)  # why a succeeded search stopped (its result's)
    name: Mapped[Optional[str]] = mapped_column(String(200))
    # ",tag1,tag2," (the commas make `LIKE '%,tag,%'` an exact filter in every database); "" without tags.
    tags: Mapped[str] = mapped_column(String(1000), default="", server_default="")
    note: Mapped[Optional[str]] = mapped_column(Text)


class EvaluationRow(Base):
    __tablename__ = "search_evaluations"
    # A job scores each canonical architecture once per stage (`canonical` holds api.store.record_key); the
    # constraint turns a violation into an error, not a duplicate.
    __table_args__ = (UniqueConstraint("job_id", "canonical"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)  # append order
    job_id: Mapped[str] = mapped_column(ForeignKey("search_jobs.id", ondelete="CASCADE"), index=True)
    canonical: Mapped[str] = mapped_column(String(1024))
    evaluation: Mapped[dict[str, Any]] = mapped_column(ExactJSON)  # Evaluation.to_dict()


class CalibrationRow(Base):
    """Calibrations measured by any job or scoring call, reused by every later one with the same scoring
    (`diswot.calibration_cache`: the key hashes what determines a calibration)."""

    __tablename__ = "calibrations"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    calibration: Mapped[dict[str, Any]] = mapped_column(ExactJSON)  # Calibration.to_dict()
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def _sqlite_pragmas(connection, _record) -> None:
    cursor = connection.cursor()
    # WAL: pollers read while a worker writes. NORMAL sync in WAL mode survives a killed process (not a power cut).
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class Database:
    def __init__(self, url: str):
        is_sqlite = url.startswith("sqlite")
        # Request threads and worker threads share the engine's pool.
        connect_args = {"check_same_thread": False} if is_sqlite else {}
        self.engine = create_engine(url, connect_args=connect_args, pool_pre_ping=not is_sqlite)
        if is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.session = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def upgrade_schema(self) -> None:
        """Bring the tables to this version's schema (`api.schema`: Alembic migrations, once, under a lock)."""
        from api.schema import upgrade_schema

        upgrade_schema(self.engine)

    def ping(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return True
        except Exception:  # any driver error means "not ready", which is all /readyz reports
            return False

    def dispose(self) -> None:
        self.engine.dispose()
