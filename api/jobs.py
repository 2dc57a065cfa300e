"""A job's life in the database: queued -> running -> succeeded | failed | cancelled.

Every change of status is one conditional UPDATE (`... WHERE status = <expected>`), so a cancel racing with a
worker's start or finish leaves one consistent outcome, whichever thread wins.
"""

from __future__ import annotations

import uuid
from typing import Any, Optional

from sqlalchemy import delete, func, select, update

from api.db import FINISHED_STATUSES, Database, JobRow, utc_now

# A search's config has no `kind`; a distillation's says 'distill' (api.distill_jobs).
JOB_KIND = func.coalesce(JobRow.config["kind"].as_string(), "search")


class JobRepository:
    def __init__(self, database: Database):
        self.database = database

    def create(self, config: dict[str, Any], labels: Optional[dict[str, Any]] = None) -> JobRow:
        """A queued job for `config`, with its `labels` (name, tags, note; `api.schemas.labels`)."""
        job = JobRow(id=uuid.uuid4().hex, status="queued", config=config, created_at=utc_now(),
                     **stored_labels(labels or {}))
        with self.database.session() as session, session.begin():
            session.add(job)
        return job

    def get(self, job_id: str) -> Optional[JobRow]:
        with self.database.session() as session:
            return session.get(JobRow, job_id)

    def result(self, job_id: str) -> Optional[dict[str, Any]]:
        with self.database.session() as session:
            return session.scalar(select(JobRow.result).where(JobRow.id == job_id))

    def page(self, status: Optional[str], limit: int, offset: int, kind: str = "search",
             tag: Optional[str] = None, source: Optional[str] = None) -> tuple[list[JobRow], int]:
        """Jobs of one kind ('search' or 'distill'), newest first, and how many match in all; only those with
        `status`, with `tag`, distilled from the search `source`, when given."""
        conditions = [JOB_KIND == kind]
        if status is not None:
            conditions.append(JobRow.status == status)
        if tag is not None:
            conditions.append(JobRow.tags.contains(f",{tag},", autoescape=True))
        if source is not None:
            conditions.append(JobRow.config["source"]["search"].as_string() == source)
        query = select(JobRow).where(*conditions)
        count = select(func.count()).select_from(JobRow).where(*conditions)
        with self.database.session() as session:
            rows = session.scalars(query.order_by(JobRow.created_at.desc(), JobRow.id).limit(limit).offset(offset))
            return list(rows), session.scalar(count)

    def claim(self, job_id: str) -> Optional[dict[str, Any]]:
        """Move a queued job to running and return its config; None when it is no longer queued (cancelled, deleted)."""
        with self.database.session() as session, session.begin():
            claimed = session.execute(
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.status == "queued")
                .values(status="running", started_at=func.coalesce(JobRow.started_at, utc_now()), runs=JobRow.runs + 1)
            ).rowcount
            return session.scalar(select(JobRow.config).where(JobRow.id == job_id)) if claimed else None

    def cancel_requested(self, job_id: str) -> bool:
        with self.database.session() as session:
            return bool(session.scalar(select(JobRow.cancel_requested).where(JobRow.id == job_id)))

    def record_progress(
        self, job_id: str, done: int, total: Optional[int], best: Optional[float], eta: Optional[float],
        stage: Optional[str] = None, stage_done: Optional[int] = None, stage_total: Optional[int] = None,
    ) -> None:
        """The job's overall counts (a search's candidates, a distillation's epochs) and its current stage's own."""
        self._update_running(job_id, evaluations_done=done, evaluations_total=total, best_score=best, eta_seconds=eta,
                             stage=stage, stage_done=stage_done, stage_total=stage_total)

    def relabel(self, job_id: str, labels: dict[str, Any]) -> Optional[JobRow]:
        """Change the labels given (name, tags, note) of a job in any status; the job, or None."""
        if labels:
            with self.database.session() as session, session.begin():
                session.execute(update(JobRow).where(JobRow.id == job_id).values(**stored_labels(labels)))
        return self.get(job_id)

    def succeed(self, job_id: str, result: dict[str, Any]) -> None:
        """Succeeded with `result`; a search's stop reason is kept beside it (the listing shows it)."""
        self._update_running(job_id, status="succeeded", result=result, finished_at=utc_now(), eta_seconds=0.0,
                             stop_reason=result.get("stop_reason"))

    def fail(self, job_id: str, error: str) -> None:
        self._update_running(job_id, status="failed", error=error, finished_at=utc_now(), eta_seconds=None)

    def mark_cancelled(self, job_id: str) -> None:
        self._update_running(job_id, status="cancelled", finished_at=utc_now(), eta_seconds=None)

    def requeue(self, job_id: str) -> None:
        """A running job stopped by a server shutdown: it resumes from its evaluations at the next start."""
        self._update_running(job_id, status="queued")

    def request_cancel(self, job_id: str) -> Optional[JobRow]:
        """Cancel a queued job now; ask a running one to stop (its worker marks it cancelled). The job, or None."""
        with self.database.session() as session, session.begin():
            session.execute(
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.status == "queued")
                .values(status="cancelled", cancel_requested=True, finished_at=utc_now())
            )
            session.execute(
                update(JobRow).where(JobRow.id == job_id, JobRow.status == "running").values(cancel_requested=True)
            )
        return self.get(job_id)

    def delete_finished(self, job_id: str) -> bool:
        """Delete a finished job and (by the foreign key's cascade) its evaluations; False when it is not finished."""
        with self.database.session() as session, session.begin():
            return (
                session.execute(
                    delete(JobRow).where(JobRow.id == job_id, JobRow.status.in_(FINISHED_STATUSES))
                ).rowcount
                == 1
            )

    def recover_interrupted(self) -> list[str]:
        """At startup: jobs left running by a crash are queued again (or cancelled, if that was asked);
        returns every queued job, oldest first."""
        with self.database.session() as session, session.begin():
            session.execute(
                update(JobRow)
                .where(JobRow.status == "running", JobRow.cancel_requested.is_(True))
                .values(status="cancelled", finished_at=utc_now())
            )
            session.execute(update(JobRow).where(JobRow.status == "running").values(status="queued"))
            return list(session.scalars(select(JobRow.id).where(JobRow.status == "queued").order_by(JobRow.created_at)))

    def _update_running(self, job_id: str, **values: Any) -> None:
        with self.database.session() as session, session.begin():
            session.execute(update(JobRow).where(JobRow.id == job_id, JobRow.status == "running").values(**values))


def stored_labels(labels: dict[str, Any]) -> dict[str, Any]:
    """Labels as the columns hold them: tags between commas (",a,b,"; "" for none)."""
    stored = dict(labels)
    if "tags" in stored:
        tags = list(dict.fromkeys(stored["tags"] or []))
        stored["tags"] = f",{','.join(tags)}," if tags else ""
    return stored


def tags_of(job: JobRow) -> list[str]:
    return [tag for tag in (job.tags or "").split(",") if tag]
