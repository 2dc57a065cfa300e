"""Search: determinism, resume after a kill, budgets, strategies, results and the run folder."""

import json
import random
import subprocess
import sys
import time

import pytest
import torch

import diswot
from search_testing import StopAfter
from diswot import DiswotError, SearchRequest, StudentSpec, build_student
from diswot.student_search import JsonlStore, MemoryStore
from diswot.student_search.result import hypervolume, pareto_front
from diswot.student_search.evaluation import Evaluation
from diswot.student_search.strategies import STRATEGIES

# One proxy and no confirm stage keep these tests about the search itself, and fast (test_confirm_stage.py and
# test_calibration.py cover the default fitness and the confirm stage).
SMALL = dict(teacher="resnet8", space="resnet_cifar_wide", num_classes=10, batch_size=8, population=8, sample_size=3,
             proxies=["diswot"], confirm_top=0)


def ranking(result):
    return [(s.arch, s.score) for s in result.students]


@pytest.mark.parametrize("strategy", ["aging", "ga", "nsga2", "random"])
def test_same_seed_same_result(strategy):
    first = diswot.search(**SMALL, strategy=strategy, evaluations=20, seed=1)
    again = diswot.search(**SMALL, strategy=strategy, evaluations=20, seed=1)
    other = diswot.search(**SMALL, strategy=strategy, evaluations=20, seed=1, search_seed=2)
    assert ranking(first) == ranking(again)
    assert [e.canonical for e in first.history] == [e.canonical for e in again.history]
    assert [e.canonical for e in first.history] != [e.canonical for e in other.history]
    assert first.evaluations == 20 and len({e.canonical for e in first.history}) == len(first.history)


@pytest.mark.parametrize("strategy", ["aging", "nsga2"])
def test_resume_equals_uninterrupted(strategy):
    settings = dict(SMALL, strategy=strategy, evaluations=24, max_params="0.6M")
    uninterrupted = diswot.search(**settings)
    store = StopAfter(11)
    with pytest.raises(KeyboardInterrupt):
        diswot.search(**settings, store=store)
    store.n = -1
    resumed = diswot.search(**settings, store=store)
    assert resumed.to_dict()["students"] == uninterrupted.to_dict()["students"]
    assert [e.canonical for e in resumed.history] == [e.canonical for e in uninterrupted.history]
    # only the missing candidates were scored on resume: nothing twice
    assert len({e.canonical for e in store.evaluations}) == len(store.evaluations)


def test_budget_is_respected_and_unreachable_budget_fails_early():
    result = diswot.search(**SMALL, strategy="random", evaluations=15, max_params="0.1M", min_params="20k")
    assert all(20_000 <= s.params <= 100_000 for s in result.students)
    assert any(not e.feasible for e in result.history)
    started = time.perf_counter()
    with pytest.raises(DiswotError, match=r"no resnet_cifar candidate meets the budget params <= 0.001M: the space offers 0.0\d\dM to"):
        diswot.search(teacher="resnet8", space="resnet_cifar", max_params="1k")
    assert time.perf_counter() - started < 5


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("strategy", "evolution", "unknown strategy 'evolution'"),
        ("max_params", "lots", "0.5M"),
        ("evaluations", 0, "integer >= 1"),
        ("proxies", ["diswot", "zen2"], "unknown proxy 'zen2'"),
        ("space", "nb202", "unknown search space"),
        ("teacher", "resnet57", "did you mean 'resnet56'"),
        ("objective", "energy", "params, flops, latency"),
        ("inits", 0, "integer >= 1"),
        ("shared_init", "yes", "true or false"),
        ("colour", "red", "unknown field"),
    ],
)
def test_invalid_request_names_the_field(field, value, message):
    with pytest.raises(DiswotError) as error:
        SearchRequest.parse({"teacher": "resnet8", "space": "resnet_cifar", field: value})
    assert f"field {field!r}" in str(error.value) and message in str(error.value)


@pytest.mark.parametrize("field", ["min_params", "max_params", "max_flops"])
@pytest.mark.parametrize("value", ["1e400", "9e999", "2e18", 10**400, 10**18 + 1, 1e300, float("inf"), float("nan")])
def test_a_count_beyond_the_largest_budget_names_the_field_and_the_range(field, value):
    with pytest.raises(DiswotError) as error:
        SearchRequest.parse({"teacher": "resnet8", "space": "resnet_cifar", field: value})
    message = str(error.value)
    assert message.startswith(f"field {field!r}: ") and "from 0 to 1e18" in message and len(message) < 200


def test_the_largest_budget_is_accepted():
    config = SearchRequest.parse({"teacher": "resnet8", "space": "resnet_cifar", "max_flops": "1e18",
                                     "max_params": 10**18})
    assert config.budget.max_flops == config.budget.max_params == 10**18


def test_cli_search_refuses_an_overflowing_budget_in_one_line(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "diswot", "search", "--teacher", "resnet8", "--space", "resnet_cifar", "--out",
         str(tmp_path / "run"), "--max-flops", "9e999"],
        capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 2 and "Traceback" not in completed.stderr
    assert completed.stderr.strip() == (
        "error: field 'max_flops': must be a count from 0 to 1e18 such as 500000, 500k or 0.5M, got '9e999'"
    )


def test_exhaustive_s1_ranks_all_64_and_pareto_is_non_dominated(tmp_path):
    result = diswot.search(teacher="resnet8", space="resnet_cifar", num_classes=10, batch_size=8,
                           strategy="exhaustive")  # the defaults: diswot_capacity and the confirm stage
    assert result.evaluations == 64 and len(result.students) == 64
    assert [s.rank for s in result.students] == list(range(1, 65))
    # 64 networks scored allow 16 finalists at 4 new inits each (of confirm_top 20)
    confirmed = [s.confirmed_score for s in result.students[:16]]
    assert None not in confirmed and confirmed == sorted(confirmed, reverse=True)
    scores = [s.score for s in result.students[16:]]
    assert result.students[16].confirmed_score is None
    assert scores == sorted(scores, reverse=True) and min(s.score for s in result.students[:16]) >= max(scores)
    front = result.pareto_front
    for member in front:
        assert not any(s.score > member.score and s.params <= member.params for s in result.students)


def test_pareto_front_on_a_known_table():
    table = [Evaluation(c, c, p, 0, True, s) for c, p, s in
             [("a", 1, 0.1), ("b", 2, 0.5), ("c", 3, 0.4), ("d", 4, 0.9), ("e", 4, 0.2), ("f", 5, 0.9)]]
    assert [e.canonical for e in pareto_front(table, "params")] == ["a", "b", "d"]


def test_hypervolume_of_known_fronts():
    """Areas by hand: each front member dominates the rectangle from its (cost, score) to (reference cost,
    reference score); the hypervolume is the area of their union, a staircase."""
    table = [Evaluation(c, c, p, 0, True, s) for c, p, s in
             [("a", 1, 0.1), ("b", 2, 0.5), ("c", 3, 0.4), ("d", 4, 0.9), ("e", 4, 0.2), ("f", 5, 0.9)]]
    # front a, b, d up to (score 0, params 5): 4 x 0.1 + 3 x 0.4 + 1 x 0.4
    assert hypervolume(pareto_front(table, "params"), "params", (0.0, 5.0)) == pytest.approx(2.0)
    # the same students on the flops axis; one cheaper than the reference cost but scoring below the reference
    # score, one scoring above it but costlier than the reference cost: neither adds anything
    front = [Evaluation(c, c, 0, f, True, s) for c, f, s in
             [("low", 0, 0.05), ("x", 10, 0.5), ("y", 30, 0.8), ("z", 40, 0.9), ("big", 60, 0.95)]]
    # 40 x 0.4 + 20 x 0.3 + 10 x 0.1
    assert hypervolume(front, "flops", (0.1, 50.0)) == pytest.approx(23.0)
    assert hypervolume([], "params", (0.0, 5.0)) == 0.0


def test_a_student_scored_minus_infinity_is_on_no_front():
    table = [Evaluation(c, c, p, 0, True, s) for c, p, s in [("dead", 1, float("-inf")), ("a", 2, 0.1), ("b", 3, 0.5)]]
    assert [e.canonical for e in pareto_front(table, "params")] == ["a", "b"]


@pytest.fixture(scope="module")
def every_nb201_cell_scored():
    """A store holding an evaluation of every canonical NB201 cell, with a fixed random score per cell."""
    space = diswot.get_space("nb201")
    store, canonicals = MemoryStore(), {space.canonical(cell) for cell in space.enumerate()}
    for canonical in sorted(canonicals):
        cost = space.cost(space.parse(canonical), 10)
        store.append(Evaluation(canonical, canonical, cost.params, cost.flops, True, random.Random(canonical).random()))
    return store


@pytest.mark.parametrize("strategy, population, sample_size", [("aging", 100, 10), ("ga", 8, 3), ("nsga2", 8, 3)])
def test_a_converged_population_keeps_proposing_new_cells_until_the_budget_is_spent(
    strategy, population, sample_size, every_nb201_cell_scored
):
    # A converged population proposes mostly cells already evaluated (GA/NSGA-II: a small population within a
    # few generations; aging: its defaults, once the best member's neighbours are known and its repeats fill
    # the population). Without duplicate elimination the search stalls early (aging: after 540 of these 1,000).
    store = MemoryStore()
    store.evaluations = every_nb201_cell_scored.load()
    config = SearchRequest.parse(dict(teacher="resnet8", space="nb201", num_classes=10, batch_size=2,
                                      strategy=strategy, population=population, sample_size=sample_size,
                                      evaluations=1000, search_seed=0))
    result = diswot.search(config, store=store)
    assert result.evaluations == 1000 and result.stop_reason == "evaluations reached"


@pytest.mark.parametrize("inits, shared_init", [(1, False), (2, False), (1, True)])
def test_student_spec_rebuilds_the_scored_network(tmp_path, inits, shared_init):
    result = diswot.search(**SMALL, strategy="random", evaluations=3, inits=inits, shared_init=shared_init)
    spec = result.students[0]
    assert spec.inits == inits and spec.shared_init == shared_init
    rebuilt = diswot.score("resnet8", spec.space, [spec.arch], num_classes=10, data=diswot.ProbeDataSpec(batch_size=8),
                           inits=inits, shared_init=shared_init, proxies=SMALL["proxies"])
    assert rebuilt[0].score == pytest.approx(spec.score, rel=1e-6)
    model = build_student(StudentSpec.from_dict(json.loads(json.dumps(spec.to_dict()))))
    assert sum(p.numel() for p in model.parameters()) == spec.params
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_every_strategy_is_registered():
    assert set(STRATEGIES.names()) == {"aging", "ga", "nsga2", "random", "exhaustive"}


def run_cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "diswot", *args], capture_output=True, text=True, timeout=600, **kw)


def test_cli_search_run_folder_export_and_resume_after_kill(tmp_path):
    out = tmp_path / "run"
    args = ["search", "--teacher", "resnet8", "--space", "resnet_cifar_wide", "--num-classes", "10", "--batch-size", "8",
            "--strategy", "aging", "--evaluations", "60", "--population", "8", "--sample-size", "3", "--proxy", "diswot",
            "--confirm-top", "0", "--out", str(out)]
    reference = run_cli(*args[:-1], str(tmp_path / "reference"))
    assert reference.returncode == 0, reference.stderr
    process = subprocess.Popen([sys.executable, "-m", "diswot", *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    store = JsonlStore(out / "evaluations.jsonl")
    deadline = time.time() + 120
    while len(store.load()) < 15 and time.time() < deadline:
        time.sleep(0.2)
    process.kill()
    process.wait()
    assert 15 <= len(store.load()) < 60, "the kill should land mid-run"
    resumed = run_cli(*args)
    assert resumed.returncode == 0, resumed.stderr
    expected = json.loads((tmp_path / "reference" / "result.json").read_text())
    got = json.loads((out / "result.json").read_text())
    assert got["students"] == expected["students"] and got["pareto_front"] == expected["pareto_front"]
    assert [h["canonical"] for h in got["history"]] == [h["canonical"] for h in expected["history"]]
    for name in ("history.csv", "pareto.png", "progress.png"):
        assert (out / name).stat().st_size > 0
    exported = run_cli("export", str(out / "result.json"), "--out", str(tmp_path / "best.ts"))
    assert exported.returncode == 0, exported.stderr
    model = torch.jit.load(str(tmp_path / "best.ts"))
    assert model(torch.randn(1, 3, 32, 32)).shape == (1, 10)
    changed = run_cli(*[("90" if a == "60" else a) for a in args])  # --evaluations 90 into the same folder
    assert changed.returncode != 0 and "holds a different search" in changed.stderr


def test_batch_file_errors_point_at_line_and_field(tmp_path):
    batch = tmp_path / "batch.yaml"
    batch.write_text(
        "defaults: {strategy: random, evaluations: 4, num_classes: 10, batch_size: 8}\n"
        "searches:\n"
        "  - {teacher: resnet8, space: resnet_cifar}\n"
        "  - teacher: resnet8\n"
        "    space: resnet_cifar\n"
        "    max_params: lots\n"
    )
    result = run_cli("batch", str(batch), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert f"{batch}:6: search 2: field 'max_params'" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists(), "nothing runs before the whole file is valid"


def test_batch_runs_matrix_and_writes_summary(tmp_path):
    batch = tmp_path / "batch.yaml"
    batch.write_text(
        "defaults: {strategy: random, evaluations: 3, num_classes: 10, batch_size: 8}\n"
        "matrix:\n"
        "  teacher: [resnet8, resnet14]\n"
        "  space: [resnet_cifar]\n"
        "  budget: [{max_params: 0.3M}, {max_params: 1M}]\n"
    )
    result = run_cli("batch", str(batch), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    rows = (tmp_path / "out" / "summary.csv").read_text().strip().splitlines()
    assert len(rows) == 5 and rows[0].startswith("search,teacher")
