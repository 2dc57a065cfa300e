"""The probe batch: one fixed, seeded batch of images and labels that every candidate of a search sees.

Sources: `synthetic` (seeded Gaussian images, the default: nothing to download), an `.npz` with
`x_train`/`y_train` (uint8 HWC or float CHW), a CIFAR-10/100 python-pickle folder (read by an unpickler that
refuses everything but numpy arrays), or an image folder with one subfolder per class (JPEG, PNG, ...). Every file
source is resized to `image_size` (antialiased bilinear) and normalised with CIFAR's or ImageNet's statistics
(see ProbeDataSpec); synthetic images are already standard normal at any size.
"""

from __future__ import annotations

import pickle
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from diswot.errors import DiswotError
from diswot.file_access import resolve_inside

# CIFAR-100 training-set channel statistics, the normalisation of the CIFAR KD literature (RepDistiller).
CIFAR_MEAN = (0.5071, 0.4865, 0.4409)
CIFAR_STD = (0.2673, 0.2564, 0.2762)
# ImageNet training-set channel statistics, the normalisation torchvision's and timm's ImageNet models were trained
# with (torchvision.transforms docs, "ImageNet normalization"; timm's IMAGENET_DEFAULT_MEAN/STD).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# Probes larger than CIFAR's 32 px are taken to be for ImageNet-trained networks.
CIFAR_RESOLUTION = 32
SOURCE_FORMS = "'synthetic', 'npz:PATH' (or PATH.npz), 'cifar:DIR' (python pickles) or 'folder:DIR' (one subfolder per class)"
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}
# What numpy raises on a file that is not a whole .npz: not a zip (truncated, garbage: BadZipFile), a member whose
# CRC fails (BadZipFile) or whose compressed stream breaks off (zlib.error, EOFError), pickled objects (ValueError).
NPZ_READ_ERRORS = (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error)


@dataclass(frozen=True)
class ProbeDataSpec:
    source: str = "synthetic"
    batch_size: int = 64
    image_size: int = 32
    seed: int = 0
    # None: the statistics of the data the teacher was most likely trained on: CIFAR-100's for CIFAR pickles and
    # probes of 32 px or less, ImageNet's for larger probes (`--image-size 224`).
    mean: tuple[float, float, float] | None = None
    std: tuple[float, float, float] | None = None
    split: str = "train"

    def __post_init__(self) -> None:
        imagenet = self.image_size > CIFAR_RESOLUTION and not self.source.startswith("cifar:")
        if self.mean is None:
            object.__setattr__(self, "mean", IMAGENET_MEAN if imagenet else CIFAR_MEAN)
        if self.std is None:
            object.__setattr__(self, "std", IMAGENET_STD if imagenet else CIFAR_STD)
        if self.batch_size < 2:
            raise DiswotError(f"batch size must be at least 2 (relations need pairs), got {self.batch_size}")
        if self.image_size < 8:
            raise DiswotError(f"image size must be at least 8 pixels, got {self.image_size}")
        if self.split not in ("train", "test"):
            raise DiswotError(f"split must be 'train' or 'test', got {self.split!r}")


@dataclass(frozen=True)
class ProbeBatch:
    images: torch.Tensor  # (B, 3, H, W) float32, normalised
    labels: torch.Tensor  # (B,) int64
    source: str

    @property
    def num_labels_needed(self) -> int:
        return int(self.labels.max()) + 1


def load_probe_batch(spec: ProbeDataSpec, num_classes: int, allowed_dir: str | Path | None = None) -> ProbeBatch:
    """The batch for `spec`, checked against the teacher's class count. With `allowed_dir`, every file read (the
    .npz, each CIFAR pickle, each image of a folder) must resolve to inside that directory."""
    kind, location = _split_source(spec.source)
    if kind == "synthetic":
        return _synthetic_batch(spec, num_classes)
    path = Path(location).expanduser()
    if not path.exists():
        raise DiswotError(f"probe data {str(path)!r} does not exist; data sources are {SOURCE_FORMS}")
    path = resolve_inside(path, allowed_dir, "probe data")
    if kind == "npz":
        images, labels = _read_npz(path, spec.split)
    elif kind == "cifar":
        images, labels = _read_cifar_pickles(path, spec.split, allowed_dir)
    else:
        images, labels = _read_image_folder(path, spec, allowed_dir)
    chosen = _choose(len(labels), spec)
    if labels.max() >= num_classes or labels.min() < 0:
        raise DiswotError(
            f"probe data {spec.source!r} has labels 0..{int(labels.max())} but the teacher has {num_classes} "
            f"classes; pass --num-classes {int(labels.max()) + 1} or data with labels in [0, {num_classes})"
        )
    if len(chosen) > 1 and (images[chosen] == images[chosen[:1]]).all():
        raise DiswotError(
            f"the {len(chosen)} probe images chosen from {spec.source!r} are all the same image: every student "
            "would look as if it ignored its input; use data with different images"
        )
    batch = torch.from_numpy(np.ascontiguousarray(images[chosen]))
    return ProbeBatch(_normalise(batch, spec), torch.from_numpy(labels[chosen].astype(np.int64)), spec.source)


def _split_source(source: str) -> tuple[str, str]:
    if source == "synthetic":
        return "synthetic", ""
    for kind in ("npz", "cifar", "folder"):
        if source.startswith(kind + ":"):
            return kind, source[len(kind) + 1 :]
    path = Path(source).expanduser()
    if path.suffix == ".npz":
        return "npz", source
    if path.is_dir():
        has_pickles = any((path / name).exists() for name in ("data_batch_1", "train"))
        return ("cifar" if has_pickles else "folder"), source
    if not path.exists():
        raise DiswotError(f"probe data {source!r} does not exist; data sources are {SOURCE_FORMS}")
    raise DiswotError(f"cannot tell what kind of probe data {source!r} is; data sources are {SOURCE_FORMS}")


def _synthetic_batch(spec: ProbeDataSpec, num_classes: int) -> ProbeBatch:
    generator = torch.Generator().manual_seed(spec.seed)
    images = torch.randn(spec.batch_size, 3, spec.image_size, spec.image_size, generator=generator)
    # Cycle through the classes so that a batch at least as large as K holds every class.
    labels = torch.arange(spec.batch_size) % num_classes
    labels = labels[torch.randperm(spec.batch_size, generator=generator)]
    return ProbeBatch(images, labels, "synthetic")


def _choose(pool_size: int, spec: ProbeDataSpec) -> np.ndarray:
    if pool_size < spec.batch_size:
        raise DiswotError(f"probe data {spec.source!r} has {pool_size} images, fewer than the batch size {spec.batch_size}")
    return np.sort(np.random.default_rng(spec.seed).choice(pool_size, spec.batch_size, replace=False))


def _normalise(batch: torch.Tensor, spec: ProbeDataSpec) -> torch.Tensor:
    """uint8 HWC or float CHW in, normalised float (B, 3, S, S) out."""
    return normalise_images(to_unit_range(batch, spec.image_size), spec.mean, spec.std)


def to_unit_range(batch: torch.Tensor, image_size: int) -> torch.Tensor:
    """uint8 HWC (0..255) or float CHW (already scaled) in, float (B, 3, S, S) out, resized to `image_size`."""
    if batch.dtype == torch.uint8:
        batch = batch.permute(0, 3, 1, 2).float() / 255.0
    batch = batch.float()
    if batch.shape[1] != 3:
        raise DiswotError(f"images must have 3 channels, got shape {tuple(batch.shape)}")
    if batch.shape[-1] != image_size or batch.shape[-2] != image_size:
        batch = F.interpolate(batch, size=(image_size, image_size), mode="bilinear", antialias=True, align_corners=False)
    return batch


def normalise_images(batch: torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...]) -> torch.Tensor:
    """(x - mean) / std per channel of a float (B, 3, H, W) batch."""
    mean_tensor = torch.tensor(mean, device=batch.device).view(1, 3, 1, 1)
    std_tensor = torch.tensor(std, device=batch.device).view(1, 3, 1, 1)
    return ((batch - mean_tensor) / std_tensor).contiguous()


def _read_npz(path: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as arrays:
            images, labels = arrays[f"x_{split}"], arrays[f"y_{split}"]
    except KeyError as missing:
        raise DiswotError(f"{path} must hold arrays 'x_{split}' and 'y_{split}' ({missing} is missing)") from None
    except NPZ_READ_ERRORS as error:
        raise DiswotError(f"{path} is not a readable .npz of plain arrays: {error}") from None
    if images.ndim != 4 or not (images.dtype == np.uint8 or np.issubdtype(images.dtype, np.floating)):
        raise DiswotError(
            f"{path}: x_{split} must be (N, H, W, 3) uint8 or (N, 3, H, W) float, got {images.dtype} {images.shape}"
        )
    if not np.issubdtype(labels.dtype, np.integer):
        raise DiswotError(f"{path}: y_{split} must hold integer class labels, got {labels.dtype}")
    labels = labels.reshape(-1)
    if len(labels) != len(images):
        raise DiswotError(f"{path}: x_{split} has {len(images)} images but y_{split} {len(labels)} labels")
    if len(labels) == 0:
        raise DiswotError(f"{path}: x_{split} holds no images")
    # A NaN or infinite pixel makes every network's outputs NaN: each candidate would score NaN, each epoch diverge.
    if images.dtype != np.uint8 and not np.isfinite(images).all():
        raise DiswotError(f"{path}: x_{split} holds NaN or infinite pixel values; images must be finite")
    return images, labels.astype(np.int64)


class _ArraysOnlyUnpickler(pickle.Unpickler):
    """Reads CIFAR's pickled dicts of numpy arrays and nothing else: no arbitrary object can be built."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}: CIFAR pickles hold only numpy arrays")
        return super().find_class(module, name)


def _read_cifar_pickles(folder: Path, split: str, allowed_dir: str | Path | None) -> tuple[np.ndarray, np.ndarray]:
    if (folder / "data_batch_1").exists():  # CIFAR-10
        files = [folder / f"data_batch_{i}" for i in range(1, 6)] if split == "train" else [folder / "test_batch"]
        label_key = b"labels"
    elif (folder / split).exists():  # CIFAR-100
        files, label_key = [folder / split], b"fine_labels"
    else:
        raise DiswotError(f"{folder} is not a CIFAR python folder (expected data_batch_1..5/test_batch or train/test)")
    images, labels = [], []
    for file in files:
        if not file.exists():
            raise DiswotError(f"CIFAR folder {folder} is missing {file.name}")
        file = resolve_inside(file, allowed_dir, "CIFAR file")
        try:
            with open(file, "rb") as handle:
                entry = _ArraysOnlyUnpickler(handle, encoding="bytes").load()
            data = np.asarray(entry[b"data"], dtype=np.uint8).reshape(-1, 3 * 32 * 32)
            entry_labels = np.asarray(entry[label_key], dtype=np.int64).reshape(-1)
            if len(entry_labels) != len(data):
                raise ValueError(f"{len(data)} images but {len(entry_labels)} labels")
        except (pickle.UnpicklingError, KeyError, TypeError, ValueError, EOFError) as error:
            raise DiswotError(f"{file} is not a CIFAR python pickle: {error}") from None
        images.append(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        labels.append(entry_labels)
    return np.concatenate(images), np.concatenate(labels)


def _read_image_folder(
    folder: Path, spec: ProbeDataSpec, allowed_dir: str | Path | None
) -> tuple[np.ndarray, np.ndarray]:
    paths, labels = _index_image_folder(folder, allowed_dir)
    chosen = _choose(len(paths), spec)
    # Only the chosen images are decoded; return them as the whole pool, in chosen order.
    images = _decode_images([paths[index] for index in chosen], spec.image_size, allowed_dir)
    return images, labels[chosen]


def _index_image_folder(folder: Path, allowed_dir: str | Path | None) -> tuple[list[Path], np.ndarray]:
    """Every image file of a class-per-subfolder tree and its label (the subfolder's sorted position)."""
    entries = sorted(folder.iterdir())
    classes = [resolve_inside(entry, allowed_dir, "class folder") for entry in entries if entry.is_dir()]
    if not classes:
        raise DiswotError(f"image folder {folder} has no class subfolders (expected {folder}/<class>/<image>)")
    paths, labels = [], []
    for label, class_dir in enumerate(classes):
        for file in sorted(class_dir.iterdir()):
            if file.suffix.lower() in IMAGE_SUFFIXES:
                paths.append(file)
                labels.append(label)
    return paths, np.asarray(labels, dtype=np.int64)


def _decode_images(paths: list[Path], image_size: int, allowed_dir: str | Path | None) -> np.ndarray:
    from PIL import Image

    images = []
    for path in paths:
        file = resolve_inside(path, allowed_dir, "image")
        try:
            with Image.open(file) as image:
                resized = _resized_centre(image.convert("RGB"), image_size)
        except (OSError, ValueError, Image.DecompressionBombError) as error:  # OSError: not an image, truncated
            raise DiswotError(f"image {path} cannot be decoded: {error}") from None
        images.append(np.asarray(resized, dtype=np.uint8))
    return np.stack(images)


def _resized_centre(image, image_size: int):
    """The shorter side scaled to `image_size` (bilinear, antialiased by PIL), the centre square cropped: the
    aspect ratio is kept, as in ImageNet's evaluation transform."""
    from PIL import Image

    width, height = image.size
    scale = image_size / min(width, height)
    new_width, new_height = max(image_size, round(width * scale)), max(image_size, round(height * scale))
    image = image.resize((new_width, new_height), Image.BILINEAR)
    left, top = (new_width - image_size) // 2, (new_height - image_size) // 2
    return image.crop((left, top, left + image_size, top + image_size))


def has_test_split(source: str) -> bool:
    """Whether a (non-synthetic) data source holds a test split beside its training split: an .npz with
    `x_test`, a CIFAR python folder (always); an image folder has one split only."""
    kind, location = _split_source(source)
    if kind == "npz":
        try:
            with np.load(Path(location).expanduser(), allow_pickle=False) as arrays:
                return "x_test" in arrays.files
        except NPZ_READ_ERRORS as error:
            raise DiswotError(f"{location} is not a readable .npz of plain arrays: {error}") from None
    return kind == "cifar"


def load_labelled_images(
    source: str, split: str, image_size: int, allowed_dir: str | Path | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Every image and label of one split of a file data source (for training, not probing): images as the
    source stores them, uint8 (N, H, W, 3) or float (N, 3, H, W), labels int64. An image folder is one split
    ('train'), decoded at `image_size`."""
    kind, location = _split_source(source)
    if kind == "synthetic":
        raise DiswotError(f"training needs real images, not 'synthetic'; data sources are {SOURCE_FORMS}")
    path = Path(location).expanduser()
    if not path.exists():
        raise DiswotError(f"data {str(path)!r} does not exist; data sources are {SOURCE_FORMS}")
    path = resolve_inside(path, allowed_dir, "data")
    if kind == "npz":
        return _read_npz(path, split)
    if kind == "cifar":
        return _read_cifar_pickles(path, split, allowed_dir)
    if split != "train":
        raise DiswotError(f"image folder {path} has no {split!r} split (an image folder is one training split)")
    paths, labels = _index_image_folder(path, allowed_dir)
    return _decode_images(paths, image_size, allowed_dir), labels
