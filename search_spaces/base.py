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
    # The probe resolution the space's networks are made for (CIFAR's 32 px; ImageNet spaces 224).
    default_image_size: int = 32

    @property
    def reference_points(self) -> dict[str, str]:
        """Named architectures of this space that equal published models: name -> canonical string."""
        return {}

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

    def cost(self, arch: Arch, num_classes: int, image_size: int | None = None) -> Cost:
        """Params and FLOPs (at `image_size`, default the space's own), counted without drawing weights (so
        without touching any global random state)."""
        size = self.default_image_size if image_size is None else image_size
        return cost_without_weights(lambda: self.build(arch, num_classes), size)
