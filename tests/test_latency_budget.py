"""A search under a latency budget: the field parsed at every edge, candidates rejected by the predicted latency
before they are scored, students reporting it, NSGA-II on the latency axis, an unreachable budget refused.

The timings are made deterministic (a network's latency = its parameter count x 10 ns, each unit's likewise, so the
table's scale is 1 and a prediction equals the parameter count the space reports, an independent figure), except in
the one test that times real networks.
"""

import json
import subprocess
import sys

import pytest

import diswot
import diswot.latency.measured as measured_module
import diswot.latency.table as table_module
from diswot.errors import DiswotError, FieldError
from diswot.latency.budget import parse_latency
from diswot.student_search.result import pareto_front

SECONDS_PER_PARAM = 1e-8
# 1000 classes, as latency is measured at (`LATENCY_CLASSES`), so a prediction equals the reported params x 10 ns.
FAST = dict(teacher="imagenet:mobilenet_v2", space="mobilenet", num_classes=1000, proxies=["params"], image_size=32)


def parameter_seconds(module, *_args) -> float:
    return SECONDS_PER_PARAM * sum(p.numel() for p in module.parameters())


@pytest.fixture
def params_latency(monkeypatch):
    monkeypatch.setattr(table_module, "measure_latency", parameter_seconds)
    monkeypatch.setattr(measured_module, "measure_network_latency", parameter_seconds)


@pytest.mark.parametrize("text, seconds", [("5ms", 0.005), ("0.005s", 0.005), ("800us", 0.0008), (" 2.5 MS ", 0.0025),
                                           (5, 0.005), ("5", 0.005), ("1e1ms", 0.01)])
def test_latencies_read_with_their_units(text, seconds):
    assert parse_latency(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["5 parsecs", "-1ms", 0, "nan", True, "ms", "inf"])
def test_a_bad_latency_names_the_field_and_the_form(text):
    with pytest.raises(FieldError, match="max_latency.*such as 5ms"):
        parse_latency(text)


@pytest.mark.parametrize("field, value, message", [
    ("latency_device", "tpu", "one of cpu, cuda"), ("latency_threads", 0, ">= 1"), ("latency_batch", "2", ">= 1"),
    ("latency_image_size", 4, ">= 8"),
])
def test_bad_latency_settings_name_their_field(field, value, message):
    with pytest.raises(FieldError, match=f"{field}.*{message}"):
        diswot.SearchRequest.parse({**FAST, "max_latency": "5ms", field: value})


def test_the_flat_form_keeps_the_latency_fields_only_where_latency_is_timed():
    untimed = diswot.SearchRequest.parse(FAST)
    assert "max_latency" not in untimed.to_dict() and not untimed.times_latency
    timed = diswot.SearchRequest.parse({**FAST, "max_latency": "7.5ms", "latency_threads": 2})
    flat = timed.to_dict()
    assert flat["max_latency"] == pytest.approx(7.5) and flat["latency_image_size"] == 224  # the space's resolution
    assert diswot.SearchRequest.parse(flat) == timed  # the stored form parses back to the same request


def test_candidates_over_the_budget_are_rejected_before_scoring(params_latency):
    budget = 2.0e6 * SECONDS_PER_PARAM  # students of at most 2M params
    result = diswot.search(**FAST, strategy="random", evaluations=12, max_latency=f"{budget}s", confirm_top=0)
    feasible = [e for e in result.history if e.feasible]
    rejected = [e for e in result.history if not e.feasible]
    assert len(feasible) == 12 and rejected, "a random sample of mobilenet has candidates above 2M params"
    for evaluation in result.history:
        assert evaluation.latency == pytest.approx(evaluation.params * SECONDS_PER_PARAM, rel=1e-9)
        assert evaluation.feasible == (evaluation.latency <= budget)
        assert (evaluation.score is None) == (not evaluation.feasible)  # the rejected were never scored
    for student in result.students:
        assert student.latency <= budget
        assert student.measured_latency == pytest.approx(student.params * SECONDS_PER_PARAM, rel=1e-9)
        assert student.latency_setting == "cpu, 1 thread(s), batch 1, 224 px"


def test_nsga2_trades_score_against_latency(params_latency):
    result = diswot.search(**{**FAST, "proxies": ["synflow"]}, strategy="nsga2", objective="latency",
                           evaluations=16, population=8, confirm_top=0)
    front = result.pareto_front
    latencies = [member.latency for member in front]
    assert latencies == sorted(latencies) and all(latency is not None for latency in latencies)
    assert [m.score for m in front] == sorted(m.score for m in front)  # slower members of the front score higher
    feasible = [e for e in result.history if e.feasible]
    assert [m.arch for m in front] == [e.canonical for e in pareto_front(feasible, "latency")]


def test_a_budget_below_the_cheapest_candidate_is_refused_saying_its_latency(params_latency):
    space = diswot.SearchRequest.parse(FAST).search_space
    cheapest = space.cost(space.extreme_archs()[0], 1000).params
    with pytest.raises(DiswotError, match=r"no mobilenet candidate meets max_latency 0\.001 ms: its cheapest "
                                          r"candidate \(fewest params and FLOPs\) takes ([0-9.]+) ms") as refused:
        diswot.search(**FAST, evaluations=4, max_latency="0.001ms")
    said = float(refused.value.args[0].split("takes ")[1].split(" ms")[0])
    assert said == pytest.approx(cheapest * SECONDS_PER_PARAM * 1e3, rel=1e-2)


def test_the_cli_takes_a_latency_budget_and_prints_the_measured_latency(tmp_path):
    """Run as a user runs it (real timings, at 64 px to be quick), the table kept in the cache folder."""
    out = tmp_path / "run"
    done = subprocess.run([
        sys.executable, "-m", "diswot", "search", "--teacher", FAST["teacher"], "--space", "mobilenet",
        "--num-classes", "10", "--proxy", "params", "--image-size", "32", "--strategy", "nsga2",
        "--objective", "latency", "--population", "4", "--evaluations", "4", "--max-latency", "1s",
        "--latency-image-size", "64", "--confirm-top", "0", "--out", str(out),
        "--cache-dir", str(tmp_path / "cache")], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    header = next(line for line in done.stdout.splitlines() if line.lstrip().startswith("rank"))
    assert "latency" in header
    result = json.loads((out / "result.json").read_text())
    assert result["config"]["max_latency"] == pytest.approx(1000.0) and result["config"]["latency_image_size"] == 64
    assert all(0 < student["measured_latency"] for student in result["students"])
    assert json.loads((tmp_path / "cache" / "latency.json").read_text())
    assert (out / "pareto.png").stat().st_size > 0  # score against latency, in ms


def test_a_real_table_predicts_within_the_measured_range(tmp_path):
    """Real timings (on this machine, noisy): the prediction of a small candidate is positive, cached in the
    file, and a budget between the cheapest and the largest admits the cheapest."""
    request = diswot.SearchRequest.parse({**FAST, "max_latency": "1s", "latency_image_size": 64})
    table = table_module.LatencyTable(request.latency.setting, tmp_path / "latency.json")
    space = request.search_space
    cheapest, largest = space.extreme_archs()
    assert 0 < table.predict(space, cheapest) < table.predict(space, largest)
    request.latency.check_reachable(space, table)  # 1 s admits the cheapest at 64 px
    assert json.loads((tmp_path / "latency.json").read_text())


@pytest.fixture
def service(tmp_path, params_latency):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.settings import Settings
    from service_testing import SCRIPT_HEADERS

    settings = Settings(database_url=f"sqlite:///{tmp_path / 'jobs.db'}", latency_cache=tmp_path / "latency.json")
    with TestClient(create_app(settings), headers=SCRIPT_HEADERS) as client:
        yield client


@pytest.mark.parametrize("field, value, message", [
    ("max_latency", "5 parsecs", "such as 5ms"), ("latency_device", "tpu", "one of cpu, cuda"),
    ("latency_image_size", 512, "less than or equal to 224"),
])
def test_the_service_answers_a_bad_latency_field_with_422_naming_it(service, field, value, message):
    response = service.post("/v1/searches", json={**FAST, "max_latency": "5ms", field: value})
    assert response.status_code == 422 and field in response.text and message in response.text


def test_the_service_runs_a_search_under_a_latency_budget(service):
    from service_testing import wait_for

    budget_ms = 2.0e6 * SECONDS_PER_PARAM * 1e3
    created = service.post("/v1/searches", json={**FAST, "strategy": "random", "evaluations": 4,
                                                 "max_latency": f"{budget_ms}ms", "confirm_top": 0})
    assert created.status_code == 202, created.text
    job = wait_for(service, created.json()["id"])
    assert job["status"] == "succeeded", job
    result = service.get(f"/v1/searches/{job['id']}/result").json()
    assert result["config"]["max_latency"] == pytest.approx(budget_ms)
    assert all(student["latency"] <= budget_ms / 1e3 for student in result["students"])
