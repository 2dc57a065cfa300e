"""A (mu + lambda) genetic algorithm with tournament selection, the space's crossover and mutation, and
DEAP's DeltaPenalty for candidates outside the budget (they get a fitness worse than any score)."""

from __future__ import annotations

from dataclasses import dataclass

from deap import algorithms, base, tools

from diswot.errors import probability_field
from diswot.student_search.strategies.base import (
    INFEASIBLE_SCORE,
    PopulationSettings,
    is_feasible,
    mutate_away_duplicates,
    score_of,
    tournament_parents,
    variation_toolbox,
)
from diswot.student_search.strategies.deap_setup import Individual, private_random
from diswot.student_search.strategies.generational import GenerationalStrategy

TOURNAMENT_SIZE = 3


@dataclass(frozen=True)
class GeneticSettings(PopulationSettings):
    crossover_rate: float = 0.5
    mutation_rate: float = 1.0  # every child mutated: crossing two cells often rebuilds a parent

    def __post_init__(self) -> None:
        super().__post_init__()
        probability_field("crossover_rate", self.crossover_rate)
        probability_field("mutation_rate", self.mutation_rate)


class GeneticAlgorithm(GenerationalStrategy):
    name = "ga"
    summary = "(mu + lambda) GA: tournament selection, crossover, mutation, death penalty outside the budget"
    Settings = GeneticSettings

    def __init__(self, space, settings, rng):
        super().__init__(space, settings, rng)
        self.toolbox = variation_toolbox(space)
        self.fitness = base.Toolbox()
        self.fitness.register("evaluate", score_of)
        self.fitness.decorate("evaluate", tools.DeltaPenalty(is_feasible, INFEASIBLE_SCORE))

    def evaluate(self, individual):
        return self.fitness.evaluate(individual)

    def breed(self):
        if not self.population:
            return [Individual([self.space.sample(self.rng)]) for _ in range(self.settings.population)]
        parents = tournament_parents(self.population, len(self.population), TOURNAMENT_SIZE, self.rng)
        with private_random(self.rng):
            children = algorithms.varAnd(parents, self.toolbox, self.settings.crossover_rate, self.settings.mutation_rate)
            mutate_away_duplicates(children, self.evaluated, self.space)
        # an unchanged child keeps its parent's evaluation; only changed ones are asked for
        return children

    def select(self):
        return tools.selBest(self.population + self.offspring, self.settings.population)
