"""Aging (regularized) evolution, as DisWOT searches: Real et al., "Regularized Evolution for Image Classifier
Architecture Search", AAAI 2019, in its asynchronous form: each free slot gets a child of the population as it
stands, while other candidates are still being scored.

A population of `population` candidates; each cycle samples `sample_size` of them, mutates the best of the
sample, adds the child and removes the oldest member. A child that repeats an architecture already asked for is
mutated further (`mutate_away_duplicates`): a cached repeat costs nothing here, so once the best member's
one-edge neighbours are all known, plain mutation would only re-propose them and the search would stall.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from deap import tools

from diswot.errors import FieldError, integer_field
from diswot.student_search.strategies.base import (
    INFEASIBLE_SCORE,
    PopulationSettings,
    Strategy,
    is_feasible,
    mutate_away_duplicates,
    score_of,
)
from diswot.student_search.strategies.deap_setup import Individual, private_random


@dataclass(frozen=True)
class AgingSettings(PopulationSettings):
    sample_size: int = 10

    def __post_init__(self) -> None:
        super().__post_init__()
        integer_field("sample_size", self.sample_size, 1)
        if self.sample_size > self.population:
            raise FieldError("sample_size", f"{self.sample_size} must not exceed population ({self.population})")


class AgingEvolution(Strategy):
    name = "aging"
    summary = "regularized evolution: tournament of sample_size, mutate the winner, the oldest dies"
    Settings = AgingSettings

    def __init__(self, space, settings, rng):
        super().__init__(space, settings, rng)
        self.population: deque = deque()
        self.proposed: set[str] = set()  # every architecture asked for, told or still in flight
        self.in_flight = 0

    def ask(self, count):
        archs = []
        while len(archs) < count:
            if self.settings.population - len(self.population) - self.in_flight - len(archs) > 0:
                arch = self.space.sample(self.rng)
            elif len(self.population) >= self.settings.sample_size:
                arch = self.child()
            else:
                break  # the first population is still in flight: too few members to sample a tournament from
            self.proposed.add(self.space.canonical(arch))
            archs.append(arch)
        self.in_flight += len(archs)
        return archs

    def child(self):
        sample = self.rng.sample(list(self.population), self.settings.sample_size)
        parent = tools.selBest(sample, 1)[0]
        child = Individual([self.space.mutate(parent[0], self.rng)])
        with private_random(self.rng):
            mutate_away_duplicates([child], self.proposed, self.space)
        return child[0]

    def tell(self, archs, evaluations):
        self.in_flight -= len(archs)
        for arch, evaluation in zip(archs, evaluations):
            individual = Individual([arch])
            individual.evaluation = evaluation
            individual.fitness.values = score_of(individual) if is_feasible(individual) else (INFEASIBLE_SCORE,)
            self.population.append(individual)
            if len(self.population) > self.settings.population:
                self.population.popleft()
