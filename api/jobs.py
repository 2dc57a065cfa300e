"""A job's life in the database: queued -> running -> succeeded | failed | cancelled.

Every change of status is one conditional UPDATE (`... WHERE status = <expected>`), so a cancel racing with a
worker's start or finish leaves one consistent outcome, whichever thread or replica wins.

Replicas share the queue through the database: a replica claims the oldest queued job (on PostgreSQL with
`FOR UPDATE SKIP LOCKED`, so two replicas claiming at once take different jobs without waiting on each other) and
holds it by a lease it renews while the job runs. A job whose lease expired (its replica died) is claimed like a
queued one, by any replica, and resumes from what it stored; after `max_takeovers` takeovers it fails instead.
Every write of a running job is fenced by its lease (`... WHERE lease_owner = <this replica>`): a replica that lost
its lease to another changes nothing of the job, and stops it at its next check.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import timedelta
from typing import Any, Optional

from sqlalchemy import and_, delete, func, or_, select, update

from api.db import FINISHED_STATUSES, Database, JobRow, utc_now

# A search's config has no `kind`; a distillation's says 'distill' (api.distill_jobs).
JOB_KIND = func.coalesce(JobRow.config["kind"].as_string(), "search")


class LeaseLost(Exception):
    """This replica's lease on a job expired and another replica took the job over."""


def replica_name() -> str:
    """Who holds a lease: the host, the process and a random part (a restarted process is another replica)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def lease_expired(now):
    return and_(JobRow.status == "running", or_(JobRow.lease_expires_at.is_(None), JobRow.lease_expires_at < now))


class JobRepository:
    def __init__(self, database: Database, owner: Optional[str] = None):
        self.database = database
        self.owner = owner if owner is not None else replica_name()  # this replica, in the leases it holds

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

    def claim_next(self, lease_seconds: float, max_takeovers: int) -> Optional[tuple[str, dict[str, Any]]]:
        """Take the oldest job that is queued or whose lease expired, under a new lease of this replica; its id and
        config, or None when there is none. An expired job that was asked to cancel is cancelled instead, and one
        already taken over `max_takeovers` times fails instead (its replicas keep dying)."""
        now = utc_now()
        with self.database.session() as session, session.begin():
            session.execute(
                update(JobRow)
                .where(lease_expired(now), JobRow.cancel_requested.is_(True))
                .values(status="cancelled", finished_at=now, lease_owner=None, lease_expires_at=None)
            )
            session.execute(
                update(JobRow)
                .where(lease_expired(now), JobRow.takeovers >= max_takeovers)
                .values(status="failed", finished_at=now, lease_owner=None, lease_expires_at=None, eta_seconds=None,
                        error=f"the replica running this job stopped without giving it back {max_takeovers + 1} "
                              f"times (its lease expired each time); it is not taken over again "
                              f"(DISWOT_MAX_TAKEOVERS={max_takeovers})")
            )
            claimable = or_(JobRow.status == "queued", lease_expired(now))
            found = session.execute(
                select(JobRow.id, JobRow.status).where(claimable).order_by(JobRow.created_at, JobRow.id).limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if found is None:
                return None
            taken_over = int(found.status == "running")
            claimed = session.execute(
                update(JobRow).where(JobRow.id == found.id, claimable).values(
                    status="running", started_at=func.coalesce(JobRow.started_at, now), runs=JobRow.runs + 1,
                    takeovers=JobRow.takeovers + taken_over, lease_owner=self.owner,
                    lease_expires_at=now + timedelta(seconds=lease_seconds),
                )
            ).rowcount
            if claimed != 1:  # taken meanwhile (the conditional UPDATE is the claim; the lock only spares waiting)
                return None
            return found.id, session.scalar(select(JobRow.config).where(JobRow.id == found.id))

    def renew_leases(self, job_ids: list[str], lease_seconds: float) -> set[str]:
        """Extend this replica's leases on `job_ids`; the ids it still holds (the others were taken over)."""
        if not job_ids:
            return set()
        held = and_(JobRow.id.in_(job_ids), JobRow.status == "running", JobRow.lease_owner == self.owner)
        with self.database.session() as session, session.begin():
            until = utc_now() + timedelta(seconds=lease_seconds)
            session.execute(update(JobRow).where(held).values(lease_expires_at=until))
            return set(session.scalars(select(JobRow.id).where(held)))

    def holds_lease(self, job_id: str, session) -> bool:
        """In `session`'s transaction: whether this replica holds the job, the job's row locked (PostgreSQL) until
        the transaction ends, so no takeover comes in between."""
        owner = session.scalar(select(JobRow.lease_owner).where(JobRow.id == job_id).with_for_update())
        return owner == self.owner

    def queued(self, job_ids: list[str]) -> set[str]:
        with self.database.session() as session:
            return set(session.scalars(select(JobRow.id).where(JobRow.id.in_(job_ids), JobRow.status == "queued")))

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
        """A running job stopped by a server shutdown gives its lease up: any replica resumes it from its
        evaluations now, or this one at its next start."""
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

    def recover_interrupted(self) -> None:
        """For a server that is alone on its database (SQLite): jobs a crash left running are queued again (or
        cancelled, if that was asked) at once, without waiting for their leases to expire."""
        with self.database.session() as session, session.begin():
            session.execute(
                update(JobRow)
                .where(JobRow.status == "running", JobRow.cancel_requested.is_(True))
                .values(status="cancelled", finished_at=utc_now(), lease_owner=None, lease_expires_at=None)
            )
            session.execute(
                update(JobRow).where(JobRow.status == "running")
                .values(status="queued", lease_owner=None, lease_expires_at=None)
            )

    def _update_running(self, job_id: str, **values: Any) -> None:
        """Change a job this replica runs; nothing when another replica took it over. A job that leaves 'running'
        gives its lease up."""
        if values.get("status", "running") != "running":
            values.update(lease_owner=None, lease_expires_at=None)
        with self.database.session() as session, session.begin():
            session.execute(
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.status == "running", JobRow.lease_owner == self.owner)
                .values(**values)
            )


def stored_labels(labels: dict[str, Any]) -> dict[str, Any]:
    """Labels as the columns hold them: tags between commas (",a,b,"; "" for none)."""
    stored = dict(labels)
    if "tags" in stored:
        tags = list(dict.fromkeys(stored["tags"] or []))
        stored["tags"] = f",{','.join(tags)}," if tags else ""
    return stored


def tags_of(job: JobRow) -> list[str]:
    return [tag for tag in (job.tags or "").split(",") if tag]
