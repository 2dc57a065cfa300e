"""NSGA-II over (score, cost): Deb et al., "A Fast and Elitist Multiobjective Genetic Algorithm: NSGA-II",
IEEE TEC 2002, with DEAP's `selNSGA2` and `selTournamentDCD`. The cost axis is `objective` (params or FLOPs).
Candidates outside the budget get DEAP's DeltaPenalty: dominated by every feasible one."""

from __future__ import annotations

import math
from dataclasses import dataclass

from deap import algorithms, base, tools

from diswot.student_search.strategies.base import is_feasible, mutate_away_duplicates, variation_toolbox
from diswot.student_search.strategies.deap_setup import ParetoIndividual, private_random
from diswot.student_search.strategies.generational import GenerationalStrategy
from diswot.student_search.strategies.genetic import GeneticSettings

INFEASIBLE_OBJECTIVES = (-1e30, 1e30)  # finite, so crowding distances stay defined


@dataclass(frozen=True)
class NSGA2Settings(GeneticSettings):
    objective: str = "params"  # the request's cost axis, params, flops or latency (checked with the request)


class NSGA2(GenerationalStrategy):
    name = "nsga2"
    summary = "NSGA-II: a Pareto front of score against params (or FLOPs, or latency)"
    Settings = NSGA2Settings

    def __init__(self, space, settings, rng):
        super().__init__(space, settings, rng)
        # selTournamentDCD takes the population four at a time.
        self.size = 4 * math.ceil(settings.population / 4)
        self.toolbox = variation_toolbox(space)
        self.fitness = base.Toolbox()
        self.fitness.register("evaluate", self.objectives)
        self.fitness.decorate("evaluate", tools.DeltaPenalty(is_feasible, INFEASIBLE_OBJECTIVES))

    def objectives(self, individual) -> tuple[float, float]:
        evaluation = individual.evaluation
        return evaluation.score, float(getattr(evaluation, self.settings.objective))

    def evaluate(self, individual):
        return self.fitness.evaluate(individual)

    def breed(self):
        if not self.population:
            return [ParetoIndividual([self.space.sample(self.rng)]) for _ in range(self.size)]
        with private_random(self.rng):
            parents = tools.selTournamentDCD(self.population, self.size)  # varAnd clones them
            offspring = algorithms.varAnd(parents, self.toolbox, self.settings.crossover_rate, self.settings.mutation_rate)
            mutate_away_duplicates(offspring, self.evaluated, self.space)
        return offspring

    def select(self):
        # selNSGA2 also assigns the crowding distances that the next selTournamentDCD reads.
        return tools.selNSGA2(self.population + self.offspring, self.size)
