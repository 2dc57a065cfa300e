"""The dashboard's second round in a real headless Chromium against a real server: a search's stages and honest
completion, every evaluation as a sorted, filtered table with its CSV, names, tags and notes, re-running with
changes, the folded advanced settings and errors beside their field, distilling a student and its page, the
distillations list, the API reference with a key, the compare page's hint and plot per space, and tables and
plots that hold everything they show.

Skipped, with the reason, where Chromium, chromedriver or Selenium is missing (`.ci/run` installs them)."""

import csv
import io
import time

import numpy as np
import pytest
import torch

pytest.importorskip("uvicorn")
pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[test]')")

from dashboard_browser import (  # noqa: E402
    by_id, console_errors, downloaded, fill, open_page, status_on_page,
    table_rows, wait_until,
)

from local_server import LocalServer  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402
from diswot.client import Client  # noqa: E402
from diswot.teachers import build_network  # noqa: E402

TINY = dict(teacher="resnet8", space="resnet_cifar_wide", num_classes=10, batch_size=8, population=8, sample_size=3)
# 64 students, fewer under the budget: a random search asked for 500 runs out of candidates.
EXHAUSTING = dict(teacher="resnet8", space="resnet_cifar", num_classes=10, batch_size=8, strategy="random",
                  evaluations=500, max_params="0.3M", proxies=["params"], confirm_top=0)
SERVER_ENV = {"OMP_NUM_THREADS": "1"}
STARTUP_S = 300


def choose(browser, select_id, value):
    Select(by_id(browser, select_id)).select_by_value(value)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A server with a teacher directory (a trained resnet8's weights) and a data directory (a 10-class .npz)."""
    folder = tmp_path_factory.mktemp("dashboard")
    (folder / "teachers").mkdir()
    (folder / "data").mkdir()
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (60, 32, 32, 3), dtype=np.uint8)
    labels = np.arange(60) % 10
    np.savez(folder / "data" / "ten.npz", x_train=images[:40], y_train=labels[:40], x_test=images[40:],
             y_test=labels[40:])
    torch.manual_seed(0)
    torch.save(build_network("resnet8", 10).state_dict(), folder / "teachers" / "r8.pt")
    env = {**SERVER_ENV, "DISWOT_TEACHER_DIR": str(folder / "teachers"), "DISWOT_DATA_DIR": str(folder / "data"),
           "DISWOT_DISTILL_DIR": str(folder / "runs")}
    with LocalServer(folder / "jobs.db", folder / "server.log", env=env, startup_timeout=STARTUP_S) as running:
        yield running


@pytest.fixture(scope="module")
def client(server):
    with Client(server.url) as connected:
        yield connected


@pytest.fixture(scope="module")
def finished_search(client):
    """A succeeded search with infeasible candidates and a confirm stage, named and tagged."""
    job = client.submit(TINY, evaluations=12, max_params="0.3M", confirm_top=3, confirm_inits=2, top_k=3,
                        name="wide r8", tags=["r8"])
    return client.wait(job["id"], timeout=300)


def test_a_running_search_shows_each_stage_and_a_finished_one_why_it_stopped(browser, server, client):
    job = client.submit(TINY, evaluations=40, confirm_top=8, confirm_inits=4)
    open_page(browser, f"{server.url}/jobs/{job['id']}")
    seen = []
    while status_on_page(browser) in ("", "queued", "running"):
        stage = by_id(browser, "stage").get_attribute("data-stage")
        if stage and (not seen or seen[-1] != stage):
            seen.append(stage)
            current = browser.find_element("css selector", "#stages li.current").get_attribute("data-stage")
            assert current == stage and by_id(browser, "stage").text.startswith(stage)
            if stage == "calibration":  # no empty plots while nothing is scored
                assert by_id(browser, "charts-note").is_displayed() and not by_id(browser, "charts").is_displayed()
        time.sleep(0.1)
    assert status_on_page(browser) == "succeeded"
    assert seen[-2:] == ["search", "confirm"] and seen in (["search", "confirm"], ["calibration", "search", "confirm"])
    assert by_id(browser, "stop-reason").text == "evaluations reached"
    assert by_id(browser, "stage").text == "finished"
    assert {li.get_attribute("class") for li in browser.find_elements("css selector", "#stages li")} == {"done"}

    exhausted = client.wait(client.submit(EXHAUSTING)["id"], timeout=300)
    open_page(browser, f"{server.url}/")
    row = browser.find_element("css selector", f'#jobs tr[data-job-id="{exhausted["id"]}"]')
    bar = row.find_element("css selector", "progress")
    # the search ended with fewer than 500: the row says so, with a full bar, not "45 / 500"
    assert bar.get_attribute("value") == bar.get_attribute("max")
    assert f"{exhausted['progress']['evaluations']} scored: {exhausted['stop_reason']}" in row.text
    assert "exhausted" in exhausted["stop_reason"]
    open_page(browser, f"{server.url}/jobs/{exhausted['id']}")
    assert by_id(browser, "stop-reason").text == exhausted["stop_reason"]
    assert console_errors(browser) == []


def test_every_evaluation_is_a_sorted_filtered_paged_table_with_its_csv(browser, server, client, finished_search,
                                                                        downloads):
    job_id = finished_search["id"]
    stored = client.evaluations(job_id, limit=100)
    open_page(browser, f"{server.url}/jobs/{job_id}")
    rows = table_rows(browser, "evaluations-table")
    assert [int(row[0]) for row in rows] == list(range(1, min(stored["total"], 50) + 1))
    assert by_id(browser, "evaluations-summary").text.endswith(f"of {stored['total']}")

    header = browser.find_element("css selector", '#evaluations-table th[data-sort="score"]')
    header.click()  # largest first
    wait_until(lambda: header.get_attribute("aria-sort") == "descending", 10, "the score sort")
    best_first = client.evaluations(job_id, sort="score", descending=True, limit=50)["items"]
    wait_until(lambda: [int(row[0]) for row in table_rows(browser, "evaluations-table")]
               == [item["number"] for item in best_first], 10, "rows in score order")

    choose(browser, "filter-feasible", "false")
    infeasible = client.evaluations(job_id, feasible=False, sort="score", descending=True, limit=50)
    assert infeasible["total"] > 0
    wait_until(lambda: {row[3] for row in table_rows(browser, "evaluations-table")} == {"no"}, 10, "infeasible rows")
    assert by_id(browser, "evaluations-summary").text == f"1–{infeasible['total']} of {infeasible['total']}"
    choose(browser, "filter-feasible", "")
    choose(browser, "filter-stage", "confirm")
    wait_until(lambda: {row[1] for row in table_rows(browser, "evaluations-table")} == {"confirm"}, 10, "confirm rows")
    assert len(table_rows(browser, "evaluations-table")) == 3

    by_id(browser, "download-csv").click()
    exported = list(csv.DictReader(io.StringIO(
        downloaded(downloads, f"diswot-{job_id[:8]}-evaluations.csv").read_text())))
    expected = list(csv.DictReader(io.StringIO(client.evaluations_csv(job_id, stage="confirm", sort="score",
                                                                      descending=True))))
    assert exported == expected and len(exported) == 3 and {row["stage"] for row in exported} == {"confirm"}


def test_names_tags_and_notes_are_shown_changed_and_filtered_by(browser, server, client, finished_search):
    job_id = finished_search["id"]
    open_page(browser, f"{server.url}/jobs/{job_id}")
    assert by_id(browser, "job-name").text == "wide r8" and by_id(browser, "job-tags").text == "r8"
    browser.find_element("css selector", "#edit-labels summary").click()
    by_id(browser, "label-name").clear()
    by_id(browser, "label-name").send_keys("wide r8, 0.3M")
    by_id(browser, "label-tags").send_keys(", keep")
    by_id(browser, "label-note").send_keys("the budget leaves few candidates")
    by_id(browser, "save-labels").click()
    wait_until(lambda: by_id(browser, "job-name").text == "wide r8, 0.3M", 10, "the new name")
    job = client.get(job_id)
    assert (job["name"], job["tags"], job["note"]) == ("wide r8, 0.3M", ["r8", "keep"],
                                                       "the budget leaves few candidates")
    browser.find_element("css selector", "#edit-labels summary").click()  # the editor folded away on saving
    by_id(browser, "label-tags").clear()
    by_id(browser, "label-tags").send_keys("has space")
    by_id(browser, "save-labels").click()
    assert "tags" in wait_until(lambda: by_id(browser, "labels-error").text, 10, "the tag error")

    other = client.submit(TINY, evaluations=2, tags=["other"])["id"]
    open_page(browser, f"{server.url}/?tag=keep")
    rows = wait_until(lambda: table_rows(browser, "jobs"), 10, "the tagged jobs")
    assert len(rows) == 1 and rows[0][1].startswith("wide r8, 0.3M") and "keep" in rows[0][1]
    by_id(browser, "tag-filter").clear()
    by_id(browser, "tag-filter").send_keys("other\n")
    wait_until(lambda: [r[1].split()[0] for r in table_rows(browser, "jobs")] == [other[:8]], 10, "the other tag")
    client.wait(other, timeout=120)


def test_re_run_with_changes_opens_the_form_filled_with_the_jobs_request(browser, server, client, finished_search):
    open_page(browser, f"{server.url}/jobs/{finished_search['id']}")
    by_id(browser, "rerun").click()
    wait_until(lambda: by_id(browser, "form-source").is_displayed(), 30, "the filled form")
    config = finished_search["config"]
    for field in ("teacher", "space", "evaluations", "batch_size", "population", "confirm_top"):
        assert by_id(browser, f"field-{field}").get_attribute("value") == str(config[field])
    assert by_id(browser, "field-max_params").get_attribute("value") == str(config["max_params"])
    assert by_id(browser, "field-name").get_attribute("value") == ""  # the labels are not the request's
    fill(browser, "evaluations", 6)
    by_id(browser, "submit-job").click()
    wait_until(lambda: "/jobs/" in browser.current_url and finished_search["id"] not in browser.current_url, 30,
               "the new job's page")
    rerun = client.get(browser.current_url.rsplit("/", 1)[1])
    assert rerun["config"] == {**config, "evaluations": 6}
    client.wait(rerun["id"], timeout=120)


def test_advanced_settings_are_folded_and_errors_show_beside_their_field(browser, server, client):
    before = client.list(limit=1)["total"]
    open_page(browser, f"{server.url}/new")
    sections = browser.find_elements("css selector", "details.advanced")
    assert sections and not any(section.get_attribute("open") for section in sections)
    assert not by_id(browser, "field-population").is_displayed() and by_id(browser, "field-teacher").is_displayed()
    # a wrong value in a folded section: the section opens, with the message beside the field
    browser.execute_script("document.getElementById('field-population').value = 1")
    by_id(browser, "submit-job").click()
    population = wait_until(lambda: by_id(browser, "error-population").text, 10, "the population error")
    assert "greater than or equal to 2" in population and by_id(browser, "field-population").is_displayed()
    # an impossible budget: beside max_params, not in a banner at the top
    fill(browser, "population", 20)
    fill(browser, "space", "resnet_cifar")
    fill(browser, "max_params", "1k")
    by_id(browser, "submit-job").click()
    message = wait_until(lambda: by_id(browser, "error-max_params").text, 10, "the budget error")
    assert message.startswith("no resnet_cifar candidate meets the budget params <= 0.001M")
    assert by_id(browser, "error-population").text == "" and not by_id(browser, "form-error").is_displayed()
    assert browser.switch_to.active_element == by_id(browser, "field-max_params")
    assert client.list(limit=1)["total"] == before


def test_a_student_is_distilled_from_its_row_and_its_page_shows_the_run(browser, server, client, finished_search,
                                                                        downloads):
    search_id = finished_search["id"]
    name = client.get(search_id)["name"]  # as an earlier test may have renamed it
    open_page(browser, f"{server.url}/jobs/{search_id}")
    second = by_id(browser, "students").find_element("css selector", 'tbody tr[data-rank="2"]')
    second.find_element("css selector", "a.distil").click()
    wait_until(lambda: by_id(browser, "form-source").is_displayed(), 30, "the distillation form")
    student = client.result(search_id)["students"][1]
    assert f"rank 2 of search {name}," in by_id(browser, "form-source").text and student["arch"] in by_id(
        browser, "form-source").text
    assert by_id(browser, "field-teacher").get_attribute("value") == "resnet8"
    fill(browser, "checkpoint", "r8.pt")
    fill(browser, "data", "ten.npz")
    fill(browser, "epochs", 2)
    fill(browser, "batch_size", 16)
    by_id(browser, "submit-job").click()
    wait_until(lambda: "/distillations/" in browser.current_url and "/new" not in browser.current_url, 30,
               "the distillation's page")
    run_id = browser.current_url.rsplit("/", 1)[1]
    wait_until(lambda: status_on_page(browser) == "succeeded", 300, "the distillation to succeed")
    run = client.distillation(run_id)
    summary = client.distillation_result(run_id)
    assert run["config"]["source"] == {"search": search_id, "rank": 2}
    assert run["config"]["student"]["arch"] == student["arch"]
    assert by_id(browser, "epochs").text == "2 / 2"
    assert by_id(browser, "best-top1").text == f"{summary['best_eval_top1']:.2f}%"
    assert by_id(browser, "teacher-top1").text == f"{summary['teacher_accuracy']['top1']:.2f}%"
    curves = wait_until(lambda: browser.execute_script(
        "return Chart.getChart('accuracy-chart').data.datasets.map(d => d.data.map(p => [p.x, p.y]))"), 10, "curves")
    epochs = client.distillation_epochs(run_id)
    assert curves[1] == [[record["epoch"], pytest.approx(record["eval_top1"])] for record in epochs]
    assert [point[1] for point in curves[3]] == [pytest.approx(summary["teacher_accuracy"]["top1"])] * 2
    loss = browser.execute_script("return Chart.getChart('loss-chart').data.datasets[0].data.map(p => p.y)")
    assert loss == [pytest.approx(record["train_loss"]) for record in epochs]
    settings = by_id(browser, "config").text
    assert "r8.pt" in settings and "weight kd" in settings
    by_id(browser, "download-student").click()
    scripted = torch.jit.load(str(downloaded(downloads, f"diswot-{run_id[:8]}-student.ts")))
    assert scripted(torch.randn(2, 3, 32, 32)).shape == (2, 10)

    # linked both ways: the distillation names its search; the search lists its distillations
    by_id(browser, "source").find_element("tag name", "a").click()
    wait_until(lambda: by_id(browser, "distillations-section").is_displayed(), 30, "the search's distillations")
    listed = table_rows(browser, "job-distillations")
    assert listed[0][:3] == [f"{name} rank 2", "2", "succeeded"]
    open_page(browser, f"{server.url}/distillations")
    rows = table_rows(browser, "distillations")
    assert rows[0][0].startswith(f"{name} rank 2") and rows[0][3] == f"{search_id[:8]} rank 2"
    assert rows[0][6] == "succeeded" and rows[0][7] == "2 / 2"
    assert console_errors(browser) == []


def test_the_api_reference_lists_every_endpoint_with_a_key(browser, tmp_path):
    env = {**SERVER_ENV, "DISWOT_API_KEY": "s3cret"}
    with LocalServer(tmp_path / "jobs.db", tmp_path / "server.log", env=env, startup_timeout=STARTUP_S) as keyed:
        browser.get(f"{keyed.url}/")
        wait_until(lambda: by_id(browser, "key-form").is_displayed(), 10, "the key prompt")
        by_id(browser, "api-key").send_keys("s3cret")
        by_id(browser, "api-key").submit()
        wait_until(lambda: browser.execute_script("return document.documentElement.dataset.ready"), 30, "the jobs")
        browser.find_element("link text", "API").click()
        wait_until(lambda: browser.find_elements("css selector", "details.endpoint"), 30, "the endpoints")
        listed = {(e.get_attribute("data-method"), e.get_attribute("data-path"))
                  for e in browser.find_elements("css selector", "details.endpoint")}
        assert {("post", "/v1/searches"), ("patch", "/v1/searches/{job_id}"),
                ("get", "/v1/searches/{job_id}/evaluations/table"),
                ("get", "/v1/distillations/{job_id}/epochs")} <= listed
        assert "diswot" in by_id(browser, "api-description").text
        browser.execute_script("sessionStorage.clear()")


def test_compare_says_what_to_do_and_plots_each_space_apart(browser, server, client, finished_search):
    open_page(browser, f"{server.url}/compare")
    assert by_id(browser, "nothing-chosen").is_displayed()
    assert browser.find_elements("css selector", "#compare-charts canvas") == []
    nb201 = client.wait(client.submit(teacher="resnet8", space="nb201", num_classes=10, batch_size=8, evaluations=4,
                                      strategy="random", proxies=["params"], confirm_top=0)["id"], timeout=300)
    open_page(browser, f"{server.url}/compare?ids={finished_search['id']},{nb201['id']}")
    assert not by_id(browser, "nothing-chosen").is_displayed()
    spaces = [figure.get_attribute("data-space")
              for figure in browser.find_elements("css selector", "figure.compare-space")]
    assert sorted(spaces) == ["nb201", "resnet_cifar_wide"]
    for figure in browser.find_elements("css selector", "figure.compare-space"):
        assert browser.execute_script(
            "return Chart.getChart(arguments[0].querySelector('canvas')).data.datasets.length", figure) == 1


def test_an_nb201_jobs_tables_fit_a_1400_pixel_window_and_its_plot_holds_every_point(browser, server, client):
    job = client.wait(client.submit(teacher="resnet8", space="nb201", num_classes=10, batch_size=8, evaluations=10,
                                    proxies=["diswot", "params", "synflow"], top_k=10, confirm_top=0)["id"],
                      timeout=600)
    browser.set_window_size(1400, 1000)
    open_page(browser, f"{server.url}/jobs/{job['id']}")
    wait_until(lambda: by_id(browser, "students").is_displayed(), 30, "the students")
    width = browser.execute_script("return document.documentElement.clientWidth")
    for table in ("students", "evaluations-table"):
        right = browser.execute_script("return arguments[0].getBoundingClientRect().right", by_id(browser, table))
        assert right <= width, f"{table} ends at {right} px in a {width} px page"
    for button in browser.find_elements("css selector", "#students button.torchscript, #students a.distil"):
        assert browser.execute_script("return arguments[0].getBoundingClientRect().right", button) <= width
    open_page(browser, f"{server.url}/")  # the jobs list too: names, tags and stop reasons fit
    assert browser.execute_script("return arguments[0].getBoundingClientRect().right",
                                  by_id(browser, "jobs")) <= width
    open_page(browser, f"{server.url}/jobs/{job['id']}")
    xs, scale = browser.execute_script(
        "const c = Chart.getChart('cost-chart'); return [c.data.datasets.flatMap(d => d.data.map(p => p.x)),"
        " [c.scales.x.min, c.scales.x.max]]")
    assert scale[0] <= min(xs) and max(xs) <= scale[1]
