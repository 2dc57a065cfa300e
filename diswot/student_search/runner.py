"""`diswot.student_search`: the search loop. Request -> strategy asks -> executor scores (cached, stored) ->
strategy is told, with `concurrency` candidates in flight, told in the order they were asked for.

Every candidate is scored at most once (cached by canonical architecture) and appended to the store as soon as
it is told. A run resumed from its store replays the same trajectory (the strategy's choices follow from
its seed and the scores it is told), taking stored evaluations instead of scoring again, so it ends with the
result an uninterrupted run gives. The confirm stage then scores the best candidates again with more inits and
ranks the students by that mean; its records are stored too, so a run stopped inside it resumes there.
"""

from __future__ import annotations

import math
import time
from collections import deque
from pathlib import Path
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

import diswot
from diswot.calibration_cache import CalibrationCache
from diswot.calibration_on_workers import measured_calibrations
from diswot.errors import DiswotError
from diswot.executors import Executor, ScoringOutcome, ScoringTask
from diswot.scorer import mean_and_spread, mean_terms
from diswot.student_search.evaluation import Evaluation
from diswot.latency import LatencyTable
from diswot.student_search.request import SearchRequest
from diswot.student_search.result import SearchResult, StudentSpec, pareto_front
from diswot.student_search.store import EvaluationStore, MemoryStore

# A strategy that proposes this many candidates in a row without a new one has exhausted what it can reach.
STALL_PROPOSALS = 2000


# A search's stages, in order: the proxies' calibrations measured (reference cells), the search itself
# (candidates), the confirm stage (finalists scored again with more inits).
STAGES = ("calibration", "search", "confirm")


@dataclass
class SearchProgress:
    """Where a search is: `evaluations` of `total` counts the current `stage`'s own work (calibration: reference
    cells measured; search: feasible candidates scored; confirm: finalists scored again). `resumed`: the
    evaluations the run found stored when it started (0 for a fresh run). `elapsed`: seconds since the stage's
    start for calibration, since the search's start for the search and the confirm stage."""

    evaluations: int
    total: Optional[int]
    best_score: Optional[float]
    elapsed: float
    stage: str = "search"
    resumed: int = 0


def evaluation_of(outcome: ScoringOutcome, canonical: str, arch: str, cost, stage: str = "search",
                  latency: Optional[float] = None) -> Evaluation:
    """The evaluation of a scored candidate (`cost`: anything with params and flops). A candidate that could not be
    scored for its own reasons is recorded with the reason and the worst score, so the search goes on."""
    record = outcome.score
    if record is None:
        return Evaluation(canonical, arch, cost.params, cost.flops, True, -math.inf,
                          stage=stage, failure=outcome.failure, latency=latency)
    return Evaluation(canonical, arch, cost.params, cost.flops, True, record.score, record.scores, record.terms,
                      record.seconds, stage=stage, score_spread=record.score_spread, latency=latency)


class SearchCancelled(Exception):
    """Raised inside the loop when `should_stop` says so; everything evaluated so far is already stored."""


def search(
    request: SearchRequest | Mapping[str, Any] | None = None,
    *,
    store: EvaluationStore | None = None,
    on_progress: Callable[[SearchProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    executor: Executor | None = None,
    calibration_cache: CalibrationCache | None = None,
    latency_cache: str | Path | None = None,
    **fields: Any,
) -> SearchResult:
    """Run a search: `diswot.search(teacher="resnet56", space="nb201", max_params="0.5M", evaluations=200)`.

    `request`: a parsed `SearchRequest`, taken as it is, or its flat fields (a mapping, or keyword arguments),
    parsed here once: everything is checked before the first candidate is scored, and a budget no candidate can
    meet fails early. `executor` scores the candidates (default: one built from the request's execution and
    closed when the search ends); it does not change the result. An executor given here stays the caller's: it
    is left open (warm for the next search) and the caller closes it. `calibration_cache`: where calibrations are
    reused from and kept (`diswot.calibration_cache`; none: measured for this search). `latency_cache`: the JSON
    file of latency timings where a search times its candidates (`diswot.latency`; none: timed for this search).
    """
    if not isinstance(request, SearchRequest):
        request = SearchRequest.parse({**(request or {}), **fields})
    elif fields:
        raise TypeError(f"search() takes a parsed request or fields, not both (got {', '.join(fields)})")
    store = store if store is not None else MemoryStore()
    latency = None
    if request.times_latency:  # before any worker starts: a budget below the fastest candidate fails here
        latency = LatencyTable(request.latency.setting, latency_cache)
        request.latency.check_reachable(request.search_space, latency)
    setup = request.scoring
    scorer = setup.build_scorer(calibration_cache)
    owned = executor is None
    executor = request.execution.executor.build() if owned else executor
    started = time.perf_counter()
    executor.start(setup, scorer)
    try:
        # Measured once, by the workers, and shipped to every one: all then standardise against the same scales.
        def calibrating(done: int, total: int) -> None:
            if on_progress is not None:
                on_progress(SearchProgress(done, total, None, time.perf_counter() - started, stage="calibration"))

        calibrations = measured_calibrations(scorer, request.search_space, executor, on_measured=calibrating)
        executor.update_setup(setup.with_calibrations(calibrations))
        return SearchLoop(request, scorer, store, executor, on_progress, should_stop, latency).run()
    except BaseException:
        executor.cancel()  # stop the work in flight: nobody will take its outcomes
        raise
    finally:
        if owned:
            executor.close()


@dataclass
class _InFlight:
    """A candidate asked for, in the order it was asked for; `new` when it is scored (not stored nor repeated)."""

    arch: Any
    canonical: str
    evaluation: Optional[Evaluation]  # known when it was asked for: stored, outside the budget, or scored before
    new: bool = False
    cost: Any = None
    latency: Optional[float] = None

    @property
    def repeat(self) -> bool:
        """Asked for again while it was in flight or after it was told: it takes the first one's evaluation."""
        return self.evaluation is None and not self.new


class SearchLoop:
    """The strategy keeps the request's `concurrency` candidates in flight and is told each evaluation in the order
    it asked for them, so the search depends on the seeds and the concurrency only, never on the executor, the
    number of workers or which worker finished first. Every evaluation is stored as it is told."""

    def __init__(self, request: SearchRequest, scorer, store, executor, on_progress, should_stop,
                 latency: Optional[LatencyTable] = None):
        self.request = request
        self.latency = latency  # predicts each candidate's latency where the request times them
        self.concurrency = request.execution.concurrency
        self.space = request.search_space
        self.scorer = scorer
        self.strategy = request.build_strategy()
        self.store = store
        self.executor = executor
        self.on_progress = on_progress
        self.should_stop = should_stop
        stored = store.load()
        self.known: dict[str, Evaluation] = {e.canonical: e for e in stored if e.stage == "search"}
        self.confirmed: dict[str, Evaluation] = {e.canonical: e for e in stored if e.stage == "confirm"}
        self.resumed = len(stored)
        self.history: list[Evaluation] = []
        self.seen: set[str] = set()  # in the history or in flight
        self.best_scores: list[float] = []
        self.feasible_in_flight = 0
        self.started = time.perf_counter()

    def ask_into(self, window: deque) -> bool:
        """Fill the window up to the concurrency; False when the strategy has nothing to propose."""
        limit = self.strategy.evaluation_limit
        while len(window) < self.concurrency:
            if limit is not None and len(self.best_scores) + self.feasible_in_flight >= limit:
                return True
            archs = self.strategy.ask(self.concurrency - len(window))
            if not archs:
                return False
            for arch in archs:
                window.append(self.submit(arch))
        return True

    def submit(self, arch: Any) -> _InFlight:
        """The candidate's entry in the window; only a feasible candidate never seen before goes to the executor."""
        canonical = self.space.canonical(arch)
        if canonical in self.seen:
            return _InFlight(arch, canonical, None)  # a repeat: told the first one's evaluation
        self.seen.add(canonical)
        stored = self.known.get(canonical)
        if stored is not None:
            self.feasible_in_flight += stored.feasible
            return _InFlight(arch, canonical, stored)
        cost = self.scorer.candidate(self.space, arch).cost
        latency = None
        if self.request.budget.admits(cost) and self.latency is not None:
            latency = self.latency.predict(self.space, arch)
        if not (self.request.budget.admits(cost) and self.request.latency.admits(latency)):
            evaluation = Evaluation(canonical, self.space.format(arch), cost.params, cost.flops, feasible=False,
                                    latency=latency)
            return _InFlight(arch, canonical, evaluation, new=True)
        self.executor.submit(ScoringTask(self.space.name, canonical))
        self.feasible_in_flight += 1
        return _InFlight(arch, canonical, None, new=True, cost=cost, latency=latency)

    def receive(self, entry: _InFlight) -> Evaluation:
        """The entry's evaluation, stored and recorded in the history when it is the candidate's first."""
        if entry.repeat:
            return self.known[entry.canonical]  # a repeat of a candidate told before
        evaluation = entry.evaluation
        if evaluation is None:
            outcome = self.executor.next_outcome()
            evaluation = evaluation_of(outcome, entry.canonical, self.space.format(entry.arch), entry.cost,
                                       latency=entry.latency)
        if entry.new:
            self.store.append(evaluation)
            self.known[entry.canonical] = evaluation
        self.history.append(evaluation)
        if evaluation.feasible:
            self.feasible_in_flight -= 1
            best = max(self.best_scores[-1], evaluation.score) if self.best_scores else evaluation.score
            self.best_scores.append(best)
            self.report()
        return evaluation

    def report(self) -> None:
        if self.on_progress is not None:
            best = self.best_scores[-1] if self.best_scores else None
            elapsed = time.perf_counter() - self.started
            self.on_progress(SearchProgress(len(self.best_scores), self.strategy.evaluation_limit, best, elapsed,
                                            resumed=self.resumed))

    def run(self) -> SearchResult:
        stop_reason, told_since_new = "evaluations reached", 0
        window: deque[_InFlight] = deque()
        while True:
            if self.should_stop is not None and self.should_stop():
                raise SearchCancelled()
            proposing = self.ask_into(window)
            if not window:
                if not proposing:
                    stop_reason = "space exhausted"
                break
            entry = window.popleft()
            self.strategy.tell([entry.arch], [self.receive(entry)])
            told_since_new = told_since_new + 1 if entry.repeat else 0
            if told_since_new >= STALL_PROPOSALS:
                stop_reason = f"no new candidate in {STALL_PROPOSALS} proposals (the reachable space is exhausted)"
                break
        if not self.best_scores:
            raise DiswotError(
                f"no evaluated candidate met the budget {self.request.describe_budget()} "
                f"({len(self.history)} candidates tried); widen the budget"
            )
        return self.result(stop_reason, self.confirm())

    def finalists(self) -> list[Evaluation]:
        """The best candidates of the search, as many as the confirm stage takes (a score of -inf cannot be
        confirmed into the top)."""
        scored = [e for e in self.history if e.feasible and e.score is not None and math.isfinite(e.score)]
        count = self.request.confirm.finalists(len(self.best_scores), self.request.scoring.inits)
        return sorted(scored, key=lambda e: -e.score)[:count]

    def confirm(self) -> dict[str, Evaluation]:
        """Score each finalist as the mean of `confirm_inits` random inits. Each init is a task of its own, so every
        worker stays busy to the end; init 0 is the search's own, taken from its evaluation when it scored one."""
        if not self.request.confirms:
            return {}
        finalists = self.finalists()
        inits = {finalist.canonical: self.inits_to_score(finalist) for finalist in finalists}
        for finalist in finalists:
            if finalist.canonical not in self.confirmed:
                for index in inits[finalist.canonical]:
                    self.executor.submit(ScoringTask(self.space.name, finalist.canonical, 1, first_init=index))
        for done, finalist in enumerate(finalists, start=1):
            if self.should_stop is not None and self.should_stop():
                raise SearchCancelled()
            if finalist.canonical not in self.confirmed:
                outcomes = [self.executor.next_outcome() for _ in inits[finalist.canonical]]
                evaluation = self.confirmed_evaluation(finalist, outcomes,
                                                       taken_from_search=inits[finalist.canonical].start == 1)
                self.store.append(evaluation)
                self.confirmed[finalist.canonical] = evaluation
            if self.on_progress is not None:
                self.on_progress(SearchProgress(done, len(finalists), self.best_scores[-1],
                                                time.perf_counter() - self.started, stage="confirm",
                                                resumed=self.resumed))
        return {f.canonical: self.confirmed[f.canonical] for f in finalists}

    def inits_to_score(self, finalist: Evaluation) -> range:
        """The finalist's inits the confirm stage scores: all but init 0 when the search's evaluation is init 0's
        alone with every proxy's score (a store filled by other means may lack them)."""
        first = self.request.confirm.first_new_init(self.request.scoring.inits)
        if not all(name in finalist.scores for name in self.scorer.proxy_names):
            first = 0
        return range(first, self.request.confirm.inits)

    def confirmed_evaluation(self, finalist: Evaluation, outcomes: list[ScoringOutcome],
                             taken_from_search: bool) -> Evaluation:
        """The finalist's confirm record: every proxy's score and every term, the mean over its inits (the search's
        evaluation as init 0 when `taken_from_search`)."""
        failed = next((outcome for outcome in outcomes if outcome.score is None), None)
        if failed is not None:
            return evaluation_of(failed, finalist.canonical, finalist.arch, finalist, stage="confirm",
                                 latency=finalist.latency)
        records = [outcome.score for outcome in outcomes]
        per_init = ([(finalist.scores, finalist.terms)] if taken_from_search else []) + [
            (record.scores, record.terms) for record in records]
        scores, spreads = {}, {}
        for name in self.scorer.proxy_names:
            scores[name], spreads[name] = mean_and_spread([values[name] for values, _ in per_init])
        first = self.scorer.proxy_names[0]
        return Evaluation(finalist.canonical, finalist.arch, finalist.params, finalist.flops, True, scores[first],
                          scores, mean_terms([terms for _, terms in per_init]),
                          sum(record.seconds for record in records), stage="confirm", score_spread=spreads[first],
                          latency=finalist.latency)

    def result(self, stop_reason: str, confirmed: dict[str, Evaluation]) -> SearchResult:
        feasible = [e for e in self.history if e.feasible]

        def order(evaluation: Evaluation) -> tuple[bool, float]:
            if evaluation.canonical in confirmed:
                return False, -confirmed[evaluation.canonical].score
            return True, -evaluation.score

        ranked = sorted(feasible, key=order)[: self.request.students_kept]
        return SearchResult(
            config=self.request.to_dict(),
            students=[self.with_measured_latency(self.spec(e, rank, confirmed.get(e.canonical)))
                      for rank, e in enumerate(ranked, start=1)],
            pareto_front=[self.spec(e) for e in pareto_front(feasible, self.request.objective)],
            history=self.history,
            evaluations=len(feasible),
            stop_reason=stop_reason,
            seconds=time.perf_counter() - self.started,
            diswot_version=diswot.__version__,
            best_scores=self.best_scores,
            calibrations={f"{space}/{key}": {**c.to_dict(), "source": self.scorer.calibration_sources[(space, key)]}
                          for (space, key), c in self.scorer.calibrations.items()},
            executor=self.executor.describe(),
        )

    def spec(self, evaluation: Evaluation, rank: int = 0, confirmed: Evaluation | None = None) -> StudentSpec:
        scoring = self.request.scoring
        return StudentSpec(
            space=self.space.name,
            arch=evaluation.canonical,
            num_classes=scoring.num_classes,
            params=evaluation.params,
            flops=evaluation.flops,
            score=evaluation.score,
            scores=evaluation.scores,
            terms=evaluation.terms,
            teacher=scoring.teacher,
            seed=scoring.seed,
            init=scoring.init,
            inits=scoring.inits,
            shared_init=scoring.shared_init,
            diswot_version=diswot.__version__,
            rank=rank,
            confirmed_score=None if confirmed is None else confirmed.score,
            confirmed_spread=None if confirmed is None else confirmed.score_spread,
            confirm_inits=0 if confirmed is None else self.request.confirm.inits,
            latency=evaluation.latency,
            latency_setting=None if self.latency is None else self.request.latency.where(),
        )

    def with_measured_latency(self, student: StudentSpec) -> StudentSpec:
        """A ranked student with its latency measured directly (once per device and setting: cached with the
        table), beside the table's prediction the search went by."""
        if self.latency is not None:
            student.measured_latency = self.latency.measured.seconds(self.space, self.space.parse(student.arch))
        return student
