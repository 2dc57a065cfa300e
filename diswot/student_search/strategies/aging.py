"""Aging (regularized) evolution, as DisWOT searches: Real et al., "Regularized Evolution for Image Classifier
Architecture Search", AAAI 2019.

A population of `population` candidates; each cycle samples `sample_size` of them, mutates the best of the
sample, adds the child and removes the oldest member. A child that repeats an evaluated architecture is mutated
further (`mutate_away_duplicates`): a cached repeat costs nothing here, so once the best member's one-edge
neighbours are all known, plain mutation would only re-propose them and the search would stall.
"""

from __future__ import annotations

from collections import deque

from deap import tools

from diswot.student_search.strategies.base import (
    INFEASIBLE_SCORE,
    Strategy,
    is_feasible,
    mutate_away_duplicates,
    score_of,
)
from diswot.student_search.strategies.deap_setup import Individual, private_random


class AgingEvolution(Strategy):
    name = "aging"
    summary = "regularized evolution: tournament of sample_size, mutate the winner, the oldest dies"

    def __init__(self, space, config, rng):
        super().__init__(space, config, rng)
        self.population: deque = deque()
        self.evaluated: set[str] = set()

    def ask(self):
        missing = self.config.population - len(self.population)
        if missing > 0:
            return [self.space.sample(self.rng) for _ in range(missing)]
        sample = self.rng.sample(list(self.population), self.config.sample_size)
        parent = tools.selBest(sample, 1)[0]
        child = Individual([self.space.mutate(parent[0], self.rng)])
        with private_random(self.rng):
            mutate_away_duplicates([child], self.evaluated, self.space)
        return [child[0]]

    def tell(self, archs, evaluations):
        self.evaluated.update(evaluation.canonical for evaluation in evaluations)
        for arch, evaluation in zip(archs, evaluations):
            individual = Individual([arch])
            individual.evaluation = evaluation
            individual.fitness.values = score_of(individual) if is_feasible(individual) else (INFEASIBLE_SCORE,)
            self.population.append(individual)
            if len(self.population) > self.config.population:
                self.population.popleft()
