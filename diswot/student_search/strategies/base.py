"""The ask/tell strategy interface: a strategy proposes architectures and is told their evaluations.

A strategy never scores anything itself; the search runner scores, caches and stores (Optuna's ask/tell).
Everything a strategy decides follows from its RNG and what it was told, so a resumed run replays exactly.
"""

from __future__ import annotations

import abc
import copy
import random
from typing import TYPE_CHECKING, Any, Optional, Sequence

from deap import base, tools

from diswot.student_search.evaluation import Evaluation
from diswot.student_search.strategies.deap_setup import private_random

if TYPE_CHECKING:
    from diswot.student_search.config import SearchConfig
    from search_spaces import SearchSpace

# The fitness of a candidate outside the budget (DEAP's DeltaPenalty): worse than any score.
INFEASIBLE_SCORE = float("-inf")
# How many times a child that repeats an evaluated architecture is mutated again before it is kept as it is.
DUPLICATE_RETRIES = 10


class Strategy(abc.ABC):
    name: str
    summary: str

    def __init__(self, space: "SearchSpace", config: "SearchConfig", rng: random.Random):
        self.space = space
        self.config = config
        self.rng = rng

    @property
    def evaluation_limit(self) -> Optional[int]:
        """How many distinct feasible candidates the runner scores at most (None: until `ask` returns [])."""
        return self.config.evaluations

    @abc.abstractmethod
    def ask(self) -> list[Any]:
        """Architectures to evaluate next; an empty list when the strategy has nothing more to propose."""

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
    """Give the offspring that were asked for (those without a valid fitness) their told evaluations, in order."""
    told = iter(evaluations)
    for individual in offspring:
        if not individual.fitness.valid:
            individual.evaluation = next(told)
            individual.fitness.values = evaluate(individual)


def tournament_parents(population: list, count: int, tournament_size: int, rng: random.Random) -> list:
    with private_random(rng):
        return tools.selTournament(population, count, tournsize=tournament_size)
