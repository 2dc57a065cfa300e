"""DEAP's fitness and individual types for diswot, and a way to give DEAP's operators a private RNG.

An individual is a one-element list holding an architecture object, with the `Evaluation` it was told as an
attribute. DEAP's selection and variation operators draw from the global `random` module; `private_random`
lends them the strategy's own RNG state for the duration of a call (under a lock), so concurrent searches
in one process stay independent and every search is reproducible from its seed.
"""

from __future__ import annotations

import contextlib
import random
import threading
from typing import Iterator

from deap import base, creator

if not hasattr(creator, "DiswotIndividual"):
    creator.create("DiswotFitness", base.Fitness, weights=(1.0,))
    creator.create("DiswotIndividual", list, fitness=creator.DiswotFitness, evaluation=None)
    # NSGA-II: maximise the score, minimise the cost (params or FLOPs).
    creator.create("DiswotParetoFitness", base.Fitness, weights=(1.0, -1.0))
    creator.create("DiswotParetoIndividual", list, fitness=creator.DiswotParetoFitness, evaluation=None)

Individual = creator.DiswotIndividual
ParetoIndividual = creator.DiswotParetoIndividual

_GLOBAL_RANDOM_LOCK = threading.Lock()


@contextlib.contextmanager
def private_random(rng: random.Random) -> Iterator[None]:
    """Run DEAP operators on `rng`'s state; `rng` advances exactly as if they had drawn from it."""
    with _GLOBAL_RANDOM_LOCK:
        saved = random.getstate()
        random.setstate(rng.getstate())
        try:
            yield
        finally:
            rng.setstate(random.getstate())
            random.setstate(saved)
