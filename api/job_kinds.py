"""The kinds of job the service runs, registered like spaces and proxies: `search` (api.search_jobs) and `distill`
(api.distill_jobs). A job's stored config names its kind (a search's has no `kind`: searches came first). A new
kind is one module that registers a `JobKind`, imported below, plus its router."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Optional

from search_spaces.registry import Registry

if TYPE_CHECKING:
    from api.worker import SearchWorkerPool

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


from api import distill_jobs, search_jobs  # noqa: E402,F401  (registration)
