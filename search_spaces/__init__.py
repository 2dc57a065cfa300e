"""Spaces of candidate students: NAS-Bench-201 cells, CIFAR ResNets, the named model zoo, ImageNet ResNets and
MobileNets.

The bottom layer: it imports nothing of `diswot`, so importing it alone registers every space.
"""

from search_spaces.base import SearchSpace
from search_spaces.cost import Cost
from search_spaces.network import ClassifierNetwork
from search_spaces.registry import Registry

SPACES: Registry[SearchSpace] = Registry("search space")


def get_space(name: str) -> SearchSpace:
    return SPACES.get(name)


def list_spaces() -> list[str]:
    return SPACES.names()


from search_spaces import nb201, resnet_cifar, zoo  # noqa: E402,F401  (registration)
from search_spaces import mobilenet, resnet_imagenet  # noqa: E402,F401  (registration, ImageNet spaces last)

__all__ = ["SPACES", "ClassifierNetwork", "Cost", "SearchSpace", "get_space", "list_spaces"]
