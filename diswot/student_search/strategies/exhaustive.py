"""Exhaustive enumeration: every architecture of a small space, one per canonical form. It has no evaluation
limit (it ends when the space does) and the result keeps every student."""

from __future__ import annotations

import itertools
from diswot.student_search.strategies.base import NoSettings, Strategy


class Exhaustive(Strategy):
    name = "exhaustive"
    summary = "every candidate, one per canonical form (small spaces: S1 has 64, NB201 8,765)"
    Settings = NoSettings
    enumerates = True

    def __init__(self, space, settings, rng):
        super().__init__(space, settings, rng)
        self.remaining = iter(space.enumerate())

    def ask(self, count):
        return list(itertools.islice(self.remaining, count))

    def tell(self, archs, evaluations):
        pass
