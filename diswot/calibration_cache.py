"""Calibrations measured once: a calibration (`diswot.calibration`) depends only on what its reference cells are
scored with, so it is kept under a key that hashes exactly that, and any later search, batch run, `diswot score`,
`correlate` or `/v1/score` with the same scoring reuses it instead of scoring the 64 reference cells again.

The key (`calibration_key`) hashes: the space; the proxy's name and the source of the module that defines its
terms (a changed component never meets a stale calibration, even under the same version); the diswot version;
the seed, init scheme, shared init and class count (they decide every reference network); the teacher's spec
and the bytes of its weights (a checkpoint or TorchScript file is covered by what it loaded); and the bytes of
the probe batch as loaded (source, batch size, image size and normalisation all end up there). The device and
the thread count are not in it: they change a calibration only in the last digits.

The CLI keeps calibrations in files (`FileCalibrationCache`, in the user's cache folder or `--cache-dir`); the
service keeps them in its database (`api.store.SqlCalibrationCache`). The library takes a cache where one is
given (`calibration_cache=`) and uses none otherwise.
"""

from __future__ import annotations

import abc
import hashlib
import inspect
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import platformdirs
import torch

import diswot
from diswot.calibration import Calibration

if TYPE_CHECKING:
    from diswot.proxies import Proxy
    from diswot.scorer import Scorer

CACHE_DIR_VARIABLE = "DISWOT_CACHE_DIR"


def cache_root() -> Path:
    """`$DISWOT_CACHE_DIR`, else the user's cache folder (e.g. ~/.cache/diswot): calibrations and latency timings."""
    return Path(os.environ.get(CACHE_DIR_VARIABLE) or platformdirs.user_cache_dir("diswot"))


class CalibrationCache(abc.ABC):
    @abc.abstractmethod
    def load(self, key: str) -> Optional[Calibration]:
        """The calibration kept under `key`, or None."""

    @abc.abstractmethod
    def store(self, key: str, calibration: Calibration) -> None: ...


class FileCalibrationCache(CalibrationCache):
    """One JSON file per key in `folder`. A file that cannot be read or parsed counts as missing (it is measured
    again and rewritten); files are written whole (a temporary file renamed), so a reader never sees half of one."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder).expanduser()

    @classmethod
    def default(cls) -> "FileCalibrationCache":
        """`$DISWOT_CACHE_DIR/calibrations`, else the user's cache folder (e.g. ~/.cache/diswot/calibrations)."""
        return cls(cache_root() / "calibrations")

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def load(self, key: str) -> Optional[Calibration]:
        try:
            return Calibration.from_dict(json.loads(self.path(key).read_text()))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def store(self, key: str, calibration: Calibration) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        with os.fdopen(handle, "w") as file:
            json.dump(calibration.to_dict(), file)
        os.replace(temporary, self.path(key))


def calibration_key(scorer: "Scorer", space: str, proxy: "Proxy") -> str:
    """The hash of everything that determines `proxy`'s calibration on `space` under `scorer` (module docstring)."""
    module = inspect.getmodule(proxy.calibration_terms)
    parts = {
        "diswot": diswot.__version__,
        "space": space,
        "proxy": proxy.name,
        "proxy_source": hashlib.sha256(inspect.getsource(module).encode()).hexdigest() if module else None,
        "seed": scorer.seed,
        "init": scorer.init,
        "shared_init": scorer.shared_init,
        "num_classes": scorer.num_classes,
        "teacher": scorer.setup.teacher,
        "teacher_weights": None if scorer.teacher is None else tensors_digest(scorer.teacher.model.state_dict()),
        "probe": tensors_digest({"images": scorer.images, "labels": scorer.labels}),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def tensors_digest(tensors: dict[str, torch.Tensor]) -> str:
    """A hash of named tensors' dtypes, shapes and values (in one memory layout, whatever the one they are in)."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        tensor = tensors[name].detach().to("cpu").contiguous()
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
        digest.update(tensor.numpy().tobytes() if tensor.dtype != torch.bfloat16 else tensor.float().numpy().tobytes())
    return digest.hexdigest()
