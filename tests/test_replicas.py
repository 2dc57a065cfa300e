"""Two `diswot serve` replicas on one PostgreSQL database, as real processes on loopback: started at the same moment
on an empty database, both come up (the schema is made once); jobs submitted to either run on either; a replica
killed with SIGKILL mid-job loses the job to the other once its lease expires, and every job ends with the result
of a solo run, no evaluation stored twice; a replica started again takes no job whose lease is alive; the same
for a distillation, resumed from its last checkpoint; the dashboard's listings on either replica show every job; a
job is cancelled and deleted through the replica that does not run it. PostgreSQL only (SQLite is one server per
file: tests/test_schema_migrations.py). The tests share two replicas and run in order: the dashboard's test counts
the jobs of the tests before it."""

import time
from datetime import timedelta

import numpy as np
import pytest
import torch

pytest.importorskip("uvicorn")

from sqlalchemy import func, select  # noqa: E402

import diswot  # noqa: E402
from api.db import Database, EvaluationRow, JobRow, utc_now  # noqa: E402
from api.schema import current_revision, head_revision  # noqa: E402
from diswot.client import Client  # noqa: E402
from diswot.teachers import build_network  # noqa: E402
from local_server import LocalServer  # noqa: E402
from test_service_e2e import TINY, comparable  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")

LEASE_S = 3.0
REPLICA_ENV = {
    "OMP_NUM_THREADS": "1",  # as the solo runs in this process (one_torch_thread): the same sums, the same scores
    "DISWOT_LEASE_SECONDS": str(LEASE_S),
    "DISWOT_LEASE_RENEWAL_SECONDS": "1",
    "DISWOT_CLAIM_INTERVAL_SECONDS": "0.5",
}
SEARCHES = [dict(TINY, evaluations=60, seed=seed) for seed in range(6)]
DISTILLATION = dict(student="resnet_cifar:1x16-1x32-1x64", num_classes=4, teacher="resnet8", checkpoint="teacher.pt",
                    data="data.npz", epochs=30, batch_size=16, image_size=16, device="cpu")


class Replicas:
    def __init__(self, url: str, folder):
        torch.manual_seed(0)
        for name in ("teachers", "data", "runs"):
            (folder / name).mkdir()
        torch.save(build_network("resnet8", 4).state_dict(), folder / "teachers" / "teacher.pt")
        rng = np.random.default_rng(0)
        images, labels = rng.integers(0, 256, (160, 16, 16, 3), dtype=np.uint8), np.arange(160) % 4
        np.savez(folder / "data" / "data.npz", x_train=images[:128], y_train=labels[:128], x_test=images[128:],
                 y_test=labels[128:])
        env = {**REPLICA_ENV, "DISWOT_TEACHER_DIR": str(folder / "teachers"), "DISWOT_DATA_DIR": str(folder / "data"),
               "DISWOT_DISTILL_DIR": str(folder / "runs")}  # shared by both, as a volume would be
        self.url, self.folder = url, folder
        self.database = Database(url)
        self.a = LocalServer(url, folder / "a.log", env=env)
        self.b = LocalServer(url, folder / "b.log", env=env)

    def job(self, job_id: str) -> JobRow:
        with self.database.session() as session:
            return session.get(JobRow, job_id)

    def wait_for_job(self, until, timeout=120.0) -> JobRow:
        """The first job row for which `until(row)` holds, polled in the database."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.database.session() as session:
                for row in session.scalars(select(JobRow)):
                    if until(row):
                        return row
            time.sleep(0.05)
        raise AssertionError(f"no job got there in {timeout} s")

    def evaluation_rows(self, job_id: str) -> int:
        with self.database.session() as session:
            return session.scalar(select(func.count()).where(EvaluationRow.job_id == job_id))


def held_by_pid(row: JobRow, owner: str) -> bool:
    return row.status == "running" and row.lease_owner == owner


def held_by(server: LocalServer):
    """Whether a job row is running under a lease of `server`'s process (api.jobs.replica_name: host:pid:random)."""
    return lambda row: row.status == "running" and f":{server.process.pid}:" in (row.lease_owner or "")


@pytest.fixture(scope="module")
def replicas(postgres_server, tmp_path_factory):
    replicas = Replicas(postgres_server.new_database(), tmp_path_factory.mktemp("replicas"))
    replicas.a.launch(), replicas.b.launch()  # at the same moment, on an empty database, as `compose up` does
    try:
        replicas.a.wait_ready(), replicas.b.wait_ready()
        yield replicas
    finally:
        replicas.a.stop(), replicas.b.stop()
        replicas.database.dispose()


def test_two_replicas_started_together_on_an_empty_database_both_come_up(replicas):
    for server in (replicas.a, replicas.b):
        with Client(server.url) as client:
            assert client.list()["total"] == 0  # both up, on one schema, made once
    assert current_revision(replicas.database.engine) == head_revision()


def test_six_searches_on_two_replicas_survive_one_killed_and_end_as_solo_runs(replicas):
    solo = [comparable(diswot.search(**request).to_dict()) for request in SEARCHES]
    clients = [Client(replicas.a.url), Client(replicas.b.url)]
    ids = [clients[index % 2].submit(request)["id"] for index, request in enumerate(SEARCHES)]

    victim = replicas.wait_for_job(lambda row: held_by(replicas.a)(row) and row.evaluations_done >= 5)
    replicas.a.kill()
    lease_end = replicas.job(victim.id).lease_expires_at  # the dead replica's last renewal
    while utc_now() < lease_end - timedelta(seconds=0.3):  # nobody takes a job whose lease is alive
        assert held_by_pid(replicas.job(victim.id), victim.lease_owner)
        time.sleep(0.05)
    taken = replicas.wait_for_job(lambda row: row.id == victim.id and held_by(replicas.b)(row), timeout=60)
    assert taken.runs == 2 and taken.takeovers == 1

    running_on_b = replicas.wait_for_job(held_by(replicas.b))
    replicas.a.start()  # a new process: it takes queued jobs, not the one b runs
    clients[0] = Client(replicas.a.url)
    finished = [clients[index % 2].wait(job_id, timeout=300) for index, job_id in enumerate(ids)]
    assert [job["status"] for job in finished] == ["succeeded"] * 6
    for index, (job_id, expected) in enumerate(zip(ids, solo)):
        assert comparable(clients[index % 2].result(job_id, history=True)) == expected, job_id
        assert replicas.evaluation_rows(job_id) == len(expected[2])  # each candidate stored once
        row = replicas.job(job_id)
        assert (row.runs, row.takeovers) == ((2, 1) if job_id == victim.id else (1, 0)), job_id
    assert running_on_b.id == victim.id or replicas.job(running_on_b.id).runs == 1  # a's restart left it alone


def test_a_distillation_whose_replica_is_killed_resumes_on_the_other_from_its_last_checkpoint(replicas, tmp_path):
    job_id = Client(replicas.a.url).distill(DISTILLATION)["id"]
    holder = replicas.wait_for_job(lambda row: row.id == job_id and row.status == "running"
                                   and row.evaluations_done >= 2)  # two epochs done: a checkpoint to resume from
    victim, survivor = (replicas.a, replicas.b) if held_by(replicas.a)(holder) else (replicas.b, replicas.a)
    victim.kill()
    taken = replicas.wait_for_job(lambda row: row.id == job_id and held_by(survivor)(row), timeout=60)
    assert taken.runs == 2 and taken.takeovers == 1
    with Client(survivor.url) as client:
        assert wait_for_distillation(client, job_id)["status"] == "succeeded"
        resumed = client.distillation_result(job_id)
        solo_id = client.distill(DISTILLATION)["id"]
        replicas.wait_for_job(lambda row: row.id == solo_id and held_by(survivor)(row))
        victim.start()  # started again while the other runs a job: it leaves that job alone
        assert wait_for_distillation(client, solo_id)["status"] == "succeeded"
        solo = client.distillation_result(solo_id)
    assert (replicas.job(solo_id).runs, replicas.job(solo_id).takeovers) == (1, 0)
    epochs = (replicas.folder / "runs" / job_id / "metrics.csv").read_text().splitlines()[1:]
    assert [line.split(",")[0] for line in epochs] == [str(epoch) for epoch in range(1, 31)]  # each epoch once
    same = ("epochs_completed", "final", "best_eval_top1", "best_epoch")
    assert {key: resumed[key] for key in same} == {key: solo[key] for key in same}


def wait_for_distillation(client: Client, job_id: str, timeout: float = 300.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.http.get(f"/v1/distillations/{job_id}").json()
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"distillation {job_id} did not finish in {timeout} s")


def test_the_dashboard_on_either_replica_shows_every_job(replicas):
    listings = []
    for server in (replicas.a, replicas.b):
        with Client(server.url) as client:
            searches = {job["id"] for job in client.list(limit=100)["items"]}
            distillations = {job["id"] for job in client.http.get("/v1/distillations?limit=100").json()["items"]}
            pages = [client.http.get(f"/jobs/{job_id}").status_code for job_id in searches | distillations]
            assert client.http.get("/").status_code == 200 and set(pages) == {200}
        listings.append((searches, distillations))
    with replicas.database.session() as session:
        stored = set(session.scalars(select(JobRow.id)))
    assert len(listings[0][0]) == 6 and len(listings[0][1]) == 2
    assert listings[0] == listings[1] and listings[0][0] | listings[0][1] == stored


def test_a_job_is_cancelled_and_deleted_through_the_replica_that_does_not_run_it(replicas):
    with Client(replicas.a.url) as a, Client(replicas.b.url) as b:
        job_id = a.submit(dict(TINY, evaluations=2000))["id"]
        running = replicas.wait_for_job(lambda row: row.id == job_id and row.status == "running"
                                        and row.evaluations_done >= 1)
        runner, other = (a, b) if held_by(replicas.a)(running) else (b, a)
        other.cancel(job_id)
        assert runner.wait(job_id, timeout=60)["status"] == "cancelled"  # the runner stopped it at its next check
        other.delete(job_id)
        assert job_id not in {job["id"] for job in runner.list(limit=100)["items"]}
    assert replicas.evaluation_rows(job_id) == 0  # its evaluations went with it
