"""What a proxy reads about one candidate: its network, outputs and cost, each built at most once."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any, Callable, TypeVar

import torch
from torch import nn

from diswot.errors import DiswotError
from diswot.initialisation import build_initialised
from diswot.network_outputs import NetworkOutputs, batch_statistics_norm, forward_outputs
from diswot.seeding import network_key
from search_spaces import Cost, SearchSpace
from search_spaces.cost import measure_cost

if TYPE_CHECKING:
    from diswot.scorer import Scorer

T = TypeVar("T")


class TeacherState:
    """The teacher's outputs on the probe batch, computed once, and anything derived from them (cached by key)."""

    def __init__(self, model: nn.Module, images: torch.Tensor, trained: bool):
        self.model = model
        self.images = images
        self.trained = trained
        self._derived: dict[Any, Any] = {}

    @cached_property
    def outputs(self) -> NetworkOutputs:
        with torch.inference_mode():
            if self.trained:
                return forward_outputs(self.model, self.images)
            with batch_statistics_norm(self.model):
                return forward_outputs(self.model, self.images)

    def derived(self, key: Any, compute: Callable[[NetworkOutputs], T]) -> T:
        if key not in self._derived:
            with torch.inference_mode():
                self._derived[key] = compute(self.outputs)
        return self._derived[key]


class CandidateContext:
    """One candidate student as the proxies see it. The network is built from the canonical architecture with
    a seed derived from (search seed, canonical architecture, init index), so its score does not depend on order
    or worker."""

    def __init__(self, scorer: "Scorer", space: SearchSpace, arch: Any, canonical: str, init_index: int = 0):
        self.scorer = scorer
        self.space = space
        self.arch = arch
        self.canonical = canonical
        self.init_index = init_index
        self._shared: dict[str, Any] = {}

    def shared(self, key: str, compute: Callable[[], T]) -> T:
        """A result several proxies read (one pass of AZ-NAS's, one Fisher of VKDNW's), computed once for this
        candidate and gone with it."""
        if key not in self._shared:
            self._shared[key] = compute()
        return self._shared[key]

    @property
    def network_key(self) -> str:
        return network_key(self.space.name, self.canonical, self.init_index)

    def another_init(self, init_index: int) -> "CandidateContext":
        """The same candidate with its `init_index`-th random init (0 is this one's)."""
        return CandidateContext(self.scorer, self.space, self.arch, self.canonical, init_index)

    @property
    def images(self) -> torch.Tensor:
        return self.scorer.images

    @property
    def labels(self) -> torch.Tensor:
        return self.scorer.labels

    @property
    def teacher(self) -> TeacherState:
        if self.scorer.teacher is None:
            raise DiswotError("this proxy compares the student with a teacher, but no teacher was given")
        return self.scorer.teacher

    def build_network(self) -> nn.Module:
        """A fresh copy of the candidate's initialised network (for proxies that train or perturb it)."""
        model = build_initialised(
            self.space, self.canonical, self.scorer.num_classes, seed=self.scorer.seed, scheme=self.scorer.init,
            init_index=self.init_index, shared=self.scorer.shared_init,
        )
        # Only the probe batch is channels_last: oneDNN then runs every convolution in that layout, and
        # converting the (small) weights of each new network would cost more than it saves.
        return model.to(self.scorer.device)

    @cached_property
    def network(self) -> nn.Module:
        return self.build_network()

    def take_network(self) -> nn.Module:
        """The candidate's network for a proxy that changes it (SynFlow linearises it in place): the one already
        built, handed over when its outputs are known (nothing else reads it as it was), which saves building the
        same network twice; otherwise a fresh build. A later reader of `network` gets a fresh build."""
        if "network" in self.__dict__ and "outputs" in self.__dict__:
            return self.__dict__.pop("network")
        return self.build_network()

    @cached_property
    def outputs(self) -> NetworkOutputs:
        network = self.network  # built outside inference mode: its weights stay ordinary tensors (`take_network`)
        with torch.inference_mode(), batch_statistics_norm(network):
            return forward_outputs(network, self.images)

    @cached_property
    def cost(self) -> Cost:
        return self.scorer.cost_of(self)

    def measure_cost(self) -> Cost:
        """Params and FLOPs at the resolution the space's networks are made for (what a student is deployed at,
        224 px for the ImageNet spaces), whatever the probe's: a FLOP budget means the same at any probe size."""
        size = self.space.default_image_size
        if self.space.analytic_cost:
            return self.space.cost(self.space.parse(self.canonical), self.scorer.num_classes, size)
        return measure_cost(self.network, size)
