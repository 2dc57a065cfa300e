"""Probe data sources: synthetic, .npz, CIFAR python pickles (safely), image folders."""

import os
import pickle

import numpy as np
import pytest
import torch

from diswot import DiswotError, ProbeDataSpec, load_probe_batch
from diswot.probe_data import CIFAR_MEAN, CIFAR_STD, IMAGENET_MEAN, IMAGENET_STD


def test_synthetic_batch_is_seeded_and_covers_classes():
    first = load_probe_batch(ProbeDataSpec(batch_size=20, seed=3), 10)
    again = load_probe_batch(ProbeDataSpec(batch_size=20, seed=3), 10)
    other = load_probe_batch(ProbeDataSpec(batch_size=20, seed=4), 10)
    assert torch.equal(first.images, again.images) and not torch.equal(first.images, other.images)
    assert first.images.shape == (20, 3, 32, 32)
    assert sorted(first.labels.bincount().tolist()) == [2] * 10


def write_npz(path, count=40, classes=5):
    rng = np.random.default_rng(0)
    np.savez(path, x_train=rng.integers(0, 256, (count, 32, 32, 3), dtype=np.uint8), y_train=np.arange(count) % classes)


def test_npz_batch_normalised_with_given_statistics(tmp_path):
    write_npz(tmp_path / "d.npz")
    batch = load_probe_batch(ProbeDataSpec(source=str(tmp_path / "d.npz"), batch_size=8, image_size=16), 5)
    assert batch.images.shape == (8, 3, 16, 16)
    raw = np.load(tmp_path / "d.npz")["x_train"]
    chosen = np.sort(np.random.default_rng(0).choice(40, 8, replace=False))
    expected_mean = (raw[chosen].reshape(-1, 3).mean(0) / 255 - np.array(CIFAR_MEAN)) / np.array(CIFAR_STD)
    np.testing.assert_allclose(batch.images.mean(dim=(0, 2, 3)).numpy(), expected_mean, atol=2e-2)


def test_label_range_must_fit_the_teacher(tmp_path):
    write_npz(tmp_path / "d.npz", classes=20)
    with pytest.raises(DiswotError, match="labels 0..19 but the teacher has 10 classes"):
        load_probe_batch(ProbeDataSpec(source=str(tmp_path / "d.npz"), batch_size=8), 10)


def test_a_batch_of_one_repeated_image_is_refused(tmp_path):
    np.savez(tmp_path / "d.npz", x_train=np.full((12, 32, 32, 3), 7, dtype=np.uint8), y_train=np.arange(12) % 3)
    with pytest.raises(DiswotError, match="all the same image"):
        load_probe_batch(ProbeDataSpec(source=str(tmp_path / "d.npz"), batch_size=8), 3)


def test_missing_file_and_unknown_source_explained(tmp_path):
    with pytest.raises(DiswotError, match="does not exist; data sources are"):
        load_probe_batch(ProbeDataSpec(source=str(tmp_path / "nope.npz")), 10)
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(DiswotError, match="cannot tell"):
        load_probe_batch(ProbeDataSpec(source=str(tmp_path / "file.txt")), 10)


def test_cifar100_pickle_folder(tmp_path):
    data = np.random.default_rng(1).integers(0, 256, (30, 3072), dtype=np.uint8)
    with open(tmp_path / "train", "wb") as handle:
        pickle.dump({b"data": data, b"fine_labels": list(range(30))}, handle)
    batch = load_probe_batch(ProbeDataSpec(source=f"cifar:{tmp_path}", batch_size=10, mean=(0, 0, 0), std=(1, 1, 1)), 100)
    chosen = np.sort(np.random.default_rng(0).choice(30, 10, replace=False))
    assert batch.labels.tolist() == chosen.tolist()
    # CIFAR rows are channel-major 3x32x32: pixel (c=1, y=2, x=3) of image i is data[i, 1024 + 2*32 + 3].
    assert batch.images[0, 1, 2, 3].item() == pytest.approx(data[chosen[0], 1024 + 67] / 255, abs=1e-6)


class Exploit:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_cifar_pickle_with_code_is_refused(tmp_path):
    with open(tmp_path / "train", "wb") as handle:
        pickle.dump({b"data": Exploit(), b"fine_labels": [0]}, handle)
    with pytest.raises(DiswotError, match="refusing to load posix.system|refusing to load os.system"):
        load_probe_batch(ProbeDataSpec(source=f"cifar:{tmp_path}", batch_size=2), 10)


def test_image_folder(tmp_path):
    from PIL import Image

    for label, name in enumerate(["cat", "dog"]):
        (tmp_path / name).mkdir()
        for i in range(3):
            Image.new("RGB", (40, 40), (label * 255, 0, 0)).save(tmp_path / name / f"{i}.png")
    batch = load_probe_batch(ProbeDataSpec(source=str(tmp_path), batch_size=4, mean=(0, 0, 0), std=(1, 1, 1)), 2)
    assert batch.images.shape == (4, 3, 32, 32)
    # red channel is 1 exactly for the "dog" images (label 1)
    assert torch.equal(batch.images[:, 0].mean(dim=(1, 2)).round(), batch.labels.float())


def test_normalisation_follows_the_resolution_unless_the_data_is_cifar():
    assert ProbeDataSpec(image_size=32).mean == CIFAR_MEAN and ProbeDataSpec(image_size=32).std == CIFAR_STD
    assert ProbeDataSpec(image_size=224).mean == IMAGENET_MEAN and ProbeDataSpec(image_size=224).std == IMAGENET_STD
    assert ProbeDataSpec(source="cifar:/data", image_size=224).mean == CIFAR_MEAN
    assert ProbeDataSpec(image_size=224, mean=(0, 0, 0)).mean == (0, 0, 0)


def test_a_folder_of_jpeg_and_png_photos_makes_a_224_px_imagenet_normalised_batch(tmp_path):
    from PIL import Image

    colours = {"cat": (200, 100, 50), "dog": (20, 220, 120)}
    for name, colour in colours.items():
        (tmp_path / name).mkdir()
        # landscape and portrait photos, neither 224 px: each is resized and centre-cropped, not stretched
        Image.new("RGB", (300, 180), colour).save(tmp_path / name / "wide.jpg", quality=100)
        Image.new("RGB", (120, 260), colour).save(tmp_path / name / "tall.png")
    batch = load_probe_batch(ProbeDataSpec(source=f"folder:{tmp_path}", batch_size=4, image_size=224), 2)
    assert batch.images.shape == (4, 3, 224, 224)
    for image, label in zip(batch.images, batch.labels):
        colour = np.array(list(colours.values())[int(label)]) / 255
        expected = (colour - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD)
        np.testing.assert_allclose(image.mean(dim=(1, 2)).numpy(), expected, atol=0.03)  # JPEG's rounding


def test_a_cifar_sized_npz_is_resized_to_224(tmp_path):
    write_npz(tmp_path / "d.npz")
    batch = load_probe_batch(ProbeDataSpec(source=str(tmp_path / "d.npz"), batch_size=4, image_size=224), 5)
    assert batch.images.shape == (4, 3, 224, 224)
    raw = np.load(tmp_path / "d.npz")["x_train"]
    chosen = np.sort(np.random.default_rng(0).choice(40, 4, replace=False))
    expected_mean = (raw[chosen].reshape(-1, 3).mean(0) / 255 - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD)
    np.testing.assert_allclose(batch.images.mean(dim=(0, 2, 3)).numpy(), expected_mean, atol=2e-2)


def test_real_cifar_samples(shared_data):
    batch = load_probe_batch(ProbeDataSpec(source=str(shared_data / "cifar100_sample.npz"), batch_size=64), 100)
    assert batch.images.shape == (64, 3, 32, 32)
    # normalised with the CIFAR-100 statistics, real images have mean near 0 and std near 1
    assert abs(batch.images.mean().item()) < 0.2 and 0.8 < batch.images.std().item() < 1.2


def test_probe_data_that_cannot_make_a_batch_is_refused_saying_why(tmp_path, write_broken_probe_data):
    for source, message in write_broken_probe_data(tmp_path).items():
        kind, _, name = source.partition(":")
        with pytest.raises(DiswotError) as error:
            load_probe_batch(ProbeDataSpec(source=f"{kind}:{tmp_path / name}", batch_size=8), 10)
        assert message in str(error.value), source


def test_files_linked_from_inside_the_allowed_directory_to_outside_it_are_refused(tmp_path):
    from PIL import Image

    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    outside.mkdir()
    Image.new("RGB", (32, 32), (9, 9, 9)).save(outside / "secret.png")
    write_npz(outside / "secret.npz")
    pixels = np.random.default_rng(2).integers(0, 256, (8, 3072), np.uint8)
    with open(outside / "train", "wb") as handle:
        pickle.dump({b"data": pixels, b"fine_labels": [0] * 8}, handle)
    for folder in ("linked_image", "linked_class"):
        for label in ("cat", "dog"):
            (allowed / folder / label).mkdir(parents=True)
            for index in range(2):
                Image.new("RGB", (32, 32), (label == "dog", index, 0)).save(allowed / folder / label / f"{index}.png")
    (allowed / "linked_image" / "dog" / "2.png").symlink_to(outside / "secret.png")
    (allowed / "linked_class" / "eel").symlink_to(outside, target_is_directory=True)
    (allowed / "cifar").mkdir()
    (allowed / "cifar" / "train").symlink_to(outside / "train")
    (allowed / "probe.npz").symlink_to(outside / "secret.npz")

    sources = ["folder:linked_image", "folder:linked_class", "cifar:cifar", "npz:probe.npz"]
    for source in sources:
        kind, _, name = source.partition(":")
        spec = ProbeDataSpec(source=f"{kind}:{allowed / name}", batch_size=5)
        with pytest.raises(DiswotError, match="is outside the allowed directory"):
            load_probe_batch(spec, 10, allowed_dir=allowed)
        assert len(load_probe_batch(spec, 10).labels) == 5  # the library alone follows links anywhere
