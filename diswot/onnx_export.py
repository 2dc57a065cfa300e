"""A student as an ONNX file (beside `diswot export`'s TorchScript), for runtimes without PyTorch.

The graph takes `images` (N, 3, H, W) and gives `logits` (N, K); N, H and W are dynamic (every network of the spaces
ends in a global mean, so it runs at any resolution its strides allow). It is written by PyTorch's torch.export-based
exporter (which needs `onnxscript`: the `export` extra), as a single file with the weights inside.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import torch
from torch import nn

from diswot.errors import DiswotError
from diswot.student_search.result import StudentSpec, build_student
from search_spaces import get_space

INPUT_NAME, OUTPUT_NAME = "images", "logits"


def export_onnx(model: nn.Module, path: str | Path, image_size: int) -> Path:
    """Write `model` (in eval mode) to `path` as ONNX, traced on `image_size` images."""
    try:
        import onnxscript  # noqa: F401  (the exporter imports it lazily and fails deep inside without it)
    except ImportError:
        raise DiswotError("ONNX export needs onnx and onnxscript: pip install 'diswot[export]'") from None
    model = model.eval()
    example = torch.zeros(2, 3, image_size, image_size)
    dynamic = {0: torch.export.Dim("batch", min=1), 2: torch.export.Dim.AUTO, 3: torch.export.Dim.AUTO}
    # the exporter reports its progress on stdout; a CLI or a service has its own
    with contextlib.redirect_stdout(io.StringIO()):
        program = torch.onnx.export(
            model, (example,), dynamo=True, input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
            dynamic_shapes=(dynamic,), external_data=False, verbose=False,
        )
    path = Path(path)
    program.save(str(path))
    return path


def student_to_onnx(spec: StudentSpec | dict, path: str | Path, image_size: int | None = None) -> Path:
    """A found student, initialised as it was scored, as ONNX (traced at its space's resolution by default)."""
    student = spec if isinstance(spec, StudentSpec) else StudentSpec.from_dict(spec)
    size = get_space(student.space).default_image_size if image_size is None else image_size
    return export_onnx(build_student(student), path, size)
