"""NSGA-II over (score, cost): Deb et al., "A Fast and Elitist Multiobjective Genetic Algorithm: NSGA-II",
IEEE TEC 2002, with DEAP's `selNSGA2` and `selTournamentDCD`. The cost axis is `objective` (params or FLOPs).
Candidates outside the budget get DEAP's DeltaPenalty: dominated by every feasible one."""

from __future__ import annotations

import math

from deap import algorithms, base, tools

from diswot.student_search.strategies.base import (
    Strategy,
    assign_told_fitness,
    is_feasible,
    mutate_away_duplicates,
    variation_toolbox,
)
from diswot.student_search.strategies.deap_setup import ParetoIndividual, private_random

INFEASIBLE_OBJECTIVES = (-1e30, 1e30)  # finite, so crowding distances stay defined


class NSGA2(Strategy):
    name = "nsga2"
    summary = "NSGA-II: a Pareto front of score against params (or FLOPs)"

    def __init__(self, space, config, rng):
        super().__init__(space, config, rng)
        # selTournamentDCD takes the population four at a time.
        self.size = 4 * math.ceil(config.population / 4)
        self.toolbox = variation_toolbox(space)
        self.fitness = base.Toolbox()
        self.fitness.register("evaluate", self.objectives)
        self.fitness.decorate("evaluate", tools.DeltaPenalty(is_feasible, INFEASIBLE_OBJECTIVES))
        self.population: list = []
        self.offspring: list = []
        self.evaluated: set[str] = set()

    def objectives(self, individual) -> tuple[float, float]:
        evaluation = individual.evaluation
        return evaluation.score, float(getattr(evaluation, self.config.objective))

    def ask(self):
        if not self.population:
            self.offspring = [ParetoIndividual([self.space.sample(self.rng)]) for _ in range(self.size)]
        else:
            with private_random(self.rng):
                parents = tools.selTournamentDCD(self.population, self.size)  # varAnd clones them
                self.offspring = algorithms.varAnd(parents, self.toolbox, self.config.crossover_rate, self.config.mutation_rate)
                mutate_away_duplicates(self.offspring, self.evaluated, self.space)
        return [individual[0] for individual in self.offspring if not individual.fitness.valid]

    def tell(self, archs, evaluations):
        self.evaluated.update(evaluation.canonical for evaluation in evaluations)
        assign_told_fitness(self.offspring, evaluations, self.fitness.evaluate)
        # selNSGA2 also assigns the crowding distances that the next selTournamentDCD reads.
        self.population = tools.selNSGA2(self.population + self.offspring, self.size)
