"""ONNX export of a student of every space: onnxruntime gives torch's logits (within 1e-4)."""

import pytest
import torch

from diswot.onnx_export import export_onnx, student_to_onnx
from diswot.student_search.result import build_student
from search_spaces import get_space, list_spaces

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

# Small students that still hold every kind of layer of their space (squeeze-excite and 7x7 kernels in mobilenet,
# bottleneck and basic stages in resnet_imagenet, convs and pooling in nb201).
ARCHS = {
    "nb201": "|nor_conv_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "resnet_cifar": "1x16-1x32-1x64",
    "resnet_cifar_wide": "1x8-1x16-1x32",
    "zoo": "mobilenetv2",
    "mobilenet": "w0.5-k7e3se-k5e4_k3e3-k3e6se-k3e3-k3e3-k3e3",
    "resnet_imagenet": "16-bottleneck1x16e2k5-basic1x32k7-basic1x64k3-bottleneck1x128e2k3",
}


def test_every_space_has_an_export_case():
    assert set(ARCHS) == set(list_spaces())


def run_onnx(path, images):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return torch.from_numpy(session.run(["logits"], {"images": images.numpy()})[0])


@pytest.mark.parametrize("space_name", sorted(ARCHS))
def test_onnx_runtime_matches_torch(space_name, tmp_path):
    space = get_space(space_name)
    torch.manual_seed(0)
    model = space.build(space.parse(ARCHS[space_name]), 10).eval()
    path = export_onnx(model, tmp_path / "student.onnx", space.default_image_size)
    # another batch size and (for the ImageNet spaces) another resolution than the one it was traced at
    size = 64 if space.default_image_size > 64 else space.default_image_size
    images = torch.randn(3, 3, size, size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = model(images)
    assert torch.allclose(run_onnx(path, images), expected, atol=1e-4, rtol=0)


def test_a_found_student_exports_as_it_was_scored(tmp_path):
    spec = {
        "space": "resnet_cifar", "arch": "1x16-1x32-1x64", "num_classes": 10, "params": 0, "flops": 0, "score": 0.0,
        "scores": {}, "terms": {}, "teacher": "resnet20", "seed": 3, "init": "default", "diswot_version": "test",
    }
    path = student_to_onnx(spec, tmp_path / "student.onnx")
    images = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        expected = build_student(spec).eval()(images)
    assert torch.allclose(run_onnx(path, images), expected, atol=1e-4, rtol=0)


def test_the_cli_exports_a_student_as_onnx_and_names_the_valid_formats(tmp_path):
    import json
    import subprocess
    import sys

    spec = {
        "space": "resnet_cifar", "arch": "1x16-1x32-1x64", "num_classes": 10, "params": 0, "flops": 0, "score": 0.0,
        "scores": {}, "terms": {}, "teacher": "resnet20", "seed": 3, "init": "default", "diswot_version": "test",
    }
    (tmp_path / "spec.json").write_text(json.dumps(spec))

    def export(*options):
        return subprocess.run([sys.executable, "-m", "diswot", "export", str(tmp_path / "spec.json"), *options],
                              capture_output=True, text=True, timeout=300)

    assert export("--format", "onnx", "--out", str(tmp_path / "cli.onnx")).returncode == 0
    images = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        expected = build_student(spec).eval()(images)
    assert torch.allclose(run_onnx(tmp_path / "cli.onnx", images), expected, atol=1e-4, rtol=0)
    refused = export("--format", "tflite", "--out", str(tmp_path / "x"))
    assert refused.returncode == 2 and "valid: torchscript, onnx" in refused.stderr
