"""Leases on SQLite and on PostgreSQL, at the repository (`api.jobs`): replicas claiming at once take each job once;
a live lease is never taken, an expired one is taken over; the replica that lost a job can no longer change it or
store evaluations in it; a job taken over too often fails saying why; an expired job that was asked to cancel is
cancelled. (tests/test_replicas.py runs the same with real server processes.)"""

import threading
from datetime import timedelta

import pytest
from pydantic import ValidationError

pytest.importorskip("sqlalchemy")

from sqlalchemy import update  # noqa: E402

from api.db import Database, JobRow, utc_now  # noqa: E402
from api.jobs import JobRepository, LeaseLost  # noqa: E402
from api.settings import Settings  # noqa: E402
from api.store import SqlEvaluationStore  # noqa: E402
from diswot.student_search import Evaluation  # noqa: E402

LEASE_S = 30.0


def expire(database: Database, job_id: str) -> None:
    """What the passing of time does to a lease nobody renews."""
    with database.session() as session, session.begin():
        past = utc_now() - timedelta(seconds=1)
        session.execute(update(JobRow).where(JobRow.id == job_id).values(lease_expires_at=past))


def evaluation(canonical: str) -> Evaluation:
    return Evaluation(canonical, canonical, params=1, flops=1, feasible=True, score=-1.0, scores={"diswot": -1.0})


def test_replicas_claiming_at_once_take_every_job_exactly_once(database):
    creator = JobRepository(database)
    created = {creator.create({"n": n}).id for n in range(12)}
    replicas = [JobRepository(database, owner=f"replica-{n}") for n in range(3)]
    claimed: dict[str, list[str]] = {replica.owner: [] for replica in replicas}
    start = threading.Barrier(len(replicas))

    def claim_all(replica: JobRepository) -> None:
        start.wait()
        while (job := replica.claim_next(LEASE_S, max_takeovers=3)) is not None:
            claimed[replica.owner].append(job[0])

    threads = [threading.Thread(target=claim_all, args=(replica,)) for replica in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every_claim = [job_id for jobs in claimed.values() for job_id in jobs]
    assert sorted(every_claim) == sorted(created)  # each once, none twice
    for owner, jobs in claimed.items():
        assert {creator.get(job_id).lease_owner for job_id in jobs} <= {owner}


def test_a_live_lease_is_kept_and_an_expired_one_is_taken_over_and_fences_its_old_holder(database):
    first, second = JobRepository(database, owner="first"), JobRepository(database, owner="second")
    job = first.create({"kind": "search"})
    assert first.claim_next(LEASE_S, max_takeovers=3) == (job.id, job.config)
    SqlEvaluationStore(database, job.id, lease_holder=first).append(evaluation("a"))
    assert second.claim_next(LEASE_S, max_takeovers=3) is None  # alive: not taken
    assert first.renew_leases([job.id], LEASE_S) == {job.id}

    expire(database, job.id)
    assert second.claim_next(LEASE_S, max_takeovers=3) == (job.id, job.config)
    taken = second.get(job.id)
    assert (taken.status, taken.lease_owner, taken.runs, taken.takeovers) == ("running", "second", 2, 1)
    assert first.renew_leases([job.id], LEASE_S) == set()  # the old holder learns it lost the job
    with pytest.raises(LeaseLost):
        SqlEvaluationStore(database, job.id, lease_holder=first).append(evaluation("b"))
    first.record_progress(job.id, 99, 99, 1.0, 0.0)
    first.succeed(job.id, {"from": "first"})
    first.requeue(job.id)
    unchanged = second.get(job.id)
    assert (unchanged.status, unchanged.evaluations_done, unchanged.lease_owner) == ("running", 0, "second")

    SqlEvaluationStore(database, job.id, lease_holder=second).append(evaluation("b"))
    second.succeed(job.id, {"from": "second"})
    assert [e.canonical for e in SqlEvaluationStore(database, job.id).load()] == ["a", "b"]
    done = second.get(job.id)
    assert (done.status, done.lease_owner, second.result(job.id)) == ("succeeded", None, {"from": "second"})


def test_a_clean_stop_gives_the_lease_back_at_once(database):
    first, second = JobRepository(database, owner="first"), JobRepository(database, owner="second")
    job = first.create({})
    first.claim_next(LEASE_S, max_takeovers=3)
    first.requeue(job.id)
    assert second.claim_next(LEASE_S, max_takeovers=3) == (job.id, job.config)
    assert second.get(job.id).takeovers == 0  # given back, not taken over


def test_a_job_whose_replicas_keep_dying_fails_after_the_last_takeover(database):
    jobs = JobRepository(database)
    job = jobs.create({})
    for takeover in range(3):
        replica = JobRepository(database, owner=f"replica-{takeover}")
        assert replica.claim_next(LEASE_S, max_takeovers=2) == (job.id, job.config)
        expire(database, job.id)
    assert JobRepository(database).claim_next(LEASE_S, max_takeovers=2) is None
    failed = jobs.get(job.id)
    assert (failed.status, failed.runs, failed.takeovers, failed.lease_owner) == ("failed", 3, 2, None)
    assert failed.error == ("the replica running this job stopped without giving it back 3 times (its lease "
                            "expired each time); it is not taken over again (DISWOT_MAX_TAKEOVERS=2)")


def test_an_expired_job_that_was_asked_to_cancel_is_cancelled_not_taken_over(database):
    jobs = JobRepository(database, owner="dead")
    job = jobs.create({})
    jobs.claim_next(LEASE_S, max_takeovers=3)
    jobs.request_cancel(job.id)
    expire(database, job.id)
    assert JobRepository(database).claim_next(LEASE_S, max_takeovers=3) is None
    assert jobs.get(job.id).status == "cancelled"


def test_a_renewal_period_not_below_the_lease_is_refused(no_service_environment):
    with pytest.raises(ValidationError, match=r"lease_renewal_seconds \(30.0\) must be below lease_seconds \(30.0\)"):
        Settings(lease_seconds=30, lease_renewal_seconds=30)
