"""Training data for distillation: a source's whole train split (and its test split, or a held-out validation
part of train when it has none), seeded batch order and the standard CIFAR augmentation.

Images stay as the source stores them (uint8 HWC: a quarter of float32's memory) and are converted per batch.
Every random draw (batch order, crops, flips) comes from one explicit generator, whose state a checkpoint
saves, so a resumed run sees the same batches as an uninterrupted one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from diswot.errors import DiswotError
from diswot.probe_data import has_test_split, load_labelled_images, normalise_images, to_unit_range
from diswot.seeding import derive_seed

CROP_PADDING = 4  # pixels of zero padding before the random crop (He et al. 2016's CIFAR augmentation)


@dataclass(frozen=True)
class LabelledImages:
    images: np.ndarray  # uint8 (N, H, W, 3) or float (N, 3, H, W), as the source stores them
    labels: np.ndarray  # int64 (N,)

    def __len__(self) -> int:
        return len(self.labels)

    def batch(self, indices: torch.Tensor, image_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Images in [0, 1], float (B, 3, S, S), and int64 labels, for `indices`."""
        chosen = indices.numpy()
        images = to_unit_range(torch.from_numpy(np.ascontiguousarray(self.images[chosen])), image_size)
        return images, torch.from_numpy(self.labels[chosen])


@dataclass(frozen=True)
class TrainingData:
    train: LabelledImages
    evaluation: LabelledImages
    evaluation_split: str  # "test", or "validation" (held out of train when the source has no test split)

    @property
    def classes(self) -> int:
        """The class count the labels show: the largest label + 1."""
        return int(max(self.train.labels.max(), self.evaluation.labels.max())) + 1

    def check_labels(self, num_classes: int, source: str) -> None:
        """Labels in [0, num_classes), and a student with no more classes than the data has: a 100-class
        classifier trained on 10 classes learns nothing about the other 90 and reads below chance."""
        low = int(min(self.train.labels.min(), self.evaluation.labels.min()))
        if low < 0 or self.classes > num_classes:
            raise DiswotError(f"data {source!r} has labels {low}..{self.classes - 1} but the student has "
                              f"{num_classes} classes")
        if self.classes < num_classes:
            raise DiswotError(
                f"data {source!r} has {self.classes} classes (labels 0..{self.classes - 1}) but the student has "
                f"{num_classes}: give num_classes {self.classes} (--num-classes) to rebuild its classifier for this "
                f"data, or train on data with {num_classes} classes")


def load_training_data(
    source: str, image_size: int, validation_fraction: float, seed: int, allowed_dir: str | Path | None = None
) -> TrainingData:
    train = LabelledImages(*load_labelled_images(source, "train", image_size, allowed_dir))
    if has_test_split(source):
        test = LabelledImages(*load_labelled_images(source, "test", image_size, allowed_dir))
        return TrainingData(train, test, "test")
    held_out = max(1, round(validation_fraction * len(train)))
    if len(train) - held_out < 2:
        raise DiswotError(f"data {source!r} has {len(train)} images: too few to hold out a validation split")
    order = np.random.default_rng(derive_seed(seed, "validation split")).permutation(len(train))
    kept, validation = np.sort(order[held_out:]), np.sort(order[:held_out])
    return TrainingData(
        LabelledImages(train.images[kept], train.labels[kept]),
        LabelledImages(train.images[validation], train.labels[validation]),
        "validation",
    )


def epoch_batches(size: int, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
    """A shuffled epoch in batches; a last batch of one image is dropped (BatchNorm cannot train on it)."""
    order = torch.randperm(size, generator=generator)
    batches = list(order.split(batch_size))
    if len(batches[-1]) < 2:
        batches.pop()
    return batches


def evaluation_batches(size: int, batch_size: int) -> Iterator[torch.Tensor]:
    return iter(torch.arange(size).split(batch_size))


def random_crop_flip(images: torch.Tensor, generator: torch.Generator, padding: int = CROP_PADDING) -> torch.Tensor:
    """Zero-pad each image by `padding`, crop it back to its size at a random offset, and mirror it
    horizontally with probability 1/2: torchvision's RandomCrop(size, padding) + RandomHorizontalFlip(),
    vectorised over the batch."""
    count, _, height, width = images.shape
    padded = F.pad(images, (padding, padding, padding, padding)).permute(0, 2, 3, 1)  # (B, H+2p, W+2p, C)
    top = torch.randint(0, 2 * padding + 1, (count,), generator=generator)
    left = torch.randint(0, 2 * padding + 1, (count,), generator=generator)
    flip = torch.rand(count, generator=generator) < 0.5
    rows = top[:, None] + torch.arange(height)
    columns = left[:, None] + torch.arange(width)
    columns = torch.where(flip[:, None], columns.flip(1), columns)
    cropped = padded[torch.arange(count)[:, None, None], rows[:, :, None], columns[:, None, :]]
    return cropped.permute(0, 3, 1, 2).contiguous()


def prepare(images: torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...], device: torch.device) -> torch.Tensor:
    """Normalised images on `device` in channels_last memory format (the trainer's networks use it)."""
    images = normalise_images(images.to(device, non_blocking=True), mean, std)
    return images.contiguous(memory_format=torch.channels_last)
