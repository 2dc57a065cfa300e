"""The search-space protocol: what a candidate student is, and the operators a search needs."""

from __future__ import annotations

import abc
import random
from typing import Generic, Iterator, TypeVar


from search_spaces.cost import Cost, cost_without_weights
from search_spaces.network import ClassifierNetwork

Arch = TypeVar("Arch")


class SearchSpace(abc.ABC, Generic[Arch]):
    """A discrete space of architectures with a canonical string form.

    `parse` accepts the user-facing string (and raises DiswotError naming what is valid), `format` writes it,
    `canonical` maps every architecture to the one string shared by all architectures that compute the same
    function, so scores can be cached and seeds derived from it.
    """

    name: str
    description: str
    # True where `cost` is computed without building the network (then it is cheaper than a forward pass).
    analytic_cost: bool = False

    @abc.abstractmethod
    def parse(self, text: str) -> Arch: ...

    @abc.abstractmethod
    def format(self, arch: Arch) -> str: ...

    def canonical(self, arch: Arch) -> str:
        return self.format(arch)

    @abc.abstractmethod
    def sample(self, rng: random.Random) -> Arch: ...

    @abc.abstractmethod
    def mutate(self, arch: Arch, rng: random.Random) -> Arch:
        """One random change; the result differs from `arch`."""

    @abc.abstractmethod
    def crossover(self, first: Arch, second: Arch, rng: random.Random) -> tuple[Arch, Arch]: ...

    @abc.abstractmethod
    def size(self) -> int:
        """The number of architectures (before merging equivalent ones)."""

    @abc.abstractmethod
    def enumerate(self) -> Iterator[Arch]:
        """Every architecture, one per canonical form (raise DiswotError where the space is too large)."""

    @abc.abstractmethod
    def build(self, arch: Arch, num_classes: int) -> ClassifierNetwork: ...

    @abc.abstractmethod
    def extreme_archs(self) -> tuple[Arch, Arch]:
        """The cheapest and the most expensive architecture (fewest and most params and FLOPs), so that a budget
        no candidate can meet is refused before a search starts."""

    def cost(self, arch: Arch, num_classes: int, image_size: int = 32) -> Cost:
        """Params and FLOPs, counted without drawing weights (so without touching any global random state)."""
        return cost_without_weights(lambda: self.build(arch, num_classes), image_size)
