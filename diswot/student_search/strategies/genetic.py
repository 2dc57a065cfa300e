"""A (mu + lambda) genetic algorithm with tournament selection, the space's crossover and mutation, and
DEAP's DeltaPenalty for candidates outside the budget (they get a fitness worse than any score)."""

from __future__ import annotations

from deap import algorithms, base, tools

from diswot.student_search.strategies.base import (
    INFEASIBLE_SCORE,
    Strategy,
    assign_told_fitness,
    is_feasible,
    mutate_away_duplicates,
    score_of,
    tournament_parents,
    variation_toolbox,
)
from diswot.student_search.strategies.deap_setup import Individual, private_random

TOURNAMENT_SIZE = 3


class GeneticAlgorithm(Strategy):
    name = "ga"
    summary = "(mu + lambda) GA: tournament selection, crossover, mutation, death penalty outside the budget"

    def __init__(self, space, config, rng):
        super().__init__(space, config, rng)
        self.toolbox = variation_toolbox(space)
        self.fitness = base.Toolbox()
        self.fitness.register("evaluate", score_of)
        self.fitness.decorate("evaluate", tools.DeltaPenalty(is_feasible, INFEASIBLE_SCORE))
        self.population: list = []
        self.offspring: list = []
        self.evaluated: set[str] = set()

    def ask(self):
        if not self.population:
            self.offspring = [Individual([self.space.sample(self.rng)]) for _ in range(self.config.population)]
        else:
            parents = tournament_parents(self.population, len(self.population), TOURNAMENT_SIZE, self.rng)
            with private_random(self.rng):
                children = algorithms.varAnd(parents, self.toolbox, self.config.crossover_rate, self.config.mutation_rate)
                mutate_away_duplicates(children, self.evaluated, self.space)
            # an unchanged child keeps its parent's evaluation; only changed ones are asked for
            self.offspring = children
        return [individual[0] for individual in self.offspring if not individual.fitness.valid]

    def tell(self, archs, evaluations):
        self.evaluated.update(evaluation.canonical for evaluation in evaluations)
        assign_told_fitness(self.offspring, evaluations, self.fitness.evaluate)
        self.population = tools.selBest(self.population + self.offspring, self.config.population)
