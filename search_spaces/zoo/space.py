"""The zoo as a search space, so any named model can be scored, searched over or exported as a student."""

from __future__ import annotations

import random
from typing import Iterator

from search_spaces import SPACES, ClassifierNetwork, SearchSpace
from search_spaces.errors import DiswotError
from search_spaces.zoo import ZOO, create_model


class ZooSpace(SearchSpace[str]):
    name = "zoo"
    description = "the named models of the CIFAR KD literature (resnet8..110, wrn, vgg, mobilenetv2)"

    def parse(self, text: str) -> str:
        if text not in ZOO:
            raise DiswotError(ZOO.unknown_message(text))
        return text

    def format(self, arch: str) -> str:
        return arch

    def sample(self, rng: random.Random) -> str:
        return rng.choice(ZOO.names())

    def mutate(self, arch: str, rng: random.Random) -> str:
        return rng.choice([name for name in ZOO.names() if name != arch])

    def crossover(self, first: str, second: str, rng: random.Random) -> tuple[str, str]:
        return second, first

    def size(self) -> int:
        return len(ZOO.names())

    def enumerate(self) -> Iterator[str]:
        return iter(ZOO.names())

    def extreme_archs(self) -> tuple[str, str]:
        params = {name: self.cost(name, 10).params for name in ZOO.names()}
        return min(params, key=params.get), max(params, key=params.get)

    def build(self, arch: str, num_classes: int) -> ClassifierNetwork:
        return create_model(self.parse(arch), num_classes)


SPACES.add("zoo", ZooSpace())
