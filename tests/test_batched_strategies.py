"""Batched ask/tell: a strategy proposes up to N candidates before it is told any, owns its settings, and a
search with N in flight is reproducible, spends exactly its evaluations and replays from its store."""

import json
import random

import pytest

import diswot
from diswot import SearchRequest
from diswot.student_search import MemoryStore
from diswot.student_search.evaluation import Evaluation
from diswot.student_search.strategies import get_strategy
from diswot.student_search.strategies.aging import AgingSettings
from diswot.student_search.strategies.base import NoSettings
from diswot.student_search.strategies.nsga2 import NSGA2Settings
from search_spaces import get_space

SMALL = dict(teacher="resnet8", space="resnet_cifar_wide", num_classes=10, batch_size=8, population=8, sample_size=3,
             proxies=["diswot"], confirm_top=0)


def told(space, archs, score=1.0):
    return [Evaluation(space.canonical(a), space.format(a), 1000, 1000, True, score) for a in archs]


def test_each_strategy_reads_only_its_own_settings():
    flat = dict(SMALL, evaluations=30, objective="flops")
    assert SearchRequest.parse(flat).strategy.settings == AgingSettings(evaluations=30, population=8, sample_size=3)
    assert SearchRequest.parse(dict(flat, strategy="nsga2")).strategy.settings == NSGA2Settings(30, 8, 0.5, 1.0,
                                                                                                "flops")
    assert SearchRequest.parse(dict(flat, strategy="exhaustive", space="resnet_cifar")).strategy.settings == \
        NoSettings()
    # what a strategy does not read is not kept, so it cannot make two equal searches differ
    assert SearchRequest.parse(dict(flat, strategy="random", population=50)) == SearchRequest.parse(
        dict(flat, strategy="random"))


def test_exhaustive_alone_says_it_walks_the_whole_space():
    assert [name for name in ("aging", "ga", "nsga2", "random", "exhaustive") if get_strategy(name).enumerates] == [
        "exhaustive"]
    config = SearchRequest.parse(dict(SMALL, strategy="exhaustive", space="resnet_cifar"))
    assert config.strategy.evaluation_limit is None and config.students_kept is None
    assert SearchRequest.parse(SMALL).strategy.evaluation_limit == 500


def test_aging_waits_for_a_told_population_before_breeding():
    space = get_space("resnet_cifar_wide")
    strategy = get_strategy("aging")(space, AgingSettings(100, population=4, sample_size=2), random.Random(0))
    members = strategy.ask(6)
    assert len(members) == 4  # the random first population; a child needs told members to sample from
    assert strategy.ask(2) == []
    strategy.tell(members[:2], told(space, members[:2]))
    children = strategy.ask(3)
    assert len(children) == 3  # two told members are enough for a tournament of two
    asked = [space.canonical(a) for a in members + children]
    assert len(set(asked)) == len(asked)  # a child never repeats a candidate in flight


def test_a_generation_is_handed_out_in_slots_and_bred_again_once_fully_told():
    space = get_space("resnet_cifar_wide")
    config = SearchRequest.parse(dict(SMALL, strategy="ga", population=6))
    strategy = config.build_strategy()
    first, second = strategy.ask(4), strategy.ask(4)
    assert (len(first), len(second)) == (4, 2) and strategy.ask(4) == []
    strategy.tell(first, told(space, first))
    assert strategy.ask(4) == []  # two children of the generation are still in flight
    strategy.tell(second, told(space, second))
    assert len(strategy.ask(4)) == 4  # the next generation


@pytest.mark.parametrize("strategy", ["aging", "ga", "nsga2", "random"])
def test_a_search_with_three_in_flight_is_reproducible_and_spends_its_evaluations(strategy):
    settings = dict(SMALL, strategy=strategy, evaluations=20, seed=1, concurrency=3)
    first, again = diswot.search(**settings), diswot.search(**settings)
    assert first.to_dict()["students"] == again.to_dict()["students"]
    assert first.evaluations == 20 and len({e.canonical for e in first.history}) == len(first.history)
    assert first.config["concurrency"] == 3


def test_an_exhaustive_search_in_flight_scores_every_candidate_once():
    result = diswot.search(**dict(SMALL, space="resnet_cifar", strategy="exhaustive", concurrency=4))
    assert result.evaluations == 64 and len(result.students) == 64


@pytest.mark.parametrize("strategy", ["aging", "nsga2"])
def test_resume_with_three_in_flight_equals_uninterrupted(strategy):
    settings = dict(SMALL, strategy=strategy, evaluations=20, max_params="0.6M", concurrency=3)
    uninterrupted = diswot.search(**settings)

    class StopAfter(MemoryStore):
        limit = 9

        def append(self, evaluation):
            super().append(evaluation)
            if len(self.evaluations) == self.limit:
                raise KeyboardInterrupt

    store = StopAfter()
    with pytest.raises(KeyboardInterrupt):
        diswot.search(**settings, store=store)
    store.limit = -1
    resumed = diswot.search(**settings, store=store)
    assert resumed.to_dict()["students"] == uninterrupted.to_dict()["students"]
    assert [e.canonical for e in resumed.history] == [e.canonical for e in uninterrupted.history]
    assert len({e.canonical for e in store.evaluations}) == len(store.evaluations)


def test_a_run_folder_written_before_concurrency_existed_still_resumes(tmp_path):
    from diswot.student_search.run_folder import search_in_folder

    config = SearchRequest.parse(dict(SMALL, evaluations=6))
    older = config.to_dict()
    del older["concurrency"]
    (tmp_path / "request.json").write_text(json.dumps(older))
    assert search_in_folder(config, tmp_path).evaluations == 6
    with pytest.raises(diswot.DiswotError, match="holds a different search \\(concurrency: 1 there, 2 now\\)"):
        search_in_folder(SearchRequest.parse(dict(SMALL, evaluations=6, concurrency=2)), tmp_path)
