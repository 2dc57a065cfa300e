"""Exhaustive enumeration: every architecture of a small space, one per canonical form."""

from __future__ import annotations

import itertools

from diswot.student_search.strategies.base import Strategy

CHUNK = 16


class Exhaustive(Strategy):
    name = "exhaustive"
    summary = "every candidate, one per canonical form (small spaces: S1 has 64, NB201 8,765)"

    def __init__(self, space, config, rng):
        super().__init__(space, config, rng)
        self.remaining = iter(space.enumerate())

    @property
    def evaluation_limit(self):
        return None

    def ask(self):
        return list(itertools.islice(self.remaining, CHUNK))

    def tell(self, archs, evaluations):
        pass
