"""What the API says about a job beyond its status: the stage it is in with the stage's own count, why a succeeded
search stopped, its name, tags and note (filtering by tag), and every evaluation as a sorted, filtered, paged
table and as CSV."""

import csv
import io
import math
import time

import pytest

pytest.importorskip("fastapi")

from fastapi.testclient import TestClient  # noqa: E402

from api.app import create_app  # noqa: E402
from api.settings import Settings  # noqa: E402
from service_testing import SCRIPT_HEADERS, python_client, wait_for  # noqa: E402

TINY = dict(teacher="resnet8", space="resnet_cifar_wide", num_classes=10, batch_size=8, population=8, sample_size=3)
# 64 students in all, fewer under the budget: asking for 500 exhausts what a random search can reach.
EXHAUSTING = dict(teacher="resnet8", space="resnet_cifar", num_classes=10, batch_size=8, strategy="random",
                  evaluations=500, max_params="0.3M", proxies=["params"], confirm_top=0)

pytestmark = pytest.mark.usefixtures("one_torch_thread", "no_service_environment")


@pytest.fixture
def client(tmp_path):
    with TestClient(create_app(Settings(database_path=tmp_path / "jobs.db")), headers=SCRIPT_HEADERS) as client:
        yield client


def test_a_search_reports_each_stage_with_its_own_count(client):
    request = {**TINY, "evaluations": 6, "confirm_top": 3, "confirm_inits": 2}
    job_id = client.post("/v1/searches", json=request).json()["id"]
    seen = {}
    deadline = time.monotonic() + 180
    while (job := client.get(f"/v1/searches/{job_id}").json())["status"] in ("queued", "running"):
        assert time.monotonic() < deadline
        progress = job["progress"]
        if progress["stage"] is not None:
            seen.setdefault(progress["stage"], []).append((progress["stage_done"], progress["stage_total"]))
        time.sleep(0.02)
    assert job["status"] == "succeeded"
    # the calibration's reference cells, then the search's candidates, then the confirm stage's finalists, each
    # counted on its own (the confirm stage does not restart the search's count)
    assert list(seen) == [stage for stage in ("calibration", "search", "confirm") if stage in seen]
    assert {"search", "confirm"} <= set(seen)
    assert all(total == 6 for _, total in seen["search"])
    assert all(total == 3 for _, total in seen["confirm"])
    final = job["progress"]
    assert (final["stage"], final["stage_done"], final["stage_total"]) == ("confirm", 3, 3)
    assert (final["evaluations"], final["total"]) == (6, 6)  # the search's own count, kept through the confirm
    assert job["stop_reason"] == "evaluations reached"


def test_a_search_that_ran_out_of_candidates_says_so(client):
    job = wait_for(client, client.post("/v1/searches", json=EXHAUSTING).json()["id"], timeout=240)
    assert job["status"] == "succeeded"
    assert job["progress"]["evaluations"] < job["progress"]["total"] == 500
    assert "exhausted" in job["stop_reason"]
    listed = client.get("/v1/searches").json()["items"][0]
    assert listed["id"] == job["id"] and listed["stop_reason"] == job["stop_reason"]


def test_names_tags_and_notes_are_kept_changed_and_filtered_by(client):
    first = client.post("/v1/searches", json={**TINY, "evaluations": 2, "name": "wide r8", "tags": ["r8", "wide"],
                                              "note": "first try\nsmall budget"}).json()
    assert (first["name"], first["tags"], first["note"]) == ("wide r8", ["r8", "wide"], "first try\nsmall budget")
    second = client.post("/v1/searches", json={**TINY, "evaluations": 2, "tags": ["r8"]}).json()
    assert second["name"] is None and second["tags"] == ["r8"]
    # the labels describe the job: its request is what it computes, without them
    assert not {"name", "tags", "note"} & set(first["config"])

    assert [job["id"] for job in client.get("/v1/searches", params={"tag": "wide"}).json()["items"]] == [first["id"]]
    assert {job["id"] for job in client.get("/v1/searches", params={"tag": "r8"}).json()["items"]} == {
        first["id"], second["id"]}
    assert client.get("/v1/searches", params={"tag": "r"}).json()["total"] == 0  # a tag, not a substring

    changed = client.patch(f"/v1/searches/{second['id']}", json={"name": "renamed", "tags": ["best", "r8"]}).json()
    assert (changed["name"], changed["tags"], changed["note"]) == ("renamed", ["best", "r8"], None)
    kept = client.patch(f"/v1/searches/{first['id']}", json={"note": None}).json()
    assert (kept["name"], kept["tags"], kept["note"]) == ("wide r8", ["r8", "wide"], None)

    bad_tag = client.post("/v1/searches", json={**TINY, "tags": ["has space"]})
    assert bad_tag.status_code == 422 and "tags" in bad_tag.json()["detail"]
    assert client.patch(f"/v1/searches/{first['id']}", json={"colour": "red"}).status_code == 422
    missing = client.patch("/v1/searches/feedbeef", json={"name": "x"})
    assert missing.status_code == 404 and "no search job 'feedbeef'" in missing.json()["detail"]
    assert client.get("/v1/searches", params={"tag": "a,b"}).status_code == 422
    for job in (first, second):
        wait_for(client, job["id"])


def test_every_evaluation_as_a_sorted_filtered_paged_table_and_as_csv(client):
    job_id = client.post("/v1/searches", json={**TINY, "evaluations": 10, "max_params": "0.3M", "confirm_top": 3,
                                               "confirm_inits": 2}).json()["id"]
    assert wait_for(client, job_id, timeout=240)["status"] == "succeeded"
    stored = client.get(f"/v1/searches/{job_id}/evaluations").json()["items"]
    table = f"/v1/searches/{job_id}/evaluations/table"

    everything = client.get(table, params={"limit": 100}).json()
    assert everything["total"] == len(stored)
    assert [row["evaluation"] for row in everything["items"]] == stored
    assert [row["number"] for row in everything["items"]] == list(range(1, len(stored) + 1))

    feasible = client.get(table, params={"feasible": True, "stage": "search", "sort": "score", "descending": True,
                                         "limit": 100}).json()["items"]
    scores = [row["evaluation"]["score"] for row in feasible]
    assert scores and scores == sorted(scores, reverse=True)
    assert all(row["evaluation"]["feasible"] and row["evaluation"]["stage"] == "search" for row in feasible)
    infeasible = client.get(table, params={"feasible": False, "limit": 100}).json()
    assert infeasible["total"] > 0 and all(not row["evaluation"]["feasible"] for row in infeasible["items"])
    assert infeasible["total"] + len(feasible) + 3 == len(stored)  # the rest: the 3 confirm records
    confirm = client.get(table, params={"stage": "confirm"}).json()
    assert confirm["total"] == 3 and {row["evaluation"]["stage"] for row in confirm["items"]} == {"confirm"}

    # sorted by a column where infeasible rows have no value: they come last, either way
    by_score = client.get(table, params={"sort": "score", "limit": 100}).json()["items"]
    assert not by_score[-1]["evaluation"]["feasible"] and by_score[0]["evaluation"]["feasible"]
    page = client.get(table, params={"sort": "params", "descending": True, "limit": 4, "offset": 2}).json()
    params = sorted((e["params"] for e in stored), reverse=True)
    assert [row["evaluation"]["params"] for row in page["items"]] == params[2:6]
    assert (page["limit"], page["offset"]) == (4, 2)

    exported = client.get(f"/v1/searches/{job_id}/evaluations.csv", params={"feasible": True, "stage": "search",
                                                                           "sort": "score", "descending": True})
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert f'filename="diswot-{job_id[:8]}-evaluations.csv"' in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [int(row["index"]) for row in rows] == [row["number"] for row in feasible]
    assert all(math.isclose(float(row["score"]), expected) for row, expected in zip(rows, scores))

    assert client.get(table, params={"sort": "colour"}).status_code == 422
    assert client.get(table, params={"stage": "warmup"}).status_code == 422
    assert client.get("/v1/searches/feedbeef/evaluations/table").status_code == 404
    assert client.get("/v1/searches/feedbeef/evaluations.csv").status_code == 404


def test_the_python_client_labels_lists_by_tag_and_reads_the_evaluations(client):
    python = python_client(client)
    job = python.submit(TINY, evaluations=4, name="client run", tags=["py"], note="from the client")
    assert (job["name"], job["tags"], job["note"]) == ("client run", ["py"], "from the client")
    done = python.wait(job["id"], timeout=180)
    assert done["status"] == "succeeded" and done["progress"]["stage"] == "confirm" and done["stop_reason"]
    assert python.label(job["id"], tags=["py", "kept"])["tags"] == ["py", "kept"]
    assert [listed["id"] for listed in python.list(tag="kept")["items"]] == [job["id"]]
    table = python.evaluations(job["id"], feasible=True, stage="search", sort="score", descending=True, limit=2)
    assert table["total"] == 4 and len(table["items"]) == 2
    assert table["items"][0]["evaluation"]["score"] >= table["items"][1]["evaluation"]["score"]
    rows = list(csv.DictReader(io.StringIO(python.evaluations_csv(job["id"], stage="search"))))
    assert len(rows) == python.evaluations(job["id"], stage="search")["total"] and rows[0]["index"] == "1"
