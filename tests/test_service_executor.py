"""The service on a process pool (DISWOT_EXECUTOR=process): a job's result is the library's for the same request
and concurrency, progress moves, a cancelled job stops its worker processes, and a killed server's workers end.
"""

import os
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the service needs the [service] extra")
pytest.importorskip("uvicorn")
import httpx  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

import diswot  # noqa: E402
from api.app import create_app  # noqa: E402
from api.settings import Settings  # noqa: E402
from local_server import LocalServer  # noqa: E402
from service_testing import SCRIPT_HEADERS, wait_for  # noqa: E402

TINY = dict(teacher="resnet8", space="resnet_cifar_wide", num_classes=10, batch_size=8, proxies=["diswot"],
            population=8, sample_size=3, confirm_top=0)

pytestmark = pytest.mark.usefixtures("one_torch_thread", "no_service_environment")


def stat_fields(pid) -> list[str]:
    """/proc/<pid>/stat after the command name: [state, parent pid, ...]."""
    return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()


def worker_processes(parent=None, marker=b"spawn_main"):
    """Children of `parent` (default: this process) whose command line holds `marker`: b"spawn_main", a process
    pool's workers; b"multiprocessing", its resource tracker too. Read from /proc."""
    parent = os.getpid() if parent is None else parent
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent_pid = int(stat_fields(entry.name)[1])
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if parent_pid == parent and marker in command:
                found.append(int(entry.name))
    return found


def is_running(pid) -> bool:
    """Whether `pid` is a process that has not ended (an ended one no parent has reaped yet is a zombie, 'Z')."""
    try:
        return stat_fields(pid)[0] != "Z"
    except OSError:
        return False


@pytest.fixture
def process_service(tmp_path):
    settings = Settings(database_path=tmp_path / "jobs.db", executor="process", workers_per_job=2)
    with TestClient(create_app(settings), headers=SCRIPT_HEADERS) as client:
        yield client


def test_a_job_on_two_process_workers_gives_the_library_result_at_that_concurrency(process_service):
    response = process_service.post("/v1/searches", json={**TINY, "evaluations": 12})
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["config"]["concurrency"] == 4  # twice the server's workers per job, stored with the job
    done = wait_for(process_service, job["id"])
    assert done["status"] == "succeeded" and done["progress"]["evaluations"] == 12
    result = process_service.get(f"/v1/searches/{job['id']}/result").json()
    alone = diswot.search(**TINY, evaluations=12, concurrency=4, top_k=10)
    assert [(s["arch"], s["score"]) for s in result["students"]] == [(s.arch, s.score) for s in alone.students]
    assert result["executor"] == {"kind": "process", "workers": 2, "devices": ["cpu"]}


def test_a_request_may_set_its_own_concurrency(process_service):
    job = process_service.post("/v1/searches", json={**TINY, "evaluations": 4, "concurrency": 3}).json()
    assert job["config"]["concurrency"] == 3
    response = process_service.post("/v1/searches", json={**TINY, "concurrency": 0})
    assert response.status_code == 422 and "concurrency" in response.text


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="counting worker processes reads /proc")
def test_a_cancelled_job_stops_its_worker_processes(process_service):
    job = process_service.post("/v1/searches", json={**TINY, "evaluations": 3000, "population": 100}).json()
    wait_for(process_service, job["id"], until=lambda j: j["status"] == "running" and j["progress"]["evaluations"] > 2)
    assert worker_processes()
    assert process_service.post(f"/v1/searches/{job['id']}/cancel").status_code == 202
    stopped = wait_for(process_service, job["id"])
    assert stopped["status"] == "cancelled" and stopped["progress"]["evaluations"] < 3000
    deadline = time.monotonic() + 10
    while worker_processes() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert worker_processes() == []


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finding worker processes reads /proc")
def test_a_killed_server_leaves_no_worker_process_behind(tmp_path):
    env = {"DISWOT_EXECUTOR": "process", "DISWOT_WORKERS_PER_JOB": "2", "OMP_NUM_THREADS": "1"}
    with LocalServer(tmp_path / "jobs.db", tmp_path / "server.log", env=env) as server:
        with httpx.Client(base_url=server.url, headers=SCRIPT_HEADERS) as client:
            job = client.post("/v1/searches", json={**TINY, "evaluations": 3000, "population": 100}).json()
            wait_for(client, job["id"], until=lambda j: j["status"] == "running" and j["progress"]["evaluations"] > 2)
        spawned = worker_processes(server.process.pid, marker=b"multiprocessing")
        commands = [Path(f"/proc/{pid}/cmdline").read_bytes() for pid in spawned]
        assert sum(b"spawn_main" in c for c in commands) == 2 and sum(b"resource_tracker" in c for c in commands) == 1
        server.kill()
        deadline = time.monotonic() + 30
        while any(map(is_running, spawned)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in spawned if is_running(pid)], server.log_tail()
