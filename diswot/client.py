"""`diswot.client`: the search service from Python (notebooks, pipelines, other services).

    from diswot.client import Client
    with Client("http://localhost:8000", api_key=None) as client:
        job = client.submit(teacher="resnet56", space="resnet_cifar", evaluations=200, max_params="0.5M",
                            name="r56 under 0.5M", tags=["r56"])
        client.wait(job["id"], on_progress=lambda job: print(job["progress"]["stage"], job["progress"]["stage_done"]))
        students = client.result(job["id"])["students"]   # specs: diswot.build_student(students[0]) builds one
        run = client.distill(student=students[0], teacher="resnet56", checkpoint="r56.pt", data="c100.npz", epochs=240)

Answers are the server's JSON as dicts. A 4xx/5xx answer raises ServiceError with the server's status and message;
a server that cannot be reached raises ServiceUnreachable, one that does not answer in time ServiceTimeout, and
`wait` past its timeout WaitTimeout (all DiswotErrors with a one-line message). `AsyncClient` has the same
methods as coroutines, on httpx.AsyncClient.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional
from urllib.parse import quote

import httpx

from diswot.errors import DiswotError

FINISHED_STATUSES = ("succeeded", "failed", "cancelled")


class ServiceError(DiswotError):
    """The server refused or failed a request: `status` is the HTTP status, `message` the server's explanation."""

    def __init__(self, status: int, message: str):
        super().__init__(f"server answered {status}: {message}")
        self.status = status
        self.message = message


class ServiceUnreachable(DiswotError):
    """No answer came from the server: it could not be reached (nothing was done) or the connection broke."""


class ServiceTimeout(ServiceUnreachable):
    """The server did not answer within the client's timeout (a submitted job may still have been queued)."""


class WaitTimeout(DiswotError, TimeoutError):
    """`wait` gave up: the job had not finished within its `timeout` (the job goes on). Also a TimeoutError."""


@contextlib.contextmanager
def reaching(base_url: httpx.URL, call: "Call", timeout: float) -> Iterator[None]:
    """httpx's transport errors as the DiswotErrors above, each one line."""
    try:
        yield
    except httpx.TimeoutException as error:
        raise ServiceTimeout(
            f"the diswot server at {base_url} did not answer {call.method} {call.path} within {timeout:g} s"
        ) from error
    except httpx.TransportError as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ServiceUnreachable(f"cannot reach the diswot server at {base_url}: {reason}") from error


def path_segment(value: str, what: str) -> str:
    """`value` as one path segment: '/', '?' or '#' in it cannot reach another endpoint or add a query."""
    if not isinstance(value, str) or value in ("", ".", ".."):
        raise DiswotError(f"{value!r} is not {what}")
    return quote(value, safe="")


def job_path(job_id: str, action: str = "", jobs: str = "searches") -> str:
    """`/v1/<jobs>/<job_id>[/action]` with the id as one path segment."""
    segment = path_segment(job_id, "a job id (ids are what submit and distill return)")
    return f"/v1/{jobs}/{segment}" + (f"/{action}" if action else "")


def checked_headers(api_key: Optional[str]) -> dict[str, str]:
    """X-Requested-With (the server refuses a cancel or delete without it, as it would a cross-site form's) and
    the X-API-Key header; a key that cannot travel in an HTTP header is refused here, not at the first call."""
    headers = {"X-Requested-With": "diswot-client"}
    if not api_key:
        return headers
    if not all(" " <= character <= "~" for character in api_key):
        raise DiswotError("the API key must be printable ASCII characters (it is sent in the X-API-Key header)")
    return {**headers, "X-API-Key": api_key}


def http_options(base_url: str, api_key: Optional[str], timeout: float) -> dict[str, Any]:
    try:
        url = httpx.URL(base_url)
    except httpx.InvalidURL as error:
        raise DiswotError(f"{base_url!r} is not a server URL: {error}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise DiswotError(f"{base_url!r} is not a server URL such as http://localhost:8000")
    return {"base_url": url, "headers": checked_headers(api_key), "timeout": timeout}


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    params: Optional[dict[str, Any]] = None
    body: Any = None
    text: bool = False  # the answer is text (CSV), not JSON


def table_params(feasible: Optional[bool], stage: Optional[str], sort: str, descending: bool,
                 **page: int) -> dict[str, Any]:
    params = {"sort": sort, "descending": descending, **page}
    if feasible is not None:
        params["feasible"] = feasible
    if stage is not None:
        params["stage"] = stage
    return params


def answer(response: httpx.Response, text: bool = False) -> Any:
    """The JSON (or with `text` the text) of a successful response (None for 204), or the ServiceError the
    server's answer stands for."""
    if response.is_success:
        if response.status_code == 204:
            return None
        if text:
            return response.text
        try:
            return response.json()
        except ValueError:
            raise ServiceError(response.status_code, "the answer is not JSON (is this a diswot server?)") from None
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    raise ServiceError(
        response.status_code, detail if isinstance(detail, str) else response.text or response.reason_phrase
    )


def wait_step(job: dict[str, Any], deadline: Optional[float], poll_interval: float) -> Optional[float]:
    """None once the job has finished, else seconds to sleep before the next poll; TimeoutError past the deadline."""
    if job["status"] in FINISHED_STATUSES:
        return None
    if deadline is None:
        return poll_interval
    left = deadline - time.monotonic()
    if left <= 0:
        raise WaitTimeout(f"job {job['id']} is still {job['status']} after the timeout (it goes on)")
    return min(poll_interval, left)


class Endpoints:
    """Each method names one request; `send` (sync or async) makes it, so both clients share these bodies."""

    def send(self, call: Call) -> Any:
        raise NotImplementedError

    def submit(self, request: Optional[dict[str, Any]] = None, **fields: Any) -> Any:
        """Queue a search (a search request's fields, and optionally its `name`, `tags` and `note`); returns the
        job, whose `id` the other calls take."""
        return self.send(Call("POST", "/v1/searches", body={**(request or {}), **fields}))

    def get(self, job_id: str) -> Any:
        """The job's status, progress (its `stage` — calibration, search, confirm — with `stage_done` of
        `stage_total`; the search's evaluations, total, best_score; elapsed, eta), stop_reason and error."""
        return self.send(Call("GET", job_path(job_id)))

    def label(self, job_id: str, **labels: Any) -> Any:
        """Change a job's `name`, `tags` or `note` (those given; None clears a name or note); returns the job."""
        return self.send(Call("PATCH", job_path(job_id), body=labels))

    def evaluations(self, job_id: str, feasible: Optional[bool] = None, stage: Optional[str] = None,
                    sort: str = "number", descending: bool = False, limit: int = 50, offset: int = 0) -> Any:
        """One page of every evaluation of a job, numbered, filtered and sorted: {"items", "total", ...}."""
        return self.send(Call("GET", job_path(job_id, "evaluations/table"),
                              params=table_params(feasible, stage, sort, descending, limit=limit, offset=offset)))

    def evaluations_csv(self, job_id: str, feasible: Optional[bool] = None, stage: Optional[str] = None,
                        sort: str = "number", descending: bool = False) -> Any:
        """Every evaluation that passes the filters as CSV text (a run folder's history.csv columns)."""
        return self.send(Call("GET", job_path(job_id, "evaluations.csv"),
                              params=table_params(feasible, stage, sort, descending), text=True))

    def result(self, job_id: str, history: bool = False) -> Any:
        """Ranked `students` and the `pareto_front` of a succeeded job (with `history`: every evaluation)."""
        return self.send(Call("GET", job_path(job_id, "result"), params={"history": history}))

    def cancel(self, job_id: str) -> Any:
        return self.send(Call("POST", job_path(job_id, "cancel")))

    def delete(self, job_id: str) -> Any:
        """Delete a finished job."""
        return self.send(Call("DELETE", job_path(job_id)))

    def list(self, status: Optional[str] = None, limit: int = 20, offset: int = 0, tag: Optional[str] = None) -> Any:
        """One page of search jobs, newest first (only those with `status`, `tag`): {"items", "total", ...}."""
        params = {"limit": limit, "offset": offset, **({"status": status} if status else {}),
                  **({"tag": tag} if tag else {})}
        return self.send(Call("GET", "/v1/searches", params=params))

    def distill(self, request: Optional[dict[str, Any]] = None, **fields: Any) -> Any:
        """Queue a distillation job (`student`: a spec from a search result or 'SPACE:ARCH', or
        `source={"search": id, "rank": 1}`: a search's ranked student; `teacher`, `checkpoint`, `data`, `epochs`,
        ...); follow it with `distillation`/`wait`, then `distillation_result`."""
        return self.send(Call("POST", "/v1/distillations", body={**(request or {}), **fields}))

    def distillation(self, job_id: str) -> Any:
        """A distillation job: its progress counts `epochs_done` of `epochs`, with `best_top1` (%)."""
        return self.send(Call("GET", job_path(job_id, jobs="distillations")))

    def distillation_epochs(self, job_id: str) -> Any:
        """The epochs a distillation has trained so far, each with its losses and accuracies."""
        return self.send(Call("GET", job_path(job_id, "epochs", jobs="distillations")))["items"]

    def distillation_result(self, job_id: str) -> Any:
        """The summary of a succeeded distillation job (final and best top-1/top-5, settings, time per epoch)."""
        return self.send(Call("GET", job_path(job_id, "result", jobs="distillations")))

    def score(self, teacher: str, space: str, archs: list[str], **options: Any) -> Any:
        """Score given architectures against a teacher now; returns one record per architecture, in order."""
        return self.send(
            Call("POST", "/v1/score", body={"teacher": teacher, "space": space, "archs": list(archs), **options})
        )

    def catalog(self, kind: str) -> Any:
        """'spaces', 'teachers', 'proxies' or 'strategies': the names this server accepts."""
        return self.send(Call("GET", f"/v1/{path_segment(kind, 'a catalog (spaces, teachers, proxies, strategies)')}"))


class Client(Endpoints):
    def __init__(self, base_url: str, api_key: Optional[str] = None, timeout: float = 60.0):
        self.timeout = timeout
        self.http = httpx.Client(**http_options(base_url, api_key, timeout))

    def send(self, call: Call) -> Any:
        with reaching(self.http.base_url, call, self.timeout):
            response = self.http.request(call.method, call.path, params=call.params, json=call.body)
        return answer(response, call.text)

    def wait(
        self,
        job_id: str,
        on_progress: Optional[Callable[[dict[str, Any]], None]] = None,
        timeout: Optional[float] = None,
        poll_interval: float = 0.5,
    ) -> dict[str, Any]:
        """Poll until the job has finished (succeeded, failed or cancelled) and return it; `on_progress(job)` after
        every poll. WaitTimeout when `timeout` seconds pass first (the job goes on)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self.get(job_id)
            if on_progress is not None:
                on_progress(job)
            pause = wait_step(job, deadline, poll_interval)
            if pause is None:
                return job
            time.sleep(pause)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.close()


class AsyncClient(Endpoints):
    """The same calls as coroutines: `job = await client.submit(...)`."""

    def __init__(self, base_url: str, api_key: Optional[str] = None, timeout: float = 60.0):
        self.timeout = timeout
        self.http = httpx.AsyncClient(**http_options(base_url, api_key, timeout))

    async def send(self, call: Call) -> Any:
        with reaching(self.http.base_url, call, self.timeout):
            response = await self.http.request(call.method, call.path, params=call.params, json=call.body)
        return answer(response, call.text)

    async def wait(
        self,
        job_id: str,
        on_progress: Optional[Callable[[dict[str, Any]], None]] = None,
        timeout: Optional[float] = None,
        poll_interval: float = 0.5,
    ) -> dict[str, Any]:
        """As Client.wait, without blocking the event loop."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = await self.get(job_id)
            if on_progress is not None:
                on_progress(job)
            pause = wait_step(job, deadline, poll_interval)
            if pause is None:
                return job
            await asyncio.sleep(pause)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *_exc: Any) -> None:
        await self.aclose()
