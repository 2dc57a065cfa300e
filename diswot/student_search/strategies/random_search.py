"""Random search: uniform samples of the space (Li & Talwalkar, "Random Search and Reproducibility for NAS",
UAI 2019: the baseline every search strategy must beat)."""

from __future__ import annotations

from diswot.student_search.strategies.base import Strategy


class RandomSearch(Strategy):
    name = "random"
    summary = "uniform random samples"

    def ask(self, count):
        return [self.space.sample(self.rng) for _ in range(count)]

    def tell(self, archs, evaluations):
        pass  # random search learns nothing from scores
