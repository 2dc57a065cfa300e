"""Teachers by spec: a zoo name, a search-space architecture, a TorchScript file, optionally trained weights.

Spec forms:
  `resnet56`                         a zoo model (see `diswot teachers`)
  `imagenet:resnet50`                an ImageNet model: resnet18/34/50, mobilenet_v2, mobilenet_v3_large
                                     (torchvision's), deit_tiny = vit_tiny (timm's); their checkpoints load
  `nb201:|nor_conv_3x3~0|+...|`       any search space's architecture, `SPACE:ARCH`
  `path/to/model.ts` / `.pt` / `.pth`  a TorchScript file (it must export `forward_features` and a `classifier`)
A checkpoint (`torch.load(weights_only=True)`: a state dict, or a dict holding one under `model`/`state_dict`)
loads trained weights into a zoo, space or ImageNet teacher; a network may rename a checkpoint's keys on the way
(`checkpoint_key_renames`: torchvision's `fc.` is our `classifier.`). A teacher with trained weights is scored in eval mode;
a randomly initialised one with batch statistics, never changing its buffers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from diswot.errors import DiswotError
from diswot.file_access import resolve_inside
from diswot.initialisation import apply_init
from diswot.seeding import derive_seed, seeded_torch
from search_spaces import SPACES, get_space
from search_spaces.imagenet_models import IMAGENET_MODELS
from search_spaces.zoo import ZOO, create_model

TORCHSCRIPT_SUFFIXES = (".ts", ".pt", ".pth", ".jit")
IMAGENET_PREFIX = "imagenet"
SPEC_FORMS = (
    "a zoo name (see `diswot teachers`), 'imagenet:NAME' (e.g. 'imagenet:resnet50'), 'SPACE:ARCH' "
    "(e.g. 'resnet_cifar:3x16-3x32-3x64') or a TorchScript file path"
)


@dataclass
class Teacher:
    model: nn.Module
    spec: str
    num_classes: int
    trained: bool  # weights came from a file: score in eval mode


def check_network_spec(spec: str) -> None:
    """Raise DiswotError unless `spec` is a zoo name or a valid `SPACE:ARCH`; builds nothing."""
    if spec in ZOO:
        return
    space_name, sep, arch_text = spec.partition(":")
    if sep and space_name == IMAGENET_PREFIX:
        IMAGENET_MODELS.get(arch_text)
        return
    if sep and space_name in SPACES:
        get_space(space_name).parse(arch_text)
        return
    raise DiswotError(ZOO.unknown_message(spec) + f" (a teacher is {SPEC_FORMS})")


def build_network(spec: str, num_classes: int) -> nn.Module:
    """A freshly initialised network (drawing from torch's global RNG) for a zoo name or `SPACE:ARCH` spec."""
    if num_classes < 2:
        raise DiswotError(f"num_classes must be at least 2, got {num_classes}")
    check_network_spec(spec)
    if spec in ZOO:
        return create_model(spec, num_classes)
    space_name, _, arch_text = spec.partition(":")
    if space_name == IMAGENET_PREFIX:
        return IMAGENET_MODELS.get(arch_text)(num_classes)
    space = get_space(space_name)
    return space.build(space.parse(arch_text), num_classes)


def load_teacher(
    spec: str,
    num_classes: int,
    *,
    checkpoint: str | Path | None = None,
    seed: int = 0,
    init: str = "default",
    allowed_dir: str | Path | None = None,
    image_size: int = 32,
) -> Teacher:
    """The teacher for `spec`; with `allowed_dir`, files are accepted only from inside that directory.


    A randomly initialised teacher gets the students' init scheme (`init`): DisWOT compares teacher and student
    at the same kind of init. With the paper's N(0, 1) weights on the students only, their logits are tens of
    times larger than a PyTorch-default teacher's, and "similar to the teacher" would mean "least saturated".
    A TorchScript file is run once on `image_size` images (the probe's) to check that it can be scored."""
    if Path(spec).suffix in TORCHSCRIPT_SUFFIXES:
        if checkpoint is not None:
            raise DiswotError("a TorchScript teacher carries its own weights; drop the checkpoint")
        return _load_torchscript(
            _checked_file(spec, allowed_dir, "TorchScript teacher"), spec, num_classes, image_size
        )
    with seeded_torch(derive_seed(seed, "teacher:" + spec)):
        model = build_network(spec, num_classes)
        if checkpoint is None:
            apply_init(model, init)
    if checkpoint is not None:
        _load_checkpoint(model, _checked_file(checkpoint, allowed_dir, "checkpoint"))
        model.eval()
    return Teacher(model, spec, num_classes, trained=checkpoint is not None)


def _checked_file(path: str | Path, allowed_dir: str | Path | None, what: str) -> Path:
    resolved = resolve_inside(path, allowed_dir, what)
    if not resolved.is_file():
        raise DiswotError(f"{what} file {str(path)!r} does not exist")
    return resolved


def _load_torchscript(path: Path, spec: str, num_classes: int, image_size: int) -> Teacher:
    try:
        model = torch.jit.load(str(path), map_location="cpu")
    except RuntimeError as error:
        raise DiswotError(f"{path} is not a TorchScript file: {str(error).splitlines()[0]}") from None
    if not hasattr(model, "forward_features") or not hasattr(model, "classifier"):
        raise DiswotError(
            f"TorchScript teacher {path} must export forward_features(x) -> (B, C, H, W) and have a 'classifier' "
            "Linear (networks exported by `diswot export` do)"
        )
    model.eval()
    _check_scorable(model, path, num_classes, image_size)
    return Teacher(model, spec, num_classes, trained=True)


@torch.inference_mode()
def _check_scorable(model: nn.Module, path: Path, num_classes: int, image_size: int) -> None:
    """Run a foreign network once on two seeded images and check what the scorer will read: a 4-D feature map
    and a classifier that is one Linear layer (DisWOT's semantic term is the gradient of that layer's weight)."""
    weight = getattr(model.classifier, "weight", None)
    bias = getattr(model.classifier, "bias", None)
    if not isinstance(weight, torch.Tensor) or weight.dim() != 2:
        raise DiswotError(f"TorchScript teacher {path}: 'classifier' must be one Linear layer (a 2-D weight)")
    out_features, in_features = weight.shape
    if out_features != num_classes:
        raise DiswotError(f"TorchScript teacher {path} has {out_features} classes but {num_classes} were asked for")
    images = torch.randn(2, 3, image_size, image_size, generator=torch.Generator().manual_seed(0))
    try:
        if hasattr(model, "forward_pooled"):
            features, pooled = model.forward_pooled(images)
        else:
            features = model.forward_features(images)
            pooled = features.float().mean(dim=(2, 3)) if isinstance(features, torch.Tensor) and features.dim() == 4 \
                else None
        if not isinstance(features, torch.Tensor) or features.dim() != 4:
            shape = tuple(features.shape) if isinstance(features, torch.Tensor) else type(features).__name__
            raise DiswotError(
                f"TorchScript teacher {path}: forward_features must return a 4-D (B, C, H, W) map, got {shape}"
            )
        if pooled.shape[1] != in_features:
            raise DiswotError(
                f"TorchScript teacher {path}: its pooled features have {pooled.shape[1]} channels but "
                f"'classifier' takes {in_features} features"
            )
        pooled = pooled.float()
        logits = model.classifier(pooled)
    except RuntimeError as error:  # the network's own code failed on the images
        raise DiswotError(
            f"TorchScript teacher {path} fails on {image_size}x{image_size} images: {str(error).splitlines()[0]}"
        ) from None
    not_linear = DiswotError(
        f"TorchScript teacher {path}: 'classifier' must be one Linear layer (logits = weight @ pooled + bias)")
    if not isinstance(logits, torch.Tensor):
        raise not_linear
    # Also on vectors of both signs around the pooled ones: a classifier that is linear only where the two probe
    # images happen to land (a ReLU over logits that are all positive there) is not one Linear layer.
    spread = torch.randn(16, in_features, generator=torch.Generator().manual_seed(1)) * pooled.abs().mean().clamp(min=1)
    inputs = torch.cat([pooled, pooled.mean(dim=0, keepdim=True) + spread])
    try:
        logits = torch.cat([logits.float(), model.classifier(inputs[len(pooled):]).float()])
    except RuntimeError:
        raise not_linear from None
    linear = torch.nn.functional.linear(inputs, weight.float(), None if bias is None else bias.float())
    if not torch.allclose(logits, linear, rtol=1e-4, atol=1e-5):
        raise not_linear


def _load_checkpoint(model: nn.Module, path: Path) -> None:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for foreign or unsafe files
        raise DiswotError(f"cannot read checkpoint {path} as plain weights: {str(error).splitlines()[0]}") from None
    for key in ("model", "state_dict"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict):
        raise DiswotError(f"checkpoint {path} holds no state dict")
    renames = getattr(model, "checkpoint_key_renames", {})
    state = {_renamed(key, renames): value for key, value in state.items()}
    problem = _state_mismatch(model, state)
    if problem:
        raise DiswotError(f"checkpoint {path} does not fit the teacher: {problem}")
    model.load_state_dict(state)


def _renamed(key: str, renames: dict[str, str]) -> str:
    for old, new in renames.items():
        if key.startswith(old):
            return new + key[len(old):]
    return key


def _state_mismatch(model: nn.Module, state: dict) -> str:
    """What keeps `state` from loading into `model`, in one line (empty when it fits): missing and unexpected keys
    (the first few of each) and shape mismatches."""
    expected = model.state_dict()
    missing = [key for key in expected if key not in state]
    unexpected = [key for key in state if key not in expected]
    shapes = [
        f"{key} is {tuple(state[key].shape)} in the checkpoint but {tuple(value.shape)} in the teacher"
        for key, value in expected.items()
        if key in state and isinstance(state[key], torch.Tensor) and state[key].shape != value.shape
    ]
    parts = []
    for what, keys in (("missing keys", missing), ("unexpected keys", unexpected), ("shape mismatches", shapes)):
        if keys:
            shown = ", ".join(keys[:3]) + (f" and {len(keys) - 3} more" if len(keys) > 3 else "")
            parts.append(f"{len(keys)} {what}: {shown}")
    if any(key.startswith("classifier.") for key in missing + [s.split()[0] for s in shapes]):
        parts.append("(is --num-classes the checkpoint's class count, e.g. 1000 for ImageNet?)")
    return "; ".join(parts)
