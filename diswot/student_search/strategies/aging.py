"""Aging (regularized) evolution, as DisWOT searches: Real et al., "Regularized Evolution for Image Classifier
Architecture Search", AAAI 2019.

A population of `population` candidates; each cycle samples `sample_size` of them, mutates the best of the
sample, adds the child and removes the oldest member.
"""

from __future__ import annotations

from collections import deque

from deap import tools

from diswot.student_search.strategies.base import INFEASIBLE_SCORE, Strategy, is_feasible, score_of
from diswot.student_search.strategies.deap_setup import Individual


class AgingEvolution(Strategy):
    name = "aging"
    summary = "regularized evolution: tournament of sample_size, mutate the winner, the oldest dies"

    def __init__(self, space, config, rng):
        super().__init__(space, config, rng)
        self.population: deque = deque()

    def ask(self):
        missing = self.config.population - len(self.population)
        if missing > 0:
            return [self.space.sample(self.rng) for _ in range(missing)]
        sample = self.rng.sample(list(self.population), self.config.sample_size)
        parent = tools.selBest(sample, 1)[0]
        return [self.space.mutate(parent[0], self.rng)]

    def tell(self, archs, evaluations):
        for arch, evaluation in zip(archs, evaluations):
            individual = Individual([arch])
            individual.evaluation = evaluation
            individual.fitness.values = score_of(individual) if is_feasible(individual) else (INFEASIBLE_SCORE,)
            self.population.append(individual)
            if len(self.population) > self.config.population:
                self.population.popleft()
