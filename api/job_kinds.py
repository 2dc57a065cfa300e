"""The kinds of job the service runs, registered like spaces and proxies: `search` (api.search_jobs) and `distill`
(api.distill_jobs). A job's stored config names its kind (a search's has no `kind`: searches came first). A new
kind is one module that registers a `JobKind`, imported below, plus its router."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Optional

from api.jobs import LeaseLost
from diswot.errors import DiswotError
from search_spaces.registry import Registry

if TYPE_CHECKING:
    from api.jobs import JobRepository
    from api.worker import SearchWorkerPool

logger = logging.getLogger(__name__)

SEARCH_KIND = "search"


@dataclass(frozen=True)
class JobKind:
    name: str
    # Runs one claimed job to its end, a stop or a failure: (pool, job id, stored config, the request as parsed at
    # submission when this process took it, else None: the kind parses the stored config).
    run: Callable[["SearchWorkerPool", str, dict[str, Any], Optional[Any]], None]


JOB_KINDS: Registry[JobKind] = Registry("job kind")


def register_job_kind(kind: JobKind) -> JobKind:
    JOB_KINDS.add(kind.name, kind)
    return kind


def kind_of(config: dict[str, Any]) -> str:
    return config.get("kind", SEARCH_KIND)


def run_to_its_end(jobs: "JobRepository", job_id: str, kind: str, run: Callable[[], dict[str, Any]],
                   stopped: type[BaseException]) -> None:
    """Run a claimed job (`run` returns its result) and record how it ended: succeeded with the result; `stopped`
    (raised when it was asked to stop) cancelled if a cancel was asked, else queued again to resume at the next
    start (a shutdown); failed with the message of a DiswotError; failed as an internal error, logged, otherwise.
    A job another replica took over (`LeaseLost`) is left to it: every write of these is fenced by the lease."""
    try:
        result = run()
    except LeaseLost:
        logger.warning("%s job %s: taken over by another replica, which finishes it", kind, job_id)
        return
    except stopped:
        if jobs.cancel_requested(job_id):
            jobs.mark_cancelled(job_id)
        else:
            jobs.requeue(job_id)
        return
    except DiswotError as error:
        jobs.fail(job_id, str(error))
        return
    except Exception as error:
        logger.exception("%s job %s failed", kind, job_id)
        jobs.fail(job_id, f"internal error: {type(error).__name__}: {error}")
        return
    jobs.succeed(job_id, result)


from api import distill_jobs, search_jobs  # noqa: E402,F401  (registration)
