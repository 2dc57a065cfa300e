"""`diswot.student_search`: the search loop. Request -> strategy asks -> scorer (cached, stored) -> strategy is told.

Every candidate is scored at most once (cached by canonical architecture) and appended to the store as soon as
it is evaluated. A run resumed from its store replays the same trajectory (the strategy's choices follow from
its seed and the scores it is told), taking stored evaluations instead of scoring again, so it ends with the
result an uninterrupted run gives. The confirm stage then scores the best candidates again with more inits and
ranks the students by that mean; its records are stored too, so a run stopped inside it resumes there.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import diswot
from diswot.errors import DiswotError
from diswot.probe_data import load_probe_batch
from diswot.scorer import Scorer
from diswot.student_search.config import SearchConfig
from diswot.student_search.evaluation import Evaluation
from diswot.student_search.result import SearchResult, StudentSpec, pareto_front
from diswot.student_search.store import EvaluationStore, MemoryStore
from diswot.student_search.strategies import get_strategy
from diswot.teachers import load_teacher
from search_spaces import SearchSpace, get_space

# A strategy that proposes this many candidates in a row without a new one has exhausted what it can reach.
STALL_PROPOSALS = 2000


@dataclass
class SearchProgress:
    evaluations: int
    total: Optional[int]
    best_score: Optional[float]
    elapsed: float
    stage: str = "search"  # "confirm" while the best candidates are scored again; evaluations counts them then


class SearchCancelled(Exception):
    """Raised inside the loop when `should_stop` says so; everything evaluated so far is already stored."""


def check_budget_reachable(config: SearchConfig, space: SearchSpace) -> None:
    smallest, largest = space.extreme_archs()
    config.budget.check_reachable(
        space.cost(smallest, config.num_classes, config.image_size),
        space.cost(largest, config.num_classes, config.image_size),
        space.name,
    )


def search(
    config: SearchConfig | dict[str, Any] | None = None,
    *,
    store: EvaluationStore | None = None,
    on_progress: Callable[[SearchProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    allowed_teacher_dir: str | Path | None = None,
    allowed_data_dir: str | Path | None = None,
    **fields: Any,
) -> SearchResult:
    """Run a search: `diswot.student_search(teacher="resnet56", space="nb201", max_params="0.5M", evaluations=200)`.

    Everything is validated before the first candidate is scored; a budget no candidate can meet fails early.
    With `allowed_teacher_dir` / `allowed_data_dir`, teacher files and probe data are read only from inside
    those directories (every file resolved as it is read, see `diswot.file_access`).
    """
    if config is None:
        config = SearchConfig.from_dict(fields)
    elif isinstance(config, dict):
        config = SearchConfig.from_dict({**config, **fields})
    else:
        config.validate()
    store = store if store is not None else MemoryStore()
    space = get_space(config.space)
    if not config.budget.unlimited:
        check_budget_reachable(config, space)
    teacher = load_teacher(
        config.teacher, config.num_classes, checkpoint=config.checkpoint, seed=config.seed, init=config.init,
        allowed_dir=allowed_teacher_dir, image_size=config.image_size,
    )
    probe = load_probe_batch(config.probe_spec(), config.num_classes, allowed_dir=allowed_data_dir)
    scorer = Scorer(
        teacher, probe, config.proxies, seed=config.seed, init=config.init, device=config.device, inits=config.inits,
        shared_init=config.shared_init,
    )
    strategy = get_strategy(config.strategy)(space, config, random.Random(config.strategy_seed))
    return SearchLoop(config, space, scorer, strategy, store, on_progress, should_stop).run()


class SearchLoop:
    def __init__(self, config, space, scorer, strategy, store, on_progress, should_stop):
        self.config = config
        self.space = space
        self.scorer = scorer
        self.strategy = strategy
        self.store = store
        self.on_progress = on_progress
        self.should_stop = should_stop
        stored = store.load()
        self.known: dict[str, Evaluation] = {e.canonical: e for e in stored if e.stage == "search"}
        self.confirmed: dict[str, Evaluation] = {e.canonical: e for e in stored if e.stage == "confirm"}
        self.history: list[Evaluation] = []
        self.seen: set[str] = set()
        self.best_scores: list[float] = []
        self.started = time.perf_counter()

    def evaluate(self, arch: Any) -> Evaluation:
        candidate = self.scorer.candidate(self.space, arch)
        cost = candidate.cost
        arch_text = self.space.format(arch)
        if not self.config.budget.admits(cost):
            return Evaluation(candidate.canonical, arch_text, cost.params, cost.flops, feasible=False)
        record = self.scorer.score_candidate(candidate)
        return Evaluation(
            candidate.canonical, arch_text, cost.params, cost.flops, True, record.score, record.scores, record.terms, record.seconds
        )

    def lookup_or_evaluate(self, arch: Any) -> Evaluation:
        canonical = self.space.canonical(arch)
        evaluation = self.known.get(canonical)
        if evaluation is None:
            evaluation = self.evaluate(arch)
            self.store.append(evaluation)
            self.known[canonical] = evaluation
        if canonical not in self.seen:
            self.seen.add(canonical)
            self.history.append(evaluation)
            if evaluation.feasible:
                best = max(self.best_scores[-1], evaluation.score) if self.best_scores else evaluation.score
                self.best_scores.append(best)
                self.report()
        return evaluation

    def report(self) -> None:
        if self.on_progress is not None:
            best = self.best_scores[-1] if self.best_scores else None
            elapsed = time.perf_counter() - self.started
            self.on_progress(SearchProgress(len(self.best_scores), self.strategy.evaluation_limit, best, elapsed))

    def run(self) -> SearchResult:
        limit = self.strategy.evaluation_limit
        stop_reason, proposals_since_new = "evaluations reached", 0
        while limit is None or len(self.best_scores) < limit:
            if self.should_stop is not None and self.should_stop():
                raise SearchCancelled()
            archs = self.strategy.ask()
            if not archs:
                stop_reason = "space exhausted"
                break
            seen_before = len(self.seen)
            evaluations = []
            for arch in archs:
                evaluations.append(self.lookup_or_evaluate(arch))
                if limit is not None and len(self.best_scores) >= limit:
                    break
            if len(evaluations) < len(archs):
                break  # the budget ran out inside this batch: nothing more will be asked
            self.strategy.tell(archs, evaluations)
            proposals_since_new = 0 if len(self.seen) > seen_before else proposals_since_new + len(archs)
            if proposals_since_new >= STALL_PROPOSALS:
                stop_reason = f"no new candidate in {STALL_PROPOSALS} proposals (the reachable space is exhausted)"
                break
        if not self.best_scores:
            raise DiswotError(
                f"no evaluated candidate met the budget {self.config.budget.describe()} "
                f"({len(self.history)} candidates tried); widen the budget"
            )
        return self.result(stop_reason, self.confirm())

    def finalists(self) -> list[Evaluation]:
        """The best `confirm_top` candidates of the search (a score of -inf cannot be confirmed into the top)."""
        scored = [e for e in self.history if e.feasible and e.score is not None and math.isfinite(e.score)]
        return sorted(scored, key=lambda e: -e.score)[: self.config.confirm_top]

    def confirm(self) -> dict[str, Evaluation]:
        """Score each finalist as the mean of `confirm_inits` random inits (init 0 is the search's own)."""
        if not self.config.confirms:
            return {}
        finalists = self.finalists()
        for done, finalist in enumerate(finalists, start=1):
            if self.should_stop is not None and self.should_stop():
                raise SearchCancelled()
            if finalist.canonical not in self.confirmed:
                candidate = self.scorer.candidate(self.space, finalist.canonical)
                record = self.scorer.score_candidate(candidate, inits=self.config.confirm_inits)
                evaluation = Evaluation(
                    finalist.canonical, finalist.arch, finalist.params, finalist.flops, True, record.score,
                    record.scores, record.terms, record.seconds, stage="confirm", score_spread=record.score_spread,
                )
                self.store.append(evaluation)
                self.confirmed[finalist.canonical] = evaluation
            if self.on_progress is not None:
                self.on_progress(SearchProgress(done, len(finalists), self.best_scores[-1],
                                                time.perf_counter() - self.started, stage="confirm"))
        return {f.canonical: self.confirmed[f.canonical] for f in finalists}

    def result(self, stop_reason: str, confirmed: dict[str, Evaluation]) -> SearchResult:
        feasible = [e for e in self.history if e.feasible]

        def order(evaluation: Evaluation) -> tuple[bool, float]:
            if evaluation.canonical in confirmed:
                return False, -confirmed[evaluation.canonical].score
            return True, -evaluation.score

        ranked = sorted(feasible, key=order)[: self.config.students_kept]
        return SearchResult(
            config=self.config.to_dict(),
            students=[self.spec(e, rank, confirmed.get(e.canonical)) for rank, e in enumerate(ranked, start=1)],
            pareto_front=[self.spec(e) for e in pareto_front(feasible, self.config.objective)],
            history=self.history,
            evaluations=len(feasible),
            stop_reason=stop_reason,
            seconds=time.perf_counter() - self.started,
            diswot_version=diswot.__version__,
            best_scores=self.best_scores,
            calibrations={f"{space}/{key}": c.to_dict() for (space, key), c in self.scorer.calibrations.items()},
        )

    def spec(self, evaluation: Evaluation, rank: int = 0, confirmed: Evaluation | None = None) -> StudentSpec:
        return StudentSpec(
            space=self.space.name,
            arch=evaluation.canonical,
            num_classes=self.config.num_classes,
            params=evaluation.params,
            flops=evaluation.flops,
            score=evaluation.score,
            scores=evaluation.scores,
            terms=evaluation.terms,
            teacher=self.config.teacher,
            seed=self.config.seed,
            init=self.config.init,
            inits=self.config.inits,
            shared_init=self.config.shared_init,
            diswot_version=diswot.__version__,
            rank=rank,
            confirmed_score=None if confirmed is None else confirmed.score,
            confirmed_spread=None if confirmed is None else confirmed.score_spread,
            confirm_inits=0 if confirmed is None else self.config.confirm_inits,
        )
