"""Teachers by spec: zoo names, space architectures, TorchScript files, checkpoints, and their errors."""

import pytest
import torch

from diswot import DiswotError, load_teacher
from diswot.teachers import build_network


def test_zoo_and_space_specs_build_seeded_teachers():
    first = load_teacher("resnet8", 10, seed=1).model
    again = load_teacher("resnet8", 10, seed=1).model
    other = load_teacher("resnet8", 10, seed=2).model
    assert torch.equal(first.classifier.weight, again.classifier.weight)
    assert not torch.equal(first.classifier.weight, other.classifier.weight)
    cell = load_teacher("nb201:|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|", 100)
    assert cell.model.classifier.out_features == 100 and not cell.trained


def test_unknown_teacher_suggests_and_lists():
    with pytest.raises(DiswotError, match=r"unknown teacher 'resnet57' \(did you mean 'resnet56'\?\); valid: .*wrn_40_2"):
        load_teacher("resnet57", 100)


def test_malformed_space_arch_in_teacher_spec():
    with pytest.raises(DiswotError, match="resnet_cifar|depth"):
        load_teacher("resnet_cifar:3x16-3x32", 100)


def test_checkpoint_loads_trained_weights_in_eval_mode(tmp_path):
    trained = build_network("resnet8", 10)
    torch.nn.init.constant_(trained.classifier.weight, 0.5)
    torch.save({"model": trained.state_dict(), "epoch": 3}, tmp_path / "ckpt.pth")
    teacher = load_teacher("resnet8", 10, checkpoint=tmp_path / "ckpt.pth")
    assert teacher.trained and not teacher.model.training
    assert torch.all(teacher.model.classifier.weight == 0.5)


def test_checkpoint_of_another_model_is_refused(tmp_path):
    torch.save(build_network("resnet14", 10).state_dict(), tmp_path / "other.pth")
    with pytest.raises(DiswotError, match="does not fit the teacher"):
        load_teacher("resnet8", 10, checkpoint=tmp_path / "other.pth")


class Payload:
    pass


def test_checkpoint_with_arbitrary_objects_is_refused(tmp_path):
    torch.save({"model": Payload()}, tmp_path / "evil.pth")
    with pytest.raises(DiswotError, match="cannot read checkpoint"):
        load_teacher("resnet8", 10, checkpoint=tmp_path / "evil.pth")


def test_torchscript_teacher_round_trip_and_class_check(tmp_path):
    model = build_network("resnet8", 10).eval()
    torch.jit.save(torch.jit.script(model), tmp_path / "t.ts")
    teacher = load_teacher(str(tmp_path / "t.ts"), 10)
    images = torch.randn(2, 3, 32, 32)
    torch.testing.assert_close(teacher.model(images), model(images))
    with pytest.raises(DiswotError, match="has 10 classes but 100"):
        load_teacher(str(tmp_path / "t.ts"), 100)


def test_files_outside_the_allowed_directory_are_refused(tmp_path):
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    torch.jit.save(torch.jit.script(build_network("resnet8", 10)), tmp_path / "t.ts")
    with pytest.raises(DiswotError, match="outside the allowed directory"):
        load_teacher(str(tmp_path / "t.ts"), 10, allowed_dir=allowed)


def test_random_teacher_gets_the_students_init_scheme(tmp_path):
    """DisWOT compares teacher and student at the same init: with the paper's N(0, 1) init on the students only,
    the semantic term ranked 64 CIFAR ResNets against their size at Kendall -0.52 (resnet110 teacher, real
    CIFAR-100 batch); with both at N(0, 1), +0.56."""
    convs = lambda model: torch.cat([m.weight.flatten() for m in model.modules() if isinstance(m, torch.nn.Conv2d)])
    gaussian = convs(load_teacher("resnet8", 10, seed=0, init="gaussian").model)
    default = convs(load_teacher("resnet8", 10, seed=0).model)
    assert abs(gaussian.std().item() - 1.0) < 0.02 and abs(gaussian.mean().item()) < 0.02
    assert default.std().item() < 0.3  # PyTorch's default (Kaiming-uniform) init
    torch.save(load_teacher("resnet8", 10, seed=3).model.state_dict(), tmp_path / "ckpt.pth")
    trained = load_teacher("resnet8", 10, init="gaussian", checkpoint=tmp_path / "ckpt.pth").model
    assert torch.equal(convs(trained), convs(load_teacher("resnet8", 10, seed=3).model))  # weights from the file


def test_a_torchscript_teacher_that_cannot_be_scored_is_refused_when_loaded(tmp_path, write_broken_teachers):
    for name, message in write_broken_teachers(tmp_path).items():
        with pytest.raises(DiswotError) as error:
            load_teacher(str(tmp_path / name), 10)
        assert message in str(error.value), name


def test_a_link_inside_the_allowed_directory_to_a_file_outside_is_refused(tmp_path):
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    torch.jit.save(torch.jit.script(build_network("resnet8", 10)), tmp_path / "t.ts")
    torch.save(build_network("resnet8", 10).state_dict(), tmp_path / "weights.pth")
    (allowed / "t.ts").symlink_to(tmp_path / "t.ts")
    (allowed / "weights.pth").symlink_to(tmp_path / "weights.pth")
    with pytest.raises(DiswotError, match="outside the allowed directory"):
        load_teacher(str(allowed / "t.ts"), 10, allowed_dir=allowed)
    with pytest.raises(DiswotError, match="outside the allowed directory"):
        load_teacher("resnet8", 10, checkpoint=allowed / "weights.pth", allowed_dir=allowed)
