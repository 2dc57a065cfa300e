"""The service in-process (FastAPI TestClient): limits and their messages, files, auth, pagination, cancel and
delete rules, scoring, the SQL evaluation store and resume after a graceful shutdown, each on SQLite and on
PostgreSQL (see conftest.py)."""

import contextlib
import json
import threading

import numpy as np
import pytest
import torch

pytest.importorskip("fastapi")

import anyio  # noqa: E402  (installed with fastapi)
from fastapi.testclient import TestClient  # noqa: E402

import diswot  # noqa: E402
from api.app import create_app  # noqa: E402
from api.db import FINISHED_STATUSES, Database, JobRow, utc_now  # noqa: E402
from api.jobs import JobRepository  # noqa: E402
from api.settings import Settings  # noqa: E402
from service_testing import SCRIPT_HEADERS, python_client, wait_for  # noqa: E402
from api.store import SqlEvaluationStore  # noqa: E402
from diswot.client import ServiceError, WaitTimeout  # noqa: E402
from diswot.errors import DiswotError  # noqa: E402
from diswot.scorer import Scorer  # noqa: E402
from search_spaces.zoo import create_model  # noqa: E402

PROBE = dict(teacher="resnet8", space="resnet_cifar_wide", num_classes=10, batch_size=8, proxies=["diswot"])
TINY = dict(PROBE, population=8, sample_size=3, confirm_top=0)  # the default fitness and confirm stage: test_service_e2e
LIMITS = dict(
    max_evaluations=3000,
    max_batch_size=16,
    max_top_k=5,
    max_image_size=32,
    max_list_length=4,
    max_score_archs=3,
    max_num_classes=100,
    max_body_bytes=4096,
)


pytestmark = pytest.mark.usefixtures("one_torch_thread", "no_service_environment")


@pytest.fixture
def service(database_url):
    """`service(**settings)` -> a TestClient of an app on a fresh database, started and stopped with the test."""
    with contextlib.ExitStack() as stack:

        def start(**overrides):
            settings = Settings(database_url=database_url, **{**LIMITS, **overrides})
            return stack.enter_context(TestClient(create_app(settings), headers=SCRIPT_HEADERS))

        yield start


def scoring(job):
    return job["status"] == "running" and job["progress"]["evaluations"] > 0


def submit(client, **fields):
    response = client.post("/v1/searches", json={**TINY, **fields})
    assert response.status_code == 202, response.text
    return response.json()


def test_a_job_is_accepted_runs_and_returns_ranked_students(service):
    client = service()
    response = client.post("/v1/searches", json={**TINY, "evaluations": 12, "top_k": 3})
    assert response.status_code == 202
    job = response.json()
    assert response.headers["location"].endswith(f"/v1/searches/{job['id']}")
    assert job["status"] == "queued" and job["config"]["evaluations"] == 12
    done = wait_for(client, job["id"])
    assert done["status"] == "succeeded" and done["runs"] == 1
    assert done["progress"]["evaluations"] == done["progress"]["total"] == 12 and done["progress"]["eta"] == 0
    result = client.get(f"/v1/searches/{job['id']}/result").json()
    assert [s["rank"] for s in result["students"]] == [1, 2, 3]
    assert [s["score"] for s in result["students"]] == sorted((s["score"] for s in result["students"]), reverse=True)
    assert result["pareto_front"] and result["history"] is None
    full = client.get(f"/v1/searches/{job['id']}/result", params={"history": True}).json()
    assert len(full["history"]) >= 12 and full["students"] == result["students"]
    # the same specs the CLI writes: they build the student
    assert isinstance(diswot.build_student(result["students"][0]), torch.nn.Module)


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("evaluations", 3001, "field 'evaluations': Input should be less than or equal to 3000"),
        ("batch_size", 17, "field 'batch_size': Input should be less than or equal to 16"),
        ("top_k", 6, "field 'top_k': Input should be less than or equal to 5"),
        ("inits", 9, "field 'inits': Input should be less than or equal to 8"),
        ("shared_init", "maybe", "field 'shared_init': Input should be a valid boolean"),
        ("image_size", 64, "field 'image_size': Input should be less than or equal to 32"),
        ("num_classes", 1000, "field 'num_classes': Input should be less than or equal to 100"),
        ("proxies", ["diswot"] * 5, "field 'proxies': List should have at most 4 items"),
        (
            "teacher",
            "resnet57",
            "field 'teacher': unknown teacher 'resnet57' (did you mean 'resnet56'?); valid: mobilenetv2, resnet8,",
        ),
        ("space", "nb202", "field 'space': unknown search space 'nb202' (did you mean 'nb201'?); valid: nb201,"),
        ("proxies", ["diswot", "zen2"], "field 'proxies': unknown proxy 'zen2'"),
        ("strategy", "evolution", "field 'strategy': unknown strategy 'evolution'"),
        ("max_params", "1k", "no resnet_cifar_wide candidate meets the budget"),
        ("colour", "red", "field 'colour': Extra inputs are not permitted"),
        (
            "strategy",
            "exhaustive",
            "field 'strategy': exhaustive search scores every candidate of resnet_cifar_wide (up",
        ),
    ],
)
def test_limits_and_unknown_names_are_422_with_a_message(service, field, value, message):
    client = service()
    response = client.post("/v1/searches", json={**TINY, field: value})
    assert response.status_code == 422
    assert message in response.json()["detail"]
    assert client.get("/v1/searches").json()["total"] == 0


@pytest.mark.parametrize("field", ["min_params", "max_params", "max_flops"])
@pytest.mark.parametrize("value", ["1e400", "9e999", 10**400, -1, True, 2.5])
def test_a_budget_that_is_not_a_count_in_range_is_422_naming_the_field_and_the_range(service, field, value):
    client = service()
    response = client.post("/v1/searches", json={**TINY, field: value})
    assert response.status_code == 422
    assert response.json()["detail"].startswith(f"field {field!r}: must be a count from 0 to 1e18 such as 500000")
    assert client.get("/v1/searches").json()["total"] == 0


def test_body_and_lists_over_the_limits_are_refused(service):
    client = service()
    response = client.post(
        "/v1/searches", content=b'{"teacher": "' + b"x" * 5000 + b'"}', headers={"content-type": "application/json"}
    )
    assert response.status_code == 413 and "4096 bytes" in response.json()["detail"]
    response = client.post("/v1/score", json={**PROBE, "archs": ["1x16-1x32-1x64"] * 4})
    assert response.status_code == 422 and "'archs': List should have at most 3 items" in response.json()["detail"]
    response = client.get("/v1/searches", params={"limit": 5})
    assert response.status_code == 422 and "'limit'" in response.json()["detail"]


def test_teacher_files_only_from_the_allowed_directory_and_never_unpickled(service, tmp_path):
    teachers = tmp_path / "teachers"
    teachers.mkdir()
    torch.jit.save(torch.jit.script(create_model("resnet8", 10).eval()), str(teachers / "resnet8.ts"))
    (tmp_path / "outside.ts").write_bytes((teachers / "resnet8.ts").read_bytes())
    torch.save({"model": Pickled()}, teachers / "pickled.pt")

    refusing = service()
    response = refusing.post("/v1/searches", json={**TINY, "teacher": "resnet8.ts"})
    assert response.status_code == 422 and "accepts no teacher files" in response.json()["detail"]
    refusing.__exit__(None, None, None)

    client = service(teacher_dir=teachers)
    for outside in ("../outside.ts", str(tmp_path / "outside.ts")):
        response = client.post("/v1/searches", json={**TINY, "teacher": outside})
        assert response.status_code == 422 and "outside the allowed directory" in response.json()["detail"]
    response = client.post("/v1/searches", json={**TINY, "checkpoint": "pickled.pt"})
    assert response.status_code == 422 and "as plain weights" in response.json()["detail"]
    job = submit(client, teacher="resnet8.ts", evaluations=3)
    assert job["config"]["teacher"] == "resnet8.ts"  # the absolute path the job reads, shown in its folder
    assert wait_for(client, job["id"])["status"] == "succeeded"


class Pickled:
    """An arbitrary object in a checkpoint: what weights-only loading must refuse to build."""


def test_probe_data_only_from_the_data_directory_and_a_file_spoilt_after_submission_fails_the_job(service, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    images = np.random.default_rng(0).integers(0, 256, (16, 32, 32, 3), np.uint8)
    np.savez(data / "probe.npz", x_train=images, y_train=np.arange(16) % 10)
    refusing = service()
    response = refusing.post("/v1/searches", json={**TINY, "data": "probe.npz"})
    assert response.status_code == 422 and "only 'synthetic' probe data" in response.json()["detail"]
    refusing.__exit__(None, None, None)  # one server per SQLite file

    client = service(data_dir=data)
    response = client.post("/v1/searches", json={**TINY, "data": "npz:../probe.npz"})
    assert response.status_code == 422 and "outside the allowed directory" in response.json()["detail"]
    long = submit(client, evaluations=3000)  # one worker: the next job waits behind it
    queued = submit(client, data="npz:probe.npz", evaluations=3)
    (data / "copy.npz").write_bytes((data / "probe.npz").read_bytes())
    truncated = submit(client, data="npz:copy.npz", evaluations=3)
    # labels up to 90 for a 10-class teacher, written after the job was accepted: it fails saying why
    np.savez(data / "probe.npz", x_train=images, y_train=np.arange(16) * 6)
    (data / "copy.npz").write_bytes((data / "copy.npz").read_bytes()[:100])  # cut short, as a broken copy
    client.post(f"/v1/searches/{long['id']}/cancel")
    assert wait_for(client, long["id"], timeout=120)["status"] == "cancelled"
    job = wait_for(client, queued["id"], timeout=120)
    assert job["status"] == "failed" and "labels 0..90 but the teacher has 10 classes" in job["error"]
    cut_short = wait_for(client, truncated["id"], timeout=120)
    assert cut_short["status"] == "failed" and "copy.npz is not a readable .npz" in cut_short["error"]
    response = client.get(f"/v1/searches/{job['id']}/result")
    assert response.status_code == 409 and "it failed: probe data" in response.json()["detail"]


def test_teacher_and_data_files_that_cannot_be_scored_are_422_naming_the_field(
    service, tmp_path, write_broken_teachers, write_broken_probe_data
):
    teachers = write_broken_teachers(tmp_path / "teachers")
    sources = write_broken_probe_data(tmp_path / "data")
    client = service(teacher_dir=tmp_path / "teachers", data_dir=tmp_path / "data")
    for path, body in (("/v1/searches", TINY), ("/v1/score", {**PROBE, "archs": ["1x16-1x32-1x64"]})):
        for field, cases in (("teacher", teachers), ("data", sources)):
            for value, message in cases.items():
                response = client.post(path, json={**body, field: value})
                assert response.status_code == 422, (path, value, response.text)
                detail = response.json()["detail"]
                assert detail.startswith(f"field {field!r}: ") and message in detail, (path, value, detail)
    assert client.get("/v1/searches").json()["total"] == 0


def scripted_resnet8(path):
    torch.jit.save(torch.jit.script(create_model("resnet8", 10).eval()), str(path))


def test_probe_files_linked_to_outside_the_data_directory_are_422(service, tmp_path):
    from PIL import Image

    data, outside = tmp_path / "data", tmp_path / "outside"
    outside.mkdir()
    Image.new("RGB", (32, 32), (1, 2, 3)).save(outside / "secret.png")
    for label in range(2):
        (data / "images" / str(label)).mkdir(parents=True)
        for index in range(4):
            Image.new("RGB", (32, 32), (label, index, 0)).save(data / "images" / str(label) / f"{index}.png")
    (data / "images" / "1" / "3.png").unlink()
    (data / "images" / "1" / "3.png").symlink_to(outside / "secret.png")  # the batch of 8 takes every image
    client = service(data_dir=data)
    for path, body in (("/v1/searches", TINY), ("/v1/score", {**PROBE, "archs": ["1x16-1x32-1x64"]})):
        response = client.post(path, json={**body, "data": "folder:images"})
        assert response.status_code == 422, response.text
        assert response.json()["detail"].startswith("field 'data': image ") and "outside the allowed directory" in (
            response.json()["detail"]
        )


def test_a_teacher_file_swapped_for_a_link_to_outside_after_submission_is_not_read(service, tmp_path):
    teachers = tmp_path / "teachers"
    teachers.mkdir()
    scripted_resnet8(teachers / "resnet8.ts")
    scripted_resnet8(tmp_path / "outside.ts")
    client = service(teacher_dir=teachers)
    long = submit(client, evaluations=3000)  # one worker: the next job waits behind it
    queued = submit(client, teacher="resnet8.ts", evaluations=3)
    (teachers / "resnet8.ts").unlink()
    (teachers / "resnet8.ts").symlink_to(tmp_path / "outside.ts")
    client.post(f"/v1/searches/{long['id']}/cancel")
    assert wait_for(client, long["id"], timeout=120)["status"] == "cancelled"
    job = wait_for(client, queued["id"], timeout=120)
    assert job["status"] == "failed" and "outside the allowed directory" in job["error"]


def test_answers_name_the_servers_files_relative_to_its_folders(service, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    images = np.random.default_rng(0).integers(0, 256, (16, 32, 32, 3), np.uint8)
    np.savez(data / "probe.npz", x_train=images, y_train=np.arange(16) % 10)
    (data / "truncated.npz").write_bytes((data / "probe.npz").read_bytes()[:100])
    client = service(data_dir=data)
    long = submit(client, evaluations=3000)  # one worker: the next job waits behind it
    queued = submit(client, data="npz:probe.npz", evaluations=3)
    assert queued["config"]["data"] == "npz:probe.npz"  # stored as the absolute path the job reads
    refused = client.post("/v1/searches", json={**TINY, "data": "truncated.npz"}).json()["detail"]
    assert refused.startswith("field 'data': truncated.npz is not a readable .npz"), refused
    (data / "probe.npz").unlink()
    client.post(f"/v1/searches/{long['id']}/cancel")
    failed = wait_for(client, queued["id"])
    assert failed["status"] == "failed" and "probe data 'probe.npz' does not exist" in failed["error"], failed
    assert str(data) not in client.get("/v1/searches").text


def test_queued_jobs_with_files_fail_after_a_restart_without_their_directories(tmp_path):
    teachers, data = tmp_path / "teachers", tmp_path / "data"
    teachers.mkdir()
    data.mkdir()
    scripted_resnet8(teachers / "resnet8.ts")
    images = np.random.default_rng(0).integers(0, 256, (16, 32, 32, 3), np.uint8)
    np.savez(data / "probe.npz", x_train=images, y_train=np.arange(16) % 10)
    database = tmp_path / "jobs.db"
    with_files = Settings(database_path=database, teacher_dir=teachers, data_dir=data, **LIMITS)
    with TestClient(create_app(with_files), headers=SCRIPT_HEADERS) as client:
        long = submit(client, evaluations=3000)  # holds the one worker until the shutdown
        queued = [submit(client, teacher="resnet8.ts", evaluations=3), submit(client, data="probe.npz", evaluations=3)]
    restarted = create_app(Settings(database_path=database, **LIMITS))
    with TestClient(restarted, headers=SCRIPT_HEADERS) as client:
        client.post(f"/v1/searches/{long['id']}/cancel")
        errors = [wait_for(client, job["id"], timeout=120)["error"] for job in queued]
    assert errors == [
        "field 'teacher': this server accepts no teacher files (its teacher directory is not configured)",
        "field 'data': this server accepts only 'synthetic' probe data (its data directory is not configured)",
    ]


def test_with_an_api_key_requests_without_it_get_401_and_create_nothing(service):
    client = service(api_key="s3cret")
    key = {"X-API-Key": "s3cret"}
    for headers in ({}, {"X-API-Key": "wrong"}):
        for method, path, body in [
            ("POST", "/v1/searches", TINY),
            ("POST", "/v1/searches", {"teacher": 1}),  # refused before the body is even read
            ("GET", "/v1/searches", None),
            ("GET", "/v1/searches/abc", None),
            ("GET", "/v1/searches/abc/result", None),
            ("POST", "/v1/searches/abc/cancel", None),
            ("DELETE", "/v1/searches/abc", None),
            ("POST", "/v1/score", {**PROBE, "archs": ["1x16-1x32-1x64"]}),
            ("GET", "/v1/spaces", None),
            ("GET", "/v1/teachers", None),
            ("GET", "/v1/proxies", None),
            ("GET", "/openapi.json", None),
            ("GET", "/docs", None),
            ("GET", "/redoc", None),
        ]:
            response = client.request(method, path, json=body, headers=headers)
            assert response.status_code == 401, (method, path, headers)
            assert response.json()["detail"] == "a valid API key is required in the X-API-Key header"
    assert client.get("/v1/searches", headers=key).json()["total"] == 0
    assert client.get("/healthz").status_code == 200 and client.get("/readyz").status_code == 200
    assert client.post("/v1/searches", json={**TINY, "evaluations": 2}, headers=key).status_code == 202
    assert "/v1/searches" in client.get("/openapi.json", headers=key).json()["paths"]
    for viewer in ("/docs", "/redoc"):
        page = client.get(viewer, headers=key)
        assert page.status_code == 200 and "/openapi.json" in page.text


def test_on_a_server_without_a_key_a_cross_site_form_changes_nothing(service):
    client = service()
    job = submit(client, evaluations=3000)
    browser = TestClient(client.app)  # a page elsewhere: it can send forms, but no header of its own choosing
    cancel, delete = f"/v1/searches/{job['id']}/cancel", f"/v1/searches/{job['id']}"
    for method, path, options in [
        ("POST", cancel, {"data": {"confirm": "yes"}}),  # a form: application/x-www-form-urlencoded
        ("POST", cancel, {}),  # fetch(url, {method: "POST", mode: "no-cors"}): no body, no content type
        ("POST", "/v1/searches", {"content": json.dumps(TINY), "headers": {"Content-Type": "text/plain"}}),
        ("DELETE", delete, {}),
    ]:
        response = browser.request(method, path, **options)
        assert response.status_code == 403, (method, path, response.text)
        assert "X-Requested-With" in response.json()["detail"]
    assert not client.get(f"/v1/searches/{job['id']}").json()["cancel_requested"]
    assert client.get("/v1/searches").json()["total"] == 1
    assert browser.post(cancel, headers={"X-Requested-With": "any"}).json()["cancel_requested"]  # a script's call


def test_the_python_client_sends_a_catalog_as_one_path_segment_and_a_wait_past_its_timeout_is_a_diswot_error(
    service,
):
    client = python_client(service())
    assert "resnet_cifar" in {space["name"] for space in client.catalog("spaces")}
    with pytest.raises(ServiceError) as refused:
        client.catalog("../healthz")  # not /healthz's answer: the path /v1/..%2Fhealthz, which is no catalog
    assert refused.value.status == 404
    job = client.submit(TINY, evaluations=3000)
    with pytest.raises(DiswotError, match=f"job {job['id']} is still (queued|running) after the timeout") as waited:
        client.wait(job["id"], timeout=0)
    assert isinstance(waited.value, WaitTimeout) and isinstance(waited.value, TimeoutError)
    client.cancel(job["id"])


def test_listing_filters_by_status_and_pages_newest_first(service):
    client = service()
    ids = [submit(client, evaluations=2, seed=seed)["id"] for seed in range(5)]
    for job_id in ids:
        wait_for(client, job_id)
    pages = [client.get("/v1/searches", params={"limit": 2, "offset": offset}).json() for offset in (0, 2, 4)]
    assert [page["total"] for page in pages] == [5, 5, 5]
    assert [job["id"] for page in pages for job in page["items"]] == ids[::-1]
    assert client.get("/v1/searches", params={"status": "succeeded"}).json()["total"] == 5
    assert client.get("/v1/searches", params={"status": "running"}).json() == {
        "items": [],
        "total": 0,
        "limit": 4,
        "offset": 0,
    }
    response = client.get("/v1/searches", params={"status": "sleeping"})
    assert response.status_code == 422 and "'status'" in response.json()["detail"]


def test_cancel_and_delete_rules(service):
    client = service()
    long = submit(client, evaluations=3000)
    waiting = submit(client, evaluations=3000)  # one worker: it queues behind the first
    wait_for(client, long["id"], until=scoring)

    response = client.delete(f"/v1/searches/{long['id']}")
    assert response.status_code == 409 and "cancel it" in response.json()["detail"]
    queued = client.post(f"/v1/searches/{waiting['id']}/cancel")
    assert queued.status_code == 202 and queued.json()["status"] == "cancelled"
    running = client.post(f"/v1/searches/{long['id']}/cancel")
    assert running.status_code == 202 and running.json()["cancel_requested"]
    stopped = wait_for(client, long["id"])
    assert stopped["status"] == "cancelled" and 0 < stopped["progress"]["evaluations"] < 3000
    assert client.post(f"/v1/searches/{long['id']}/cancel").status_code == 202  # again: harmless
    response = client.get(f"/v1/searches/{long['id']}/result")
    assert response.status_code == 409 and "it was cancelled" in response.json()["detail"]
    assert client.delete(f"/v1/searches/{long['id']}").status_code == 204
    for method, path in [("GET", ""), ("GET", "/result"), ("POST", "/cancel"), ("DELETE", "")]:
        response = client.request(method, f"/v1/searches/{long['id']}{path}")
        assert response.status_code == 404 and "no search job" in response.json()["detail"]

    done = wait_for(client, submit(client, evaluations=2)["id"])
    response = client.post(f"/v1/searches/{done['id']}/cancel")
    assert response.status_code == 409 and "has already succeeded" in response.json()["detail"]


def test_score_returns_records_in_order_and_names_bad_input(service):
    client = service()
    archs = ["1x16-1x32-1x64", "3x16-3x32-3x64"]
    response = client.post("/v1/score", json={**PROBE, "archs": archs, "proxies": ["diswot", "params"]})
    assert response.status_code == 200, response.text
    records = response.json()["records"]
    assert [r["arch"] for r in records] == archs and set(records[0]["scores"]) == {"diswot", "params"}
    expected = diswot.score(
        "resnet8",
        "resnet_cifar_wide",
        archs,
        num_classes=10,
        proxies=["diswot", "params"],
        data=diswot.ProbeDataSpec(batch_size=8),
    )
    assert [r["score"] for r in records] == pytest.approx([r.score for r in expected])
    response = client.post("/v1/score", json={**PROBE, "archs": ["9x99"]})
    assert response.status_code == 422 and "is not a resnet_cifar_wide architecture" in response.json()["detail"]


def test_a_score_call_over_the_work_limit_is_422_naming_the_limit(service):
    client = service(max_score_pixels=2 * 8 * 32 * 32)  # two archs of one init at batch 8, 32x32
    body = {**PROBE, "archs": ["1x16-1x32-1x64", "3x16-3x32-3x64"]}
    assert client.post("/v1/score", json=body).status_code == 200
    for over in ({"inits": 2}, {"batch_size": 9}, {"archs": [*body["archs"], "5x16-5x32-5x64"]}):
        response = client.post("/v1/score", json={**body, **over})
        assert response.status_code == 422, over
        detail = response.json()["detail"]
        assert detail.startswith("field 'archs': ") and "more than this server's max_score_pixels (16,384)" in detail


def test_a_score_call_counts_the_calibration_of_the_default_proxy_in_its_work(service):
    client = service(max_score_pixels=2 * 8 * 32 * 32)  # two archs of one init at batch 8, 32x32
    body = {**PROBE, "archs": ["1x16-1x32-1x64", "3x16-3x32-3x64"], "proxies": ["default"]}
    response = client.post("/v1/score", json=body)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "(2 archs x 1 inits + 64 calibration cells) x 8 images of 32x32 is 540,672 pixels" in detail


def call_and_leave(app, path, body, leave: threading.Event):
    """POST `body` to `app` as a client that disconnects once `leave` is set; the ASGI messages sent back.
    (TestClient and httpx never disconnect before the response.)"""
    raw = json.dumps(body).encode()
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80),
    }
    messages, sent = [{"type": "http.request", "body": raw, "more_body": False}], []

    async def receive():
        if messages:
            return messages.pop()
        while not leave.is_set():
            await anyio.sleep(0.01)
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    anyio.run(app, scope, receive, send)
    return sent


def test_score_stops_when_the_client_goes_away(tmp_path, monkeypatch):
    scored, leave = [], threading.Event()
    score_candidate = Scorer.score_candidate

    def slow_score_candidate(self, candidate, *args, **kwargs):
        scored.append(candidate.canonical)
        leave.set()  # the client goes away while the first candidate is scored
        return score_candidate(self, candidate, *args, **kwargs)

    monkeypatch.setattr(Scorer, "score_candidate", slow_score_candidate)
    app = create_app(Settings(database_path=tmp_path / "jobs.db", **{**LIMITS, "max_score_archs": 8}))
    archs = [f"{first}x16-{second}x32-1x64" for first in (1, 3, 5, 7) for second in (1, 3)]
    sent = call_and_leave(app, "/v1/score", {**PROBE, "archs": archs}, leave)
    assert len(scored) == 1, scored  # nothing after the client left
    assert sent[0]["status"] == 499  # nginx's "client closed request": only a log sees it


def test_score_stops_calibrating_the_default_proxy_when_the_client_goes_away(tmp_path, monkeypatch):
    built, leave = [], threading.Event()
    candidate = Scorer.candidate

    def leaving_after_the_first_candidate(self, space, arch):
        built.append(arch)
        leave.set()  # the client goes away while the first calibration cell is scored
        return candidate(self, space, arch)

    monkeypatch.setattr(Scorer, "candidate", leaving_after_the_first_candidate)
    app = create_app(Settings(database_path=tmp_path / "jobs.db", **LIMITS))
    sent = call_and_leave(app, "/v1/score", {**PROBE, "archs": ["1x16-1x32-1x64"], "proxies": ["default"]}, leave)
    assert len(built) == 1, built  # one cell of the 64, no candidate
    assert sent[0]["status"] == 499


def test_catalog_lists_the_valid_names(service):
    client = service()
    spaces = {s["name"]: s for s in client.get("/v1/spaces").json()}
    assert {"nb201", "resnet_cifar", "resnet_cifar_wide", "mobilenet", "resnet_imagenet"} <= set(spaces)
    assert spaces["resnet_imagenet"]["image_size"] == 224 and spaces["nb201"]["image_size"] == 32
    assert {"resnet18", "resnet34", "resnet50"} <= set(spaces["resnet_imagenet"]["reference_points"])
    teachers = client.get("/v1/teachers").json()
    assert "resnet56" in teachers["zoo"] and teachers["files_accepted"] is False
    assert {"resnet50", "mobilenet_v3_large", "deit_tiny"} <= set(teachers["imagenet"])
    assert "diswot" in {p["name"] for p in client.get("/v1/proxies").json()}
    assert "aging" in {s["name"] for s in client.get("/v1/strategies").json()}
    assert client.get("/docs").status_code == client.get("/redoc").status_code == 200  # no key set: public
    schema = client.get("/openapi.json").json()
    request = schema["components"]["schemas"]["SearchRequest"]
    assert request["properties"]["evaluations"]["maximum"] == 3000 and request["examples"]
    assert client.options("/v1/searches").headers["allow"] == "GET, POST"  # every route of the path, not the first


def test_concurrent_jobs_give_the_results_of_jobs_run_alone(service):
    client = service(concurrent_jobs=2)
    jobs = {seed: submit(client, evaluations=20, seed=seed)["id"] for seed in (1, 2)}
    for seed, job_id in jobs.items():
        assert wait_for(client, job_id)["runs"] == 1
        history = client.get(f"/v1/searches/{job_id}/result", params={"history": True}).json()["history"]
        alone = diswot.search(**TINY, evaluations=20, seed=seed)
        assert [(e["canonical"], e["score"]) for e in history] == [(e.canonical, e.score) for e in alone.history]


def test_budgeted_requests_arriving_during_a_job_leave_its_result_unchanged(service):
    """Every budgeted POST computes the extreme costs of its space; that must not disturb a running job."""
    client = service()
    request = dict(TINY, space="resnet_cifar", evaluations=16, max_params="0.4M", seed=5)
    job = submit(client, **request)
    refused = 0
    while client.get(f"/v1/searches/{job['id']}").json()["status"] not in FINISHED_STATUSES:
        response = client.post("/v1/searches", json={**request, "max_params": "1k"})
        assert response.status_code == 422 and "no resnet_cifar candidate meets" in response.json()["detail"]
        refused += 1
    assert refused > 5
    history = client.get(f"/v1/searches/{job['id']}/result", params={"history": True}).json()["history"]
    alone = diswot.search(**request)
    assert [(e["canonical"], e["score"]) for e in history] == [(e.canonical, e.score) for e in alone.history]


class StopAfter(SqlEvaluationStore):
    """Raises after n appends, as a killed run would: everything appended before is committed."""

    def __init__(self, database, job_id, n):
        super().__init__(database, job_id)
        self.n, self.appended = n, 0

    def append(self, evaluation):
        super().append(evaluation)
        self.appended += 1
        if self.appended == self.n:
            raise KeyboardInterrupt


def test_sql_store_resumes_to_the_uninterrupted_result(database_url):
    database = Database(database_url)
    database.upgrade_schema()
    settings = dict(TINY, evaluations=16, max_params="0.6M")
    uninterrupted = diswot.search(**settings)
    with database.session() as session, session.begin():  # evaluations need their job row (foreign key)
        session.add(JobRow(id="job", status="running", config=settings, created_at=utc_now()))
    with pytest.raises(KeyboardInterrupt):
        diswot.search(**settings, store=StopAfter(database, "job", 7))
    store = SqlEvaluationStore(database, "job")
    assert len(store.load()) == 7
    resumed = diswot.search(**settings, store=store)
    assert resumed.to_dict()["students"] == uninterrupted.to_dict()["students"]
    assert [e.canonical for e in resumed.history] == [e.canonical for e in uninterrupted.history]
    assert [e.canonical for e in store.load()] == [e.canonical for e in uninterrupted.history]


def test_a_shutdown_leaves_a_running_job_queued_and_the_next_start_finishes_it(database_url):
    settings = Settings(database_url=database_url, **LIMITS)
    with TestClient(create_app(settings), headers=SCRIPT_HEADERS) as client:
        job = submit(client, evaluations=60)
        wait_for(client, job["id"], until=scoring)
    stopped = JobRepository(Database(settings.sqlalchemy_url)).get(job["id"])
    assert stopped.status == "queued" and 0 < stopped.evaluations_done < 60
    with TestClient(create_app(settings), headers=SCRIPT_HEADERS) as client:
        done = wait_for(client, job["id"], timeout=120)
    assert done["status"] == "succeeded" and done["runs"] == 2
