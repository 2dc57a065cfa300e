"""`diswot.client`: the search service from Python (notebooks, pipelines, other services).

    from diswot.client import Client
    with Client("http://localhost:8000", api_key=None) as client:
        job = client.submit(teacher="resnet56", space="resnet_cifar", evaluations=200, max_params="0.5M")
        client.wait(job["id"], on_progress=lambda job: print(job["progress"]))
        students = client.result(job["id"])["students"]   # specs: diswot.build_student(students[0]) builds one

Answers are the server's JSON as dicts. A 4xx/5xx answer raises ServiceError with the server's status and message.
`AsyncClient` has the same methods as coroutines, on httpx.AsyncClient.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional

import httpx

from diswot.errors import DiswotError

FINISHED_STATUSES = ("succeeded", "failed", "cancelled")


class ServiceError(DiswotError):
    """The server refused or failed a request: `status` is the HTTP status, `message` the server's explanation."""

    def __init__(self, status: int, message: str):
        super().__init__(f"server answered {status}: {message}")
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    params: Optional[dict[str, Any]] = None
    body: Any = None


def answer(response: httpx.Response) -> Any:
    """The JSON of a successful response (None for 204), or the ServiceError the server's answer stands for."""
    if response.is_success:
        return None if response.status_code == 204 else response.json()
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
        raise TimeoutError(f"search job {job['id']} is still {job['status']} after the timeout")
    return min(poll_interval, left)


class Endpoints:
    """Each method names one request; `send` (sync or async) makes it, so both clients share these bodies."""

    def send(self, call: Call) -> Any:
        raise NotImplementedError

    def submit(self, request: Optional[dict[str, Any]] = None, **fields: Any) -> Any:
        """Queue a search (SearchConfig's fields); returns the job, whose `id` the other calls take."""
        return self.send(Call("POST", "/v1/searches", body={**(request or {}), **fields}))

    def get(self, job_id: str) -> Any:
        """The job's status, progress (evaluations, total, best_score, elapsed, eta) and error."""
        return self.send(Call("GET", f"/v1/searches/{job_id}"))

    def result(self, job_id: str, history: bool = False) -> Any:
        """Ranked `students` and the `pareto_front` of a succeeded job (with `history`: every evaluation)."""
        return self.send(Call("GET", f"/v1/searches/{job_id}/result", params={"history": history}))

    def cancel(self, job_id: str) -> Any:
        return self.send(Call("POST", f"/v1/searches/{job_id}/cancel"))

    def delete(self, job_id: str) -> Any:
        """Delete a finished job."""
        return self.send(Call("DELETE", f"/v1/searches/{job_id}"))

    def list(self, status: Optional[str] = None, limit: int = 20, offset: int = 0) -> Any:
        """One page of jobs, newest first: {"items", "total", "limit", "offset"}."""
        params = {"limit": limit, "offset": offset, **({"status": status} if status else {})}
        return self.send(Call("GET", "/v1/searches", params=params))

    def score(self, teacher: str, space: str, archs: list[str], **options: Any) -> Any:
        """Score given architectures against a teacher now; returns one record per architecture, in order."""
        return self.send(
            Call("POST", "/v1/score", body={"teacher": teacher, "space": space, "archs": list(archs), **options})
        )

    def catalog(self, kind: str) -> Any:
        """'spaces', 'teachers', 'proxies' or 'strategies': the names this server accepts."""
        return self.send(Call("GET", f"/v1/{kind}"))


def _headers(api_key: Optional[str]) -> dict[str, str]:
    return {"X-API-Key": api_key} if api_key else {}


class Client(Endpoints):
    def __init__(self, base_url: str, api_key: Optional[str] = None, timeout: float = 60.0):
        self.http = httpx.Client(base_url=base_url, headers=_headers(api_key), timeout=timeout)

    def send(self, call: Call) -> Any:
        return answer(self.http.request(call.method, call.path, params=call.params, json=call.body))

    def wait(
        self,
        job_id: str,
        on_progress: Optional[Callable[[dict[str, Any]], None]] = None,
        timeout: Optional[float] = None,
        poll_interval: float = 0.5,
    ) -> dict[str, Any]:
        """Poll until the job has finished (succeeded, failed or cancelled) and return it; `on_progress(job)` after
        every poll. TimeoutError when `timeout` seconds pass first (the job goes on)."""
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
        self.http = httpx.AsyncClient(base_url=base_url, headers=_headers(api_key), timeout=timeout)

    async def send(self, call: Call) -> Any:
        return answer(await self.http.request(call.method, call.path, params=call.params, json=call.body))

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
