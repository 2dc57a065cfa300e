"""The named model zoo of the CIFAR KD literature (RepDistiller's conventions); any entry is a teacher or a student."""

from typing import Callable

from search_spaces.network import ClassifierNetwork
from search_spaces.registry import Registry

ModelFactory = Callable[[int], ClassifierNetwork]

ZOO: Registry[ModelFactory] = Registry("teacher")


def create_model(name: str, num_classes: int) -> ClassifierNetwork:
    return ZOO.get(name)(num_classes)


def list_models() -> list[str]:
    return ZOO.names()


from search_spaces.zoo import mobilenetv2, resnet, space, vgg, wrn  # noqa: E402,F401  (registration)
