"""ImageNet teachers by name (`imagenet:NAME`): torchvision's CNNs and a timm ViT, with their checkpoints' keys.

The CNNs are the reference points of the `resnet_imagenet` and `mobilenet` spaces (one definition of each network);
MobileNetV3-Large, not a point of `mobilenet`, is built from the same blocks. Each network's
`checkpoint_key_renames` maps the classifier's key in torchvision's (timm's) checkpoints to ours.
"""

from __future__ import annotations

from search_spaces.mobilenet import MOBILENET, mobilenet_v3_large
from search_spaces.registry import Registry
from search_spaces.resnet_imagenet import RESNET_IMAGENET
from search_spaces.vit import deit_tiny
from search_spaces.zoo import ModelFactory

IMAGENET_MODELS: Registry[ModelFactory] = Registry("ImageNet teacher")


def _reference_point(space, name: str) -> ModelFactory:
    return lambda num_classes: space.build(space.parse(name), num_classes)


for _name in ("resnet18", "resnet34", "resnet50"):
    IMAGENET_MODELS.add(_name, _reference_point(RESNET_IMAGENET, _name))
IMAGENET_MODELS.add("mobilenet_v2", _reference_point(MOBILENET, "mobilenet_v2"))
IMAGENET_MODELS.add("mobilenet_v3_large", mobilenet_v3_large)
IMAGENET_MODELS.add("deit_tiny", deit_tiny)
IMAGENET_MODELS.add("vit_tiny", deit_tiny)
