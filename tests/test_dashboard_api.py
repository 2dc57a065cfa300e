"""The dashboard's server side, in-process: its pages are served (without job data, with this server's limits
and a strict content policy), the evaluations a job has stored are listed (incrementally), and a ranked student
is served as the TorchScript file `diswot export` writes. The pages' behaviour is tested in a real browser in
test_dashboard_browser.py."""

import contextlib
import hashlib
import io
import re
import time
from pathlib import Path

import pytest
import torch

pytest.importorskip("fastapi")
pytest.importorskip("jinja2")

from fastapi.testclient import TestClient  # noqa: E402

import diswot  # noqa: E402
from api.app import create_app  # noqa: E402
from api.settings import Settings  # noqa: E402
from service_testing import SCRIPT_HEADERS  # noqa: E402

TINY = dict(teacher="resnet8", space="resnet_cifar_wide", num_classes=10, batch_size=8, population=8, sample_size=3)
VENDOR = Path(__file__).resolve().parents[1] / "api" / "dashboard" / "static" / "vendor"
PAGES = ("/", "/new", "/compare", "/jobs/0123abcd", "/distillations", "/distillations/new", "/distillations/0123abcd",
         "/api-reference")


pytestmark = pytest.mark.usefixtures("one_torch_thread", "no_service_environment")


@pytest.fixture
def service(tmp_path):
    """`service(**settings)` -> a TestClient of an app on a fresh database, started and stopped with the test."""
    with contextlib.ExitStack() as stack:

        def start(**settings):
            app = create_app(Settings(database_path=tmp_path / "jobs.db", **settings))
            return stack.enter_context(TestClient(app, headers=SCRIPT_HEADERS))

        yield start


def finished(client, job_id, timeout=120.0):
    deadline = time.monotonic() + timeout
    while (job := client.get(f"/v1/searches/{job_id}").json())["status"] in ("queued", "running"):
        assert time.monotonic() < deadline, f"job {job_id} still {job['status']} after {timeout} s"
        time.sleep(0.05)
    return job


def test_pages_are_served_without_a_key_but_hold_no_job_data(service):
    client = service(api_key="s3cret")
    job_id = client.post("/v1/searches", json={**TINY, "evaluations": 3}, headers={"X-API-Key": "s3cret"}).json()["id"]
    for path in PAGES:
        page = client.get(path)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert 'data-key-required="true"' in page.text and '<main id="content" hidden>' in page.text
        assert job_id not in page.text
        csp = page.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "unsafe-inline" not in csp
    assert client.get("/v1/searches").status_code == 401  # what the pages' scripts call still needs the key


def test_with_a_key_the_new_search_form_with_limits_and_names_needs_it(service):
    client = service(api_key="s3cret", max_evaluations=321)
    page = client.get("/new").text
    assert "form-slot" in page
    assert "321" not in page and "resnet56" not in page and "field-evaluations" not in page
    assert client.get("/new/form").status_code == 401
    form = client.get("/new/form", headers={"X-API-Key": "s3cret"})
    assert form.status_code == 200 and 'max="321"' in form.text and "resnet56" in form.text
    assert client.get("/distillations/new/form").status_code == 401
    distill = client.get("/distillations/new/form", headers={"X-API-Key": "s3cret"})
    assert distill.status_code == 200 and 'id="field-epochs"' in distill.text and 'value="kd"' in distill.text


def test_the_form_states_this_servers_limits_and_defaults(service):
    client = service(max_evaluations=300, max_batch_size=16, max_top_k=7, max_concurrency=4)
    page = client.get("/new").text
    assert 'data-key-required="false"' in page and '<main id="content" >' in page
    form = client.get("/new/form").text
    evaluations = re.search(r'<input id="field-evaluations"[^>]*>', form, re.S).group(0)
    assert 'min="1"' in evaluations and 'max="300"' in evaluations
    assert 'value="300"' in evaluations  # the request's default of 500, lowered to this server's limit
    assert 'max="16"' in re.search(r'<input id="field-batch_size"[^>]*>', form, re.S).group(0)
    top_k = re.search(r'<input id="field-top_k"[^>]*>', form, re.S).group(0)
    assert 'max="7"' in top_k and 'value="7"' in top_k
    assert 'max="4"' in re.search(r'<input id="field-concurrency"[^>]*>', form, re.S).group(0)
    confirm_top = re.search(r'<input id="field-confirm_top"[^>]*>', form, re.S).group(0)
    assert 'min="0"' in confirm_top and 'value="7"' in confirm_top  # the confirm stage's 20, lowered to max_top_k
    space = re.search(r'<select id="field-space".*?</select>', form, re.S).group(0)
    assert re.findall(r'<option value="([^"]+)"', space) == list(diswot.list_spaces())


def test_pages_stay_out_of_the_api_document(service):
    paths = service().get("/openapi.json").json()["paths"]
    assert not {"/", "/new", "/new/form", "/compare", "/jobs/{job_id}", "/distillations/new",
                "/distillations/new/form", "/api-reference"} & set(paths)
    assert {"/v1/searches/{job_id}/evaluations", "/v1/searches/{job_id}/students/{rank}/torchscript"} <= set(paths)


def test_the_vendored_chart_library_is_served_as_its_notice_records(service):
    served = service().get("/static/dashboard/vendor/chart.umd.min.js")
    assert served.status_code == 200 and served.content.startswith(b"/*!\n * Chart.js v4.6.1")
    notice = (VENDOR / "NOTICE.md").read_text()
    assert hashlib.sha256(served.content).hexdigest() in notice and "| 4.6.1 | MIT" in notice


def test_evaluations_are_the_stored_history_and_can_be_read_from_an_offset(service):
    client = service()
    job_id = client.post("/v1/searches", json={**TINY, "evaluations": 8, "max_params": "0.3M"}).json()["id"]
    assert finished(client, job_id)["status"] == "succeeded"
    history = client.get(f"/v1/searches/{job_id}/result", params={"history": True}).json()["history"]
    listed = client.get(f"/v1/searches/{job_id}/evaluations").json()
    stored = listed["items"]
    # the search's own record in its order, infeasible candidates included (records a later stage may append
    # come after it)
    assert listed["offset"] == 0 and stored[: len(history)] == history
    assert any(not e["feasible"] for e in history)  # the budget made some: they are listed, unscored
    tail = client.get(f"/v1/searches/{job_id}/evaluations", params={"offset": 5}).json()
    assert tail == {"items": stored[5:], "offset": 5}
    assert client.get(f"/v1/searches/{job_id}/evaluations", params={"offset": len(stored)}).json()["items"] == []
    missing = client.get("/v1/searches/feedbeef/evaluations")
    assert missing.status_code == 404 and "no search job 'feedbeef'" in missing.json()["detail"]
    assert client.get(f"/v1/searches/{job_id}/evaluations", params={"offset": -1}).status_code == 422


def test_evaluations_of_a_running_job_grow_as_it_scores(service):
    client = service()
    job_id = client.post("/v1/searches", json={**TINY, "evaluations": 3000}).json()["id"]
    deadline = time.monotonic() + 60
    while not (early := client.get(f"/v1/searches/{job_id}/evaluations").json()["items"]):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    while len(later := client.get(f"/v1/searches/{job_id}/evaluations").json()["items"]) <= len(early):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert later[: len(early)] == early  # appended, never rewritten
    client.post(f"/v1/searches/{job_id}/cancel")
    assert finished(client, job_id)["status"] == "cancelled"


def test_a_student_is_served_as_the_torchscript_diswot_export_writes(service, tmp_path):
    client = service(max_top_k=5)
    job_id = client.post("/v1/searches", json={**TINY, "evaluations": 4, "top_k": 2}).json()["id"]
    assert finished(client, job_id)["status"] == "succeeded"
    second = client.get(f"/v1/searches/{job_id}/result").json()["students"][1]
    response = client.get(f"/v1/searches/{job_id}/students/2/torchscript")
    assert response.status_code == 200 and response.headers["content-type"] == "application/octet-stream"
    assert f'filename="diswot-{job_id[:8]}-rank2.pt"' in response.headers["content-disposition"]
    served = torch.jit.load(io.BytesIO(response.content))
    # the network the spec builds, with the weights it was scored with
    built = diswot.build_student(second).eval()
    images = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(served(images), built(images))
        assert served(images).shape == (2, 10)

    beyond = client.get(f"/v1/searches/{job_id}/students/3/torchscript")
    assert beyond.status_code == 404 and "has 2 students; rank 3 is not one" in beyond.json()["detail"]
    assert client.get(f"/v1/searches/{job_id}/students/6/torchscript").status_code == 422  # over max_top_k
    assert client.get(f"/v1/searches/{job_id}/students/0/torchscript").status_code == 422
    running = client.post("/v1/searches", json={**TINY, "evaluations": 3000}).json()["id"]
    refused = client.get(f"/v1/searches/{running}/students/1/torchscript")
    assert refused.status_code == 409 and "has no students: it is" in refused.json()["detail"]
    client.post(f"/v1/searches/{running}/cancel")
    finished(client, running)


def test_the_new_endpoints_need_the_key_when_the_server_has_one(service):
    client = service(api_key="s3cret")
    for path in ("/v1/searches/x/evaluations", "/v1/searches/x/students/1/torchscript"):
        assert client.get(path).status_code == 401
        assert client.get(path, headers={"X-API-Key": "s3cret"}).status_code == 404
