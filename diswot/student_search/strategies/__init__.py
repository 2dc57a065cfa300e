"""Search strategies by name."""

from diswot.student_search.strategies.aging import AgingEvolution
from diswot.student_search.strategies.base import Strategy
from diswot.student_search.strategies.exhaustive import Exhaustive
from diswot.student_search.strategies.genetic import GeneticAlgorithm
from diswot.student_search.strategies.nsga2 import NSGA2
from diswot.student_search.strategies.random_search import RandomSearch
from search_spaces.registry import Registry

STRATEGIES: Registry[type[Strategy]] = Registry("strategy")
for _strategy in (AgingEvolution, GeneticAlgorithm, NSGA2, RandomSearch, Exhaustive):
    STRATEGIES.add(_strategy.name, _strategy)


def get_strategy(name: str) -> type[Strategy]:
    return STRATEGIES.get(name)


__all__ = ["STRATEGIES", "Strategy", "get_strategy"]
