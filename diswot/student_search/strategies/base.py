"""The ask/tell strategy interface: a strategy proposes architectures and is told their evaluations.

A strategy never scores anything itself; the search runner scores, caches and stores (Optuna's ask/tell).
Everything a strategy decides follows from its RNG and what it was told, so a resumed run replays exactly.

Asked for up to `count` candidates, a strategy proposes what it can decide now: the runner keeps that many in
flight and tells each evaluation, in the order it was asked for, as soon as it is in (the asynchronous form of
Real et al., AAAI 2019). A generational strategy that has proposed its whole generation returns [] until it is
told the rest; [] with nothing in flight means it has nothing more to propose.

Each strategy takes its own `Settings` (a small frozen dataclass that checks its fields and holds their defaults;
a request's flat form names them alike), as Optuna's samplers take their own arguments.
"""

from __future__ import annotations

import abc
import copy
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Optional, Sequence

from deap import base, tools

from diswot.errors import integer_field
from diswot.student_search.evaluation import Evaluation
from diswot.student_search.strategies.deap_setup import private_random

if TYPE_CHECKING:
    from search_spaces import SearchSpace

# The fitness of a candidate outside the budget (DEAP's DeltaPenalty): worse than any score.
INFEASIBLE_SCORE = float("-inf")
# How many times a child that repeats an evaluated architecture is mutated again before it is kept as it is.
DUPLICATE_RETRIES = 10


@dataclass(frozen=True)
class LimitedSettings:
    evaluations: int = 500  # distinct feasible candidates scored at most

    def __post_init__(self) -> None:
        integer_field("evaluations", self.evaluations, 1)


@dataclass(frozen=True)
class PopulationSettings(LimitedSettings):
    population: int = 100

    def __post_init__(self) -> None:
        super().__post_init__()
        integer_field("population", self.population, 2)


@dataclass(frozen=True)
class NoSettings:
    pass  # nothing to set: the space decides what is scored


class Strategy(abc.ABC):
    name: str
    summary: str
    Settings: ClassVar[type] = LimitedSettings
    # Walks the whole space: no evaluation limit, and every student is kept in the result.
    enumerates: ClassVar[bool] = False

    def __init__(self, space: "SearchSpace", settings: Any, rng: random.Random):
        self.space = space
        self.settings = settings
        self.rng = rng

    @property
    def evaluation_limit(self) -> Optional[int]:
        """How many distinct feasible candidates the runner scores at most (None: until `ask` returns [])."""
        return None if self.enumerates else self.settings.evaluations

    @abc.abstractmethod
    def ask(self, count: int) -> list[Any]:
        """Up to `count` architectures to evaluate next ([]: none until told more, or nothing more to propose)."""

    @abc.abstractmethod
    def tell(self, archs: Sequence[Any], evaluations: Sequence[Evaluation]) -> None: ...


def score_of(individual) -> tuple[float]:
    return (individual.evaluation.score,)


def is_feasible(individual) -> bool:
    return individual.evaluation.feasible


def variation_toolbox(space: "SearchSpace") -> base.Toolbox:
    """mate/mutate on one-architecture individuals through the space's own operators, for `algorithms.varAnd`.

    The operators draw from the global `random` module, which `private_random` points at the strategy's RNG.
    """
    toolbox = base.Toolbox()

    def mate(first, second):
        first[0], second[0] = space.crossover(first[0], second[0], random)
        return first, second

    def mutate(individual):
        individual[0] = space.mutate(individual[0], random)
        return (individual,)

    toolbox.register("mate", mate)
    toolbox.register("mutate", mutate)
    toolbox.register("clone", copy.deepcopy)
    return toolbox


def mutate_away_duplicates(offspring: list, evaluated: set[str], space: "SearchSpace") -> None:
    """Mutate each child to be asked for whose canonical architecture was already evaluated (or is already a
    sibling's) again, up to DUPLICATE_RETRIES times. Without this a converged population proposes only cells it
    has seen, which cost nothing but teach nothing, and the search stalls before its evaluation budget is spent
    (pymoo's `eliminate_duplicates` exists for the same reason). Call under `private_random`: it draws from
    the global `random`."""
    siblings: set[str] = set()
    for individual in offspring:
        if individual.fitness.valid:
            continue
        for _ in range(DUPLICATE_RETRIES):
            canonical = space.canonical(individual[0])
            if canonical not in evaluated and canonical not in siblings:
                break
            individual[0] = space.mutate(individual[0], random)
        siblings.add(space.canonical(individual[0]))


def assign_told_fitness(offspring: list, evaluations: Sequence[Evaluation], evaluate) -> None:
    """Give the first offspring still without a valid fitness (asked for, in that order) the told evaluations."""
    waiting = (individual for individual in offspring if not individual.fitness.valid)
    for individual, evaluation in zip(waiting, evaluations):
        individual.evaluation = evaluation
        individual.fitness.values = evaluate(individual)


def tournament_parents(population: list, count: int, tournament_size: int, rng: random.Random) -> list:
    with private_random(rng):
        return tools.selTournament(population, count, tournsize=tournament_size)
