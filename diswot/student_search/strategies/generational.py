"""Generational strategies (GA, NSGA-II) under batched ask/tell: a generation's new children are handed out as
slots free up; the next generation is bred once every child of this one has been told."""

from __future__ import annotations

import abc
from collections import deque

from diswot.student_search.strategies.base import Strategy, assign_told_fitness


class GenerationalStrategy(Strategy):
    def __init__(self, space, settings, rng):
        super().__init__(space, settings, rng)
        self.population: list = []
        self.offspring: list = []
        self.to_ask: deque = deque()  # this generation's children not yet asked for
        self.untold = 0  # children asked for and not yet told
        self.evaluated: set[str] = set()

    @abc.abstractmethod
    def breed(self) -> list:
        """The next generation's offspring (the first one when the population is empty); a child with a valid
        fitness (unchanged from its parent) is not asked for."""

    @abc.abstractmethod
    def select(self) -> list:
        """The next population, from the population and the fully told offspring."""

    @abc.abstractmethod
    def evaluate(self, individual) -> tuple:
        """The fitness values of an individual from its told evaluation."""

    def ask(self, count):
        if not self.to_ask and self.untold == 0:
            self.offspring = self.breed()
            self.to_ask = deque(individual for individual in self.offspring if not individual.fitness.valid)
        asked = [self.to_ask.popleft()[0] for _ in range(min(count, len(self.to_ask)))]
        self.untold += len(asked)
        return asked

    def tell(self, archs, evaluations):
        self.evaluated.update(evaluation.canonical for evaluation in evaluations)
        # The children are told in the order they were asked for: the first ones without a fitness.
        assign_told_fitness(self.offspring, evaluations, self.evaluate)
        self.untold -= len(evaluations)
        if not self.to_ask and self.untold == 0:
            self.population = self.select()
