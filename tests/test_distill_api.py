"""Distillation jobs through the service (`POST /v1/distillations`) and the Python client: the job runs on the
search jobs' machinery (status, progress, cancel), its files come only from the server's directories, and bad
requests are 422s naming the field."""

import io

import numpy as np
import pytest
import torch

pytest.importorskip("fastapi")

from fastapi.testclient import TestClient  # noqa: E402

from api.app import create_app  # noqa: E402
from api.db import Database  # noqa: E402
from api.jobs import JobRepository  # noqa: E402
from api.settings import Settings  # noqa: E402
import service_testing  # noqa: E402
from service_testing import SCRIPT_HEADERS  # noqa: E402
from diswot.distillation.student import UnscoredStudent  # noqa: E402
from diswot.teachers import build_network  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread", "no_service_environment")

SPEC = {**UnscoredStudent("resnet_cifar", "1x16-1x32-1x64").spec(4).to_dict(), "score": 0.0}  # as a search gives it
SPEC_10 = {**UnscoredStudent("resnet_cifar", "1x16-1x32-1x64").spec(10).to_dict(), "score": 0.0}
VANILLA = dict(mode="vanilla", teacher=None, checkpoint=None)
REQUEST = dict(student="resnet_cifar:1x16-1x32-1x64", num_classes=4, teacher="resnet8", checkpoint="teacher.pt",
               data="data.npz", epochs=2, batch_size=16, image_size=16, device="cpu")


@pytest.fixture
def folders(tmp_path):
    teachers, data = tmp_path / "teachers", tmp_path / "data"
    teachers.mkdir()
    data.mkdir()
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (40, 16, 16, 3), dtype=np.uint8)
    labels = np.arange(40) % 4
    np.savez(data / "data.npz", x_train=images[:32], y_train=labels[:32], x_test=images[32:], y_test=labels[32:])
    torch.manual_seed(0)
    torch.save(build_network("resnet8", 4).state_dict(), teachers / "teacher.pt")
    torch.save(build_network("resnet8", 4).state_dict(), tmp_path / "outside.pt")
    return tmp_path


@pytest.fixture
def service(database_url, folders):
    with TestClient(create_app(Settings(
        database_url=database_url, teacher_dir=folders / "teachers", data_dir=folders / "data",
        distill_dir=folders / "runs",
    )), headers=SCRIPT_HEADERS) as client:
        yield client


def wait_for(client, job_id, **options):
    return service_testing.wait_for(client, job_id, jobs="distillations", **options)


def test_a_distillation_job_runs_and_gives_its_summary_and_student(service, folders):
    response = service.post("/v1/distillations", json=REQUEST)
    assert response.status_code == 202, response.text
    job = response.json()
    assert response.headers["location"].endswith(f"/v1/distillations/{job['id']}")
    assert job["config"]["kind"] == "distill"
    assert job["config"]["checkpoint"] == "teacher.pt"  # the absolute path the job reads, shown in its folder
    done = wait_for(service, job["id"])
    assert done["status"] == "succeeded", done["error"]
    summary = service.get(f"/v1/distillations/{job['id']}/result").json()
    assert summary["epochs_completed"] == 2 and summary["teacher"] == "resnet8"
    # the progress named for what it counts
    progress = done["progress"]
    assert (progress["epochs_done"], progress["epochs"], progress["stage"]) == (2, 2, "training")
    assert done["progress"]["best_top1"] == summary["best_eval_top1"]
    epochs = service.get(f"/v1/distillations/{job['id']}/epochs").json()["items"]
    assert [record["epoch"] for record in epochs] == [1, 2]
    assert max(record["eval_top1"] for record in epochs) == summary["best_eval_top1"]
    student = torch.jit.load(io.BytesIO(service.get(f"/v1/distillations/{job['id']}/student").content))
    assert student(torch.randn(2, 3, 16, 16)).shape == (2, 4)
    assert (folders / "runs" / job["id"] / "metrics.csv").exists()
    # the search endpoints do not read a distillation as a search, and list searches only
    assert service.get(f"/v1/searches/{job['id']}/result").status_code == 409
    assert service.get("/v1/searches").json()["total"] == 0
    listed = service.get("/v1/distillations").json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == job["id"]


def test_the_python_client_submits_waits_and_reads_the_result(service):
    client = service_testing.python_client(service)
    job = client.distill(REQUEST, student=SPEC, num_classes=None, mode="vanilla", teacher=None, checkpoint=None)
    assert client.wait(job["id"], timeout=120)["status"] == "succeeded"
    summary = client.distillation_result(job["id"])
    assert summary["teacher"] is None and summary["config"]["mode"] == "vanilla"
    assert summary["student"]["arch"] == SPEC["arch"] and summary["student"]["score"] == 0.0


def test_a_running_distillation_can_be_cancelled(service):
    job = service.post("/v1/distillations", json={**REQUEST, "epochs": 500}).json()
    wait_for(service, job["id"], until=lambda job: job["progress"]["epochs_done"] >= 1)
    assert service.post(f"/v1/searches/{job['id']}/cancel").status_code == 202
    assert wait_for(service, job["id"])["status"] == "cancelled"


@pytest.mark.parametrize("change, field", [
    ({"data": "../outside.npz"}, "data"),
    ({"data": "missing.npz"}, "data"),
    ({"checkpoint": "../outside.pt"}, "checkpoint"),
    ({"checkpoint": None}, "checkpoint"),
    ({"teacher": None}, "teacher"),
    ({"teacher": "resnet57"}, "checkpoint"),
    ({"student": "student.json"}, "student"),
    ({"student": "resnet_cifar:9x16-1x32-1x64"}, "student"),
    ({"num_classes": None}, "num_classes"),
    ({"student": {"space": "resnet_cifar", "arch": "9x16"}}, "student"),
    ({"student": {**SPEC, "arch": "9x16-1x32-1x64"}}, "student"),
    ({"mode": "vanilla", "semantic_weight": 1.0}, "mode"),
    ({"epochs": 0}, "epochs"),
    ({"epochs": True}, "epochs"),
    ({"seed": "3"}, "seed"),
    ({"temperature": 1e-300}, "temperature"),
    ({"data": "synthetic"}, "data"),
    pytest.param({"device": "cuda"}, "device",
                 marks=pytest.mark.skipif(torch.cuda.is_available(), reason="this host has a CUDA GPU")),
    ({"student": {**SPEC, "init": "foo"}, "num_classes": None}, "student"),
    ({"student": {**SPEC, "seed": "x"}, "num_classes": None}, "student"),
    ({"student": {**SPEC, "seed": -1}, "num_classes": None}, "student"),
    ({"student": {**SPEC, "seed": 2**70}, "num_classes": None}, "student"),
    ({"student": {**SPEC, "shared_init": "yes"}, "num_classes": None}, "student"),
    ({"student": SPEC, "num_classes": 10, **VANILLA}, "num_classes"),  # a classifier for 10 classes: the data has 4
    ({"student": SPEC_10, "num_classes": None, **VANILLA}, "num_classes"),  # a 10-class spec on 4-class data
    ({"student": SPEC, "num_classes": 3, **VANILLA}, "data"),  # labels 0..3 beyond a 3-class classifier
    ({"student": None}, "student"),
    ({"student": None, "source": {"search": "feedbeef", "rank": 1}}, "source"),
    ({"student": {**SPEC, "num_classes": 1_000_000}, "num_classes": None}, "student"),  # over max_num_classes
])
def test_bad_requests_are_422_naming_the_field(service, change, field):
    response = service.post("/v1/distillations", json={**REQUEST, **change})
    assert response.status_code == 422, response.text
    assert field in response.json()["detail"]
    assert service.get("/v1/distillations").json()["total"] == 0


def test_training_data_that_cannot_train_the_student_is_422_at_submission(
    service, folders, write_broken_probe_data
):
    for source in write_broken_probe_data(folders / "data"):
        response = service.post("/v1/distillations", json={**REQUEST, "data": source})
        assert response.status_code == 422, (source, response.text)
        assert response.json()["detail"].startswith("field 'data': "), (source, response.text)
    assert service.get("/v1/distillations").json()["total"] == 0


def test_a_shutdown_requeues_a_running_distillation_and_the_next_start_resumes_it(database_url, folders):
    settings = Settings(database_url=database_url, teacher_dir=folders / "teachers", data_dir=folders / "data",
                        distill_dir=folders / "runs")
    with TestClient(create_app(settings), headers=SCRIPT_HEADERS) as first:
        job = first.post("/v1/distillations", json={**REQUEST, "epochs": 6}).json()
        wait_for(first, job["id"], until=lambda job: job["progress"]["epochs_done"] >= 1)
    database = Database(database_url)
    stopped = JobRepository(database).get(job["id"])
    database.dispose()
    assert stopped.status == "queued" and 1 <= stopped.evaluations_done < 6  # stopped between epochs, not finished
    with TestClient(create_app(settings), headers=SCRIPT_HEADERS) as second:
        done = wait_for(second, job["id"])
        assert done["status"] == "succeeded" and done["runs"] == 2
        summary = second.get(f"/v1/distillations/{job['id']}/result").json()
    with open(folders / "runs" / job["id"] / "metrics.csv") as handle:
        assert [line.split(",")[0] for line in handle.read().splitlines()[1:]] == ["1", "2", "3", "4", "5", "6"]
    assert summary["epochs_completed"] == 6


def test_a_spec_of_another_class_count_is_rebuilt_when_num_classes_is_given_and_distill_json_says_so(service):
    job = service.post("/v1/distillations", json={**REQUEST, "student": SPEC_10, "num_classes": 4, "epochs": 1,
                                                  **VANILLA}).json()
    assert wait_for(service, job["id"])["status"] == "succeeded"
    summary = service.get(f"/v1/distillations/{job['id']}/result").json()
    assert summary["student"]["num_classes"] == 4
    assert summary["notes"] == ["the classifier was rebuilt for 4 classes (the spec had 10)"]
    # a vanilla run reports the recipe it used: no teacher, no loss weights
    assert "weights" not in summary["config"] and summary["teacher"] is None


def test_a_searchs_ranked_student_is_distilled_by_reference_and_the_two_jobs_link(service):
    search = service.post("/v1/searches", json={"teacher": "resnet8", "space": "resnet_cifar", "num_classes": 4,
                                                "image_size": 16, "batch_size": 8, "evaluations": 3,
                                                "strategy": "random", "proxies": ["params"], "confirm_top": 0,
                                                "top_k": 2}).json()
    early = service.post("/v1/distillations", json={**REQUEST, "student": None,
                                                    "source": {"search": search["id"], "rank": 1}})
    assert early.status_code in (202, 422)  # 422 while the search has no result yet
    if early.status_code == 422:
        assert early.json()["detail"].startswith("field 'source': ")
    assert service_testing.wait_for(service, search["id"])["status"] == "succeeded"
    students = service.get(f"/v1/searches/{search['id']}/result").json()["students"]
    job = service.post("/v1/distillations", json={**REQUEST, "student": None, "name": "second", "tags": ["r8"],
                                                  "source": {"search": search["id"], "rank": 2}})
    assert job.status_code == 202, job.text
    job = job.json()
    assert job["config"]["source"] == {"search": search["id"], "rank": 2}
    assert job["config"]["student"]["arch"] == students[1]["arch"] and (job["name"], job["tags"]) == ("second", ["r8"])
    beyond = service.post("/v1/distillations", json={**REQUEST, "student": None,
                                                     "source": {"search": search["id"], "rank": 3}})
    assert beyond.status_code == 422 and "has 2 students; rank 3 is not one" in beyond.json()["detail"]
    linked = service.get("/v1/distillations", params={"search": search["id"]}).json()["items"]
    assert job["id"] in [item["id"] for item in linked]
    assert service.get("/v1/distillations", params={"search": "feedbeef"}).json()["total"] == 0
    assert service.get("/v1/distillations", params={"tag": "r8"}).json()["items"][0]["id"] == job["id"]
    renamed = service.patch(f"/v1/distillations/{job['id']}", json={"note": "rank 2 of the params search"}).json()
    assert renamed["note"] == "rank 2 of the params search" and renamed["name"] == "second"
    assert service.patch(f"/v1/distillations/{search['id']}", json={"name": "x"}).status_code == 404  # a search
    # /v1/searches/{id} describes each job as its kind does
    assert service.patch(f"/v1/searches/{job['id']}", json={"name": "third"}).json()["progress"]["epochs"] == 2
    wait_for(service, job["id"])
