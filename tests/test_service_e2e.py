"""The real server (`diswot serve`, uvicorn on a loopback port) driven by the Python client: submit, follow,
fetch, cancel; a server killed mid-job and started again on the same database finishes the job with the result
an uninterrupted job gives; `diswot submit --wait` prints the ranking and writes the result. On SQLite and on
PostgreSQL (see conftest.py)."""

import asyncio
import json
import subprocess
import sys
import time

import httpx
import pytest

pytest.importorskip("uvicorn")

from sqlalchemy import func, select  # noqa: E402

from api.db import Database, EvaluationRow, JobRow  # noqa: E402
from diswot.client import AsyncClient, Client, ServiceError, WaitTimeout  # noqa: E402
from local_server import LocalServer  # noqa: E402

TINY = dict(teacher="resnet8", space="resnet_cifar_wide", num_classes=10, batch_size=8, population=8, sample_size=3,
            proxies=["diswot"], confirm_top=0)
# One torch thread per server: on a shared two-core machine spinning intra-op threads make timings erratic. A short
# lease: on PostgreSQL a server started again after a kill resumes its job once the dead process's lease expired.
SERVER_ENV = {"OMP_NUM_THREADS": "1", "DISWOT_LEASE_SECONDS": "3", "DISWOT_LEASE_RENEWAL_SECONDS": "1"}


@pytest.fixture(scope="module")
def server(fresh_database, tmp_path_factory):
    with LocalServer(fresh_database(), tmp_path_factory.mktemp("e2e") / "server.log", env=SERVER_ENV) as running:
        yield running


def scored_at_least(client, job_id, evaluations, timeout=120.0):
    deadline = time.monotonic() + timeout
    while client.get(job_id)["progress"]["evaluations"] < evaluations:
        assert time.monotonic() < deadline, f"job {job_id} did not score {evaluations} candidates in {timeout} s"
        time.sleep(0.02)


def comparable(result):
    """What an uninterrupted and a resumed run must share (timings differ)."""
    return (
        result["students"],
        result["pareto_front"],
        [(e["canonical"], e["feasible"], e["score"]) for e in result["history"]],
        result["best_scores"],
    )


def test_submit_follow_fetch_and_cancel_over_http(server):
    with Client(server.url) as client:
        job = client.submit(TINY, evaluations=30, top_k=4)
        seen = []
        done = client.wait(job["id"], on_progress=seen.append, poll_interval=0.05, timeout=120)
        assert done["status"] == "succeeded"
        assert [j["progress"]["evaluations"] for j in seen] == sorted(j["progress"]["evaluations"] for j in seen)
        assert done["progress"]["evaluations"] == 30 and done["progress"]["best_score"] is not None
        result = client.result(job["id"])
        assert [s["rank"] for s in result["students"]] == [1, 2, 3, 4] and result["pareto_front"]
        assert result["students"][0]["score"] == done["progress"]["best_score"]

        long = client.submit(TINY, evaluations=5000)
        scored_at_least(client, long["id"], 1)
        assert client.cancel(long["id"])["cancel_requested"]
        assert client.wait(long["id"], timeout=60)["status"] == "cancelled"
        with pytest.raises(ServiceError) as refused:
            client.result(long["id"])
        assert refused.value.status == 409 and "cancelled" in refused.value.message
        with pytest.raises(ServiceError) as invalid:
            client.submit(TINY, evaluations=0)
        assert invalid.value.status == 422 and "field 'evaluations'" in invalid.value.message
        listed = {j["id"]: j["status"] for j in client.list(limit=100)["items"]}
        assert listed[job["id"]] == "succeeded" and listed[long["id"]] == "cancelled"
        assert long["id"] not in {j["id"] for j in client.list(status="succeeded", limit=100)["items"]}
        slow = client.submit(TINY, evaluations=5000)
        with pytest.raises(WaitTimeout, match="is still (queued|running) after the timeout"):
            client.wait(slow["id"], timeout=0.2)
        client.cancel(slow["id"])  # the server is shared with the next tests


def test_an_overflowing_budget_is_a_422_and_the_connection_goes_on(server):
    with httpx.Client(base_url=server.url) as http:
        for value in ("1e400", "9e999", 10**400):
            response = http.post("/v1/searches", json={**TINY, "max_params": value})
            assert response.status_code == 422 and "field 'max_params'" in response.json()["detail"]
            assert http.get("/readyz").status_code == 200  # the next request on the same keep-alive connection


def test_a_job_id_is_one_path_segment_whatever_it_holds(server):
    with Client(server.url) as client:
        for call, job_id, message in [
            (client.get, "../../healthz", "Not Found"),  # not /healthz's answer
            (client.get, "abc?history=true", "no search job 'abc?history=true'"),  # not job abc with a query
            (client.result, "a#b", "no search job 'a#b'"),
        ]:
            with pytest.raises(ServiceError) as refused:
                call(job_id)
            assert refused.value.status == 404 and message in refused.value.message, job_id


def test_async_client_makes_the_same_calls(server):
    async def scenario():
        async with AsyncClient(server.url) as client:
            job = await client.submit(TINY, evaluations=5)
            done = await client.wait(job["id"], poll_interval=0.05, timeout=120)
            result = await client.result(job["id"])
            scored = await client.score(
                "resnet8", "resnet_cifar_wide", [result["students"][0]["arch"]], num_classes=10, batch_size=8,
                proxies=TINY["proxies"],
            )
            return done, result, scored, await client.catalog("spaces")

    done, result, scored, spaces = asyncio.run(scenario())
    assert done["status"] == "succeeded" and len(result["students"]) == 5
    # a student's score does not depend on how it was found: the same number from /v1/score
    assert scored["records"][0]["score"] == pytest.approx(result["students"][0]["score"])
    assert "nb201" in {space["name"] for space in spaces}


def test_a_killed_server_resumes_the_job_and_ends_with_the_uninterrupted_result(database_url, tmp_path):
    request = dict(TINY, evaluations=120, max_params="0.6M")
    server = LocalServer(database_url, tmp_path / "server.log", env=SERVER_ENV).start()
    try:
        with Client(server.url) as client:
            job = client.submit(request)
            scored_at_least(client, job["id"], 10)
        server.kill()
        database = Database(database_url)
        with database.session() as session:
            assert session.get(JobRow, job["id"]).status == "running"  # a crash: nobody marked it stopped
            stored_at_kill = session.scalar(select(func.count()).where(EvaluationRow.job_id == job["id"]))
        assert stored_at_kill >= 10  # and the job was still running: killed mid-job, with evaluations to resume from

        server.start()
        with Client(server.url) as client:
            resumed = client.wait(job["id"], timeout=300)
            assert resumed["status"] == "succeeded" and resumed["runs"] == 2
            uninterrupted = client.wait(client.submit(request)["id"], timeout=300)
            assert uninterrupted["runs"] == 1
            assert comparable(client.result(job["id"], history=True)) == comparable(
                client.result(uninterrupted["id"], history=True)
            )
        with database.session() as session:  # nothing was scored twice: the resumed job has the same rows
            counts = [
                session.scalar(select(func.count()).where(EvaluationRow.job_id == j))
                for j in (job["id"], uninterrupted["id"])
            ]
        assert counts[0] == counts[1]
    finally:
        server.stop()


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "diswot", *args], capture_output=True, text=True, timeout=300)


def test_cli_submit_waits_and_prints_the_ranking(server, tmp_path):
    out = tmp_path / "result.json"
    options = "--teacher resnet8 --space resnet_cifar_wide --num-classes 10 --evaluations 6 --top-k 3 --wait"
    tiny = "--set batch_size=8 --set population=4 --set sample_size=2"
    completed = run_cli("submit", "--server", server.url, *options.split(), *tiny.split(), "--out", str(out))
    assert completed.returncode == 0, completed.stderr
    assert "6 candidates scored" in completed.stdout
    assert [s["rank"] for s in json.loads(out.read_text())["students"]] == [1, 2, 3]  # a result.json, as the CLI writes
    refused = run_cli("submit", "--server", server.url, "--teacher", "resnet57", "--space", "nb201")
    assert refused.returncode == 2
    assert "server answered 422: field 'teacher': unknown teacher 'resnet57'" in refused.stderr
