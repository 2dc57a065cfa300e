"""The dashboard in a real headless Chromium, against the real server (`diswot serve`): submit a search through
the form and follow it to `succeeded`, read the ranked table, download a spec and a TorchScript file, see a
422 beside the wrong field, cancel a running job, compare two Pareto fronts, and the API-key prompt. The pages'
load times are measured with 1,000 jobs in the database and a job of 10,000 evaluations.

Skipped, with the reason, where Chromium, chromedriver or Selenium is missing (`.ci/run` installs them)."""

import itertools
import json
import random
import statistics
import uuid
from datetime import timedelta

import pytest
import torch

pytest.importorskip("uvicorn")
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[test]')")

from dashboard_browser import (  # noqa: E402
    by_id, console_errors, downloaded, fill, open_page, status_on_page,
    table_rows, wait_until,
)

import diswot  # noqa: E402
from api.db import Database, EvaluationRow, JobRow, utc_now  # noqa: E402
from local_server import LocalServer  # noqa: E402
from diswot.proxies import DEFAULT_PROXY  # noqa: E402
from api.store import SqlEvaluationStore  # noqa: E402
from diswot.client import Client  # noqa: E402
from diswot.student_search import Evaluation, SearchRequest, SearchResult, StudentSpec  # noqa: E402
from diswot.student_search.result import pareto_front  # noqa: E402

TINY = dict(teacher="resnet8", space="resnet_cifar_wide", num_classes=10, batch_size=8, population=8, sample_size=3)
SERVER_ENV = {"OMP_NUM_THREADS": "1"}  # one torch thread per server on a shared two-core machine
# A server imports torch before it listens: on the shared machine under load that has taken over two minutes.
STARTUP_S = 300
# The target is 1 s on this machine; the check allows for other work on its two shared cores, and the
# measured figures are printed (pytest -s) for the README.
PAGE_LOAD_LIMIT_MS = 2000


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dashboard")
    with LocalServer(folder / "jobs.db", folder / "server.log", env=SERVER_ENV, startup_timeout=STARTUP_S) as running:
        yield running


@pytest.fixture(scope="module")
def client(server):
    with Client(server.url) as connected:
        yield connected


def test_a_search_submitted_through_the_form_runs_to_its_ranked_students(browser, server, client, downloads):
    open_page(browser, f"{server.url}/")
    assert by_id(browser, "jobs").is_displayed()
    open_page(browser, f"{server.url}/new")
    # 16 evaluations allow the confirm stage 4 finalists (it scores no more networks than the search): all 4 shown
    for field, value in {**TINY, "evaluations": 16, "top_k": 4}.items():
        fill(browser, field, value)
    by_id(browser, "submit-job").click()
    wait_until(lambda: "/jobs/" in browser.current_url, 30, "the job page")
    job_id = browser.current_url.rsplit("/", 1)[1]
    wait_until(lambda: status_on_page(browser) == "succeeded", 120, "status 'succeeded' on the job page")
    wait_until(lambda: by_id(browser, "students").is_displayed(), 30, "the ranked table")

    result = client.result(job_id)
    job = client.get(job_id)
    assert job["config"]["evaluations"] == 16 and job["config"]["teacher"] == "resnet8"  # what the form sent
    rows = table_rows(browser, "students")
    assert [row[0] for row in rows] == ["1", "2", "3", "4"]
    assert [row[1] for row in rows] == [student["arch"] for student in result["students"]]
    assert [float(row[2]) for row in rows] == pytest.approx([s["score"] for s in result["students"]], rel=1e-4)
    # the confirm stage ran (the API's default): the students are ranked by the confirmed mean, shown with its spread
    confirmed = [float(part) for row in rows for part in row[3].split(" ± ")]  # mean, spread, mean, spread ...
    expected = [value for s in result["students"] for value in (s["confirmed_score"], s["confirmed_spread"])]
    assert confirmed == pytest.approx(expected, rel=1e-4, abs=1e-9)
    assert confirmed[::2] == sorted(confirmed[::2], reverse=True)
    assert by_id(browser, "evaluations").text == "16 / 16"

    # hovering the best student's point shows what it is: architecture, params, FLOPs and every proxy score
    canvas = by_id(browser, "cost-chart")
    x, y = browser.execute_script("const p = Chart.getChart('cost-chart').getDatasetMeta(2).data[0]; return [p.x, p.y]")
    webdriver.ActionChains(browser).move_to_element_with_offset(
        canvas, round(x - canvas.size["width"] / 2), round(y - canvas.size["height"] / 2)
    ).perform()
    tooltip = wait_until(
        lambda: browser.execute_script("return Chart.getChart('cost-chart').tooltip.body?.flatMap(b => b.lines)"),
        10, "the tooltip",
    )
    best = result["students"][0]
    assert tooltip[:2] == [best["arch"], f"params {best['params'] / 1e6:.3f}M, FLOPs {best['flops'] / 1e6:.1f}M"]
    name, value = tooltip[2].split(": ")
    assert name == DEFAULT_PROXY and float(value) == pytest.approx(best["score"], 1e-4)

    score_header = by_id(browser, "students").find_elements("css selector", "thead th")[2]
    score_header.click()
    ascending = [float(row[2]) for row in table_rows(browser, "students")]
    assert ascending == sorted(ascending) and len(set(ascending)) > 1
    score_header.click()
    assert [float(row[2]) for row in table_rows(browser, "students")] == ascending[::-1]
    by_id(browser, "students").find_elements("css selector", "thead th")[0].click()  # back to rank order
    assert [row[0] for row in table_rows(browser, "students")] == ["1", "2", "3", "4"]

    first_row = by_id(browser, "students").find_element("css selector", "tbody tr")
    first_row.find_element("css selector", "button.spec").click()
    spec = json.loads(downloaded(downloads, f"diswot-{job_id[:8]}-rank1.json").read_text())
    assert spec == result["students"][0]  # the spec the API returns, which `diswot export` reads
    first_row.find_element("css selector", "button.torchscript").click()
    scripted = torch.jit.load(str(downloaded(downloads, f"diswot-{job_id[:8]}-rank1.pt")))
    images = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.equal(scripted(images), diswot.build_student(spec).eval()(images))

    open_page(browser, f"{server.url}/")
    row = wait_until(lambda: [r for r in table_rows(browser, "jobs") if r[1] == job_id[:8]], 10, "the job's row")[0]
    assert row[3:8] == ["resnet8", "resnet_cifar_wide", "none", "aging", "succeeded"]
    assert "16 scored: evaluations reached" in row[8]
    assert float(row[9]) == pytest.approx(result["students"][0]["score"], rel=1e-4)
    assert console_errors(browser) == []


def test_a_validation_error_is_shown_beside_its_field_and_nothing_is_submitted(browser, server, client):
    before = client.list(limit=1)["total"]
    open_page(browser, f"{server.url}/new")
    fill(browser, "teacher", "resnet8")
    fill(browser, "evaluations", 0)
    by_id(browser, "submit-job").click()
    message = wait_until(lambda: by_id(browser, "error-evaluations").text, 10, "the evaluations error")
    assert "greater than or equal to 1" in message
    field = browser.find_element("css selector", '.field[data-field="evaluations"]')
    assert "invalid" in field.get_attribute("class") and by_id(browser, "error-teacher").text == ""

    fill(browser, "evaluations", 5)
    fill(browser, "teacher", "resnet57")
    by_id(browser, "submit-job").click()
    message = wait_until(lambda: by_id(browser, "error-teacher").text, 10, "the teacher error")
    assert "unknown teacher 'resnet57' (did you mean 'resnet56'?)" in message  # the library's check, by name
    assert by_id(browser, "error-evaluations").text == ""  # the earlier error is gone
    assert browser.current_url.endswith("/new") and client.list(limit=1)["total"] == before


def test_a_running_job_is_cancelled_and_then_deleted_from_its_page(browser, server, client):
    job = client.submit(TINY, evaluations=3000)
    open_page(browser, f"{server.url}/jobs/{job['id']}")
    wait_until(lambda: status_on_page(browser) == "running", 60, "status 'running'")
    wait_until(lambda: int(by_id(browser, "evaluations").text.split("/")[0]) > 0, 60, "a scored candidate")
    by_id(browser, "cancel").click()
    wait_until(lambda: status_on_page(browser) == "cancelled", 60, "status 'cancelled'")
    assert client.get(job["id"])["status"] == "cancelled"
    plotted = browser.execute_script("return Chart.getChart('best-chart').data.datasets[0].data.length")
    assert 0 < plotted == client.get(job["id"])["progress"]["evaluations"]  # the live plot kept up

    assert not by_id(browser, "cancel").is_displayed()
    by_id(browser, "delete").click()
    browser.switch_to.alert.accept()
    wait_until(lambda: browser.current_url.rstrip("/") == server.url, 10, "the jobs page after delete")
    assert job["id"] not in {j["id"] for j in client.list(limit=100)["items"]}


def test_two_pareto_fronts_on_one_plot(browser, server, client):
    ids = [client.submit(TINY, evaluations=6, seed=seed)["id"] for seed in (1, 2)]
    fronts = [client.wait(job_id, timeout=120) and client.result(job_id)["pareto_front"] for job_id in ids]
    open_page(browser, f"{server.url}/compare?ids={','.join(ids)}")
    plotted = browser.execute_script(
        "return Chart.getChart(document.querySelector('#compare-charts canvas'))"
        ".data.datasets.map(d => d.data.map(p => [p.x, p.y]))"
    )
    assert plotted == [[[s["params"], pytest.approx(s["score"])] for s in front] for front in fronts]
    listed = {row[1] for row in table_rows(browser, "compare-jobs")}
    assert {job_id[:8] for job_id in ids} <= listed


def test_with_an_api_key_the_pages_show_nothing_until_it_is_given(browser, tmp_path):
    keyed_env = {**SERVER_ENV, "DISWOT_API_KEY": "s3cret"}
    with LocalServer(tmp_path / "jobs.db", tmp_path / "server.log", env=keyed_env, startup_timeout=STARTUP_S) as keyed:
        with Client(keyed.url, api_key="s3cret") as client:
            job_id = client.submit(TINY, evaluations=2)["id"]
        browser.get(f"{keyed.url}/")
        wait_until(lambda: by_id(browser, "key-form").is_displayed(), 10, "the key prompt")
        assert not by_id(browser, "content").is_displayed() and table_rows(browser, "jobs") == []
        for key, shown in (("wrong", False), ("s3cret", True)):
            by_id(browser, "api-key").send_keys(key)
            by_id(browser, "api-key").submit()
            if not shown:
                message = wait_until(lambda: by_id(browser, "key-message").text, 10, "the wrong-key message")
                assert "did not accept" in message and not by_id(browser, "content").is_displayed()
        rows = wait_until(lambda: table_rows(browser, "jobs"), 10, "the jobs table with the key")
        assert [row[1] for row in rows] == [job_id[:8]]
        browser.execute_script("sessionStorage.clear()")


# ---- speed with a large database -------------------------------------------------------------------------------

NB201_OPERATIONS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")


def nb201_cells():
    """NB201 cell strings in the space's own notation (a stored job's rows look like a real job's)."""
    for ops in itertools.product(NB201_OPERATIONS, repeat=6):
        yield f"|{ops[0]}~0|+|{ops[1]}~0|{ops[2]}~1|+|{ops[3]}~0|{ops[4]}~1|{ops[5]}~2|"


def synthetic_evaluations(count, seed=0):
    rng = random.Random(seed)
    evaluations = []
    for cell in itertools.islice(nb201_cells(), count):
        params = rng.randint(70_000, 1_500_000)
        diswot_score = -0.9 + 0.4 * params / 1_500_000 + rng.gauss(0, 0.08)
        scores = {"diswot": diswot_score, "params": float(params)}
        terms = {"semantic_distance": -diswot_score * 0.95, "relation_distance": -diswot_score * 0.05}
        evaluations.append(Evaluation(cell, cell, params, params * 90, True, diswot_score, scores, terms, 1.1))
    return evaluations


def finished_result(config, evaluations):
    """The result document a search of these evaluations ends with (ranked top-k, the library's Pareto front)."""

    def spec(evaluation, rank=0):
        return StudentSpec(
            "nb201", evaluation.canonical, 10, evaluation.params, evaluation.flops, evaluation.score,
            evaluation.scores, evaluation.terms, config["teacher"], 0, "default", diswot.__version__, rank,
        )

    ranked = sorted(evaluations, key=lambda e: -e.score)[:10]
    return SearchResult(
        config=config,
        students=[spec(e, rank) for rank, e in enumerate(ranked, start=1)],
        pareto_front=[spec(e) for e in pareto_front(evaluations, "params")],
        history=evaluations,
        evaluations=len(evaluations),
        stop_reason="evaluations reached",
        seconds=11_000.0,
        diswot_version=diswot.__version__,
        best_scores=list(itertools.accumulate((e.score for e in evaluations), max)),
    ).to_dict()


def fill_database(path, jobs=1000, evaluations=10_000):
    """`jobs` finished jobs (succeeded, failed, cancelled: none for the worker to pick up) plus one succeeded job
    with `evaluations` stored evaluations and its result; returns that job's id."""
    database = Database(f"sqlite:///{path}")
    database.upgrade_schema()
    now = utc_now()
    teachers = ("resnet56", "resnet110", "wrn_40_2", "vgg13", "resnet32x4")
    configs = [
        SearchRequest.parse(
            dict(teacher=teacher, space="nb201", num_classes=100, max_params="0.8M", evaluations=500)
        ).to_dict()
        for teacher in teachers
    ]
    rows = []
    for number in range(jobs):
        config = configs[number % len(configs)]
        status = ("succeeded", "failed", "cancelled")[number % 3]
        started = now - timedelta(minutes=number + 10)
        rows.append(
            JobRow(
                id=uuid.uuid4().hex, status=status, config=config, created_at=started - timedelta(seconds=5),
                started_at=started, finished_at=started + timedelta(minutes=8), runs=1,
                evaluations_done=500 if status == "succeeded" else 137, evaluations_total=500,
                best_score=-0.41 - number * 1e-4, error="internal error: out of memory" if status == "failed" else None,
            )
        )
    config = SearchRequest.parse(dict(teacher="resnet56", space="nb201", num_classes=10, evaluations=evaluations))
    history = synthetic_evaluations(evaluations)
    result = finished_result(config.to_dict(), history)
    big = uuid.uuid4().hex
    rows.append(
        JobRow(
            id=big, status="succeeded", config=config.to_dict(), created_at=now - timedelta(hours=4), started_at=now,
            finished_at=now, runs=1, evaluations_done=evaluations, evaluations_total=evaluations,
            best_score=max(e.score for e in history), eta_seconds=0.0,
            result=result,
        )
    )
    with database.session() as session, session.begin():
        session.add_all(rows)
        session.flush()  # the jobs first: evaluations refer to them
        # The rows SqlEvaluationStore.append writes, in one transaction (10,000 commits would take minutes here).
        session.add_all(EvaluationRow(job_id=big, canonical=e["canonical"], evaluation=e) for e in result["history"])
    assert len(SqlEvaluationStore(database, big).load()) == evaluations
    database.dispose()
    return big


def test_pages_stay_fast_with_1000_jobs_and_a_job_of_10000_evaluations(browser, tmp_path):
    big = fill_database(tmp_path / "jobs.db")
    with LocalServer(tmp_path / "jobs.db", tmp_path / "server.log", env=SERVER_ENV, startup_timeout=STARTUP_S) as large:
        timings = {}
        for name, path in (("jobs page", "/"), ("job page, 10,000 evaluations", f"/jobs/{big}")):
            open_page(browser, f"{large.url}{path}")  # the first load also fills the browser's and server's caches
            timings[name] = [open_page(browser, f"{large.url}{path}") for _ in range(3)]
            if path == "/":
                assert by_id(browser, "page-summary").text == "1–20 of 1001"
                by_id(browser, "next-page").click()
                wait_until(lambda: by_id(browser, "page-summary").text == "21–40 of 1001", 10, "the second page")
                by_id(browser, "status-filter").send_keys("failed")
                wait_until(lambda: by_id(browser, "page-summary").text == "1–20 of 333", 10, "the failed jobs")
                assert {row[7] for row in table_rows(browser, "jobs")} == {"failed"}
        plotted = browser.execute_script(
            "return Chart.getChart('cost-chart').data.datasets.map(d => d.data.length)"
        )
        assert plotted[0] == 10_000 and plotted[2] == 10
        assert len(table_rows(browser, "students")) == 10
        with Client(large.url) as client:
            failed = client.list(status="failed", limit=1)["items"][0]["id"]
        open_page(browser, f"{large.url}/jobs/{failed}")
        assert by_id(browser, "job-error").text == "The job failed: internal error: out of memory"
        assert status_on_page(browser) == "failed" and not by_id(browser, "students").is_displayed()
    for name, milliseconds in timings.items():
        print(f"{name}: load to first complete render {statistics.median(milliseconds):.0f} ms "
              f"(median of {milliseconds})")
        assert statistics.median(milliseconds) < PAGE_LOAD_LIMIT_MS, f"{name} took {milliseconds} ms"
