"""The confirm stage: the best candidates are scored again with more inits and the students rank by that mean."""

import statistics

import pytest

import diswot
from diswot import DiswotError
from diswot.probe_data import ProbeDataSpec
from diswot.proxies import get_proxy
from diswot.scoring_setup import ScoringSetup
from diswot.student_search import MemoryStore, SearchRequest
from search_spaces import get_space

SETTINGS = dict(teacher="resnet8", space="resnet_cifar_wide", num_classes=10, batch_size=8, population=8,
                sample_size=3, evaluations=16, proxies=["diswot"], confirm_top=4, confirm_inits=3, top_k=6)


@pytest.fixture(scope="module")
def confirmed_result():
    return diswot.search(**SETTINGS)


def test_confirmed_scores_are_the_mean_and_spread_over_the_confirm_inits(confirmed_result):
    space = get_space("resnet_cifar_wide")
    probe = ProbeDataSpec(source="synthetic", batch_size=8, seed=0)
    scorer = ScoringSetup("resnet8", num_classes=10, probe=probe, proxies=("diswot",), device="cpu").build_scorer()
    proxy = get_proxy("diswot")
    confirmed = [s for s in confirmed_result.students if s.confirmed_score is not None]
    assert len(confirmed) == 4
    for student in confirmed:
        candidate = scorer.candidate(space, student.arch)
        per_init = [proxy.compute(candidate.another_init(i)).score for i in range(3)]
        assert student.confirmed_score == pytest.approx(statistics.fmean(per_init), rel=1e-6)
        assert student.confirmed_spread == pytest.approx(statistics.stdev(per_init), rel=1e-6)
        assert student.confirm_inits == 3
        assert per_init[0] == pytest.approx(student.score, rel=1e-6)  # init 0 is the search's own


def test_students_rank_by_the_confirmed_mean_then_by_search_score(confirmed_result):
    students = confirmed_result.students
    confirmed = [s for s in students if s.confirmed_score is not None]
    rest = [s for s in students if s.confirmed_score is None]
    assert students == confirmed + rest and [s.rank for s in students] == list(range(1, 7))
    assert [s.confirmed_score for s in confirmed] == sorted((s.confirmed_score for s in confirmed), reverse=True)
    # the finalists were the four best by search score
    by_search = sorted((e for e in confirmed_result.history if e.feasible), key=lambda e: -e.score)
    assert {s.arch for s in confirmed} == {e.canonical for e in by_search[:4]}
    assert [s.score for s in rest] == sorted((s.score for s in rest), reverse=True)


class StopInsideConfirm(MemoryStore):
    """Raises once the n-th confirm record is stored: a run killed inside the confirm stage."""

    def __init__(self, n):
        super().__init__()
        self.n = n

    def append(self, evaluation):
        super().append(evaluation)
        if sum(e.stage == "confirm" for e in self.evaluations) == self.n:
            raise KeyboardInterrupt


def test_resume_inside_the_confirm_stage_equals_uninterrupted(confirmed_result):
    store = StopInsideConfirm(2)
    with pytest.raises(KeyboardInterrupt):
        diswot.search(**SETTINGS, store=store)
    store.n = -1
    stored_before = len(store.evaluations)
    resumed = diswot.search(**SETTINGS, store=store)
    assert resumed.to_dict()["students"] == confirmed_result.to_dict()["students"]
    assert len(store.evaluations) == stored_before + 2  # only the two finalists not yet confirmed were scored


def test_confirm_stage_off():
    for off in (dict(confirm_top=0), dict(confirm_inits=0), dict(confirm_inits=1)):  # 1 init adds nothing
        result = diswot.search(**{**SETTINGS, **off})
        assert all(s.confirmed_score is None for s in result.students)
        assert [s.score for s in result.students] == sorted((s.score for s in result.students), reverse=True)


@pytest.mark.parametrize("field, value", [("confirm_top", -1), ("confirm_inits", -2), ("confirm_top", "3"),
                                          ("confirm_inits", True)])
def test_bad_confirm_settings_name_the_field(field, value):
    with pytest.raises(DiswotError, match=field):
        SearchRequest.parse({"teacher": "resnet8", "space": "nb201", field: value})


def test_the_confirm_stage_scores_no_more_networks_than_the_search_and_reuses_its_init(monkeypatch):
    from diswot.executors import in_process

    submitted = []
    original = in_process.InProcessExecutor.submit
    monkeypatch.setattr(in_process.InProcessExecutor, "submit", lambda self, task: submitted.append(task) or
                        original(self, task))
    result = diswot.search(**dict(SETTINGS, evaluations=6, confirm_top=5, confirm_inits=4, top_k=6))
    confirm_tasks = [task for task in submitted if getattr(task, "inits", None) == 1]
    # 6 networks scored by the search: 2 finalists of 3 new inits each (init 0 is the search's)
    assert sum(s.confirmed_score is not None for s in result.students) == 2
    assert sorted(task.first_init for task in confirm_tasks) == [1, 1, 2, 2, 3, 3]
