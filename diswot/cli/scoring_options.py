"""The options that say how candidates are scored (teacher, probe data, seed, init, device, ...), defined once
with their help and their defaults (the parts' own, `diswot.student_search.request.FLAT_DEFAULTS`) and shared by
`score`, `search`, `batch`, `correlate` and `distill`. A command declares `teacher: TeacherOption` and so on, and
turns them into one `ScoringSetup` with `scoring_setup_of` (the same parser a search request uses); where its
calibrations are kept is `--cache-dir` / `--no-cache`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, List, Optional

import typer


from diswot.calibration_cache import CACHE_DIR_VARIABLE, FileCalibrationCache, cache_root
from diswot.devices import DEVICE_CHOICES
from diswot.latency import LATENCY_CACHE_FILE
from diswot.proxies import DEFAULT_ALIAS, DEFAULT_PROXY
from diswot.student_search.request import FLAT_DEFAULTS

DEFAULTS = FLAT_DEFAULTS

TeacherOption = Annotated[str, typer.Option(help="Teacher spec: zoo name, SPACE:ARCH or TorchScript file.")]
OptionalTeacherOption = Annotated[
    Optional[str], typer.Option(help="Teacher spec; needed by teacher-aware proxies (diswot, kd_loss, cka).")
]
CheckpointOption = Annotated[Optional[str], typer.Option(help="Trained teacher weights (a state dict file).")]
DataOption = Annotated[str, typer.Option(help="Probe data: synthetic, PATH.npz, cifar:DIR or folder:DIR.")]
BatchSizeOption = Annotated[int, typer.Option(help="Probe batch size.")]
ImageSizeOption = Annotated[Optional[int], typer.Option(
    help="Probe image resolution (default: the space's, 32 px for the CIFAR spaces, 224 for the ImageNet ones).")]
NumClassesOption = Annotated[int, typer.Option(help="Classes of teacher and students.")]
ProxyOption = Annotated[
    List[str], typer.Option(help=f"Proxy to rank by ('{DEFAULT_ALIAS}' = {DEFAULT_PROXY}); repeat to record more.")
]
SeedOption = Annotated[int, typer.Option(help="Seed of the probe batch and of every network's init.")]
InitOption = Annotated[str, typer.Option(help="Init scheme: default (PyTorch) or gaussian (the DisWOT paper's).")]
InitsOption = Annotated[
    int, typer.Option(help="Random inits of each student; its scores are their mean (less init noise, N times the cost).")
]
SharedInitOption = Annotated[
    bool, typer.Option("--shared-init", help="Draw every layer from a seed of its name and shape: students that "
                       "share a layer start it alike (common random numbers; a smoother landscape for the search).")
]
DeviceOption = Annotated[str, typer.Option(help=f"One of {', '.join(DEVICE_CHOICES)}, or cuda:N.")]
CacheDirOption = Annotated[Optional[Path], typer.Option(
    envvar=CACHE_DIR_VARIABLE, help="Where calibrations and latency timings are kept and reused (its `calibrations` "
    "folder and `latency.json`; default: the user's cache folder, e.g. ~/.cache/diswot).")]
NoCacheOption = Annotated[bool, typer.Option(
    "--no-cache", help="Measure calibrations (and latencies) afresh and keep none.")]


def calibration_cache_of(cache_dir: Optional[Path], no_cache: bool) -> Optional[FileCalibrationCache]:
    if no_cache:
        return None
    return FileCalibrationCache.default() if cache_dir is None else FileCalibrationCache(cache_dir / "calibrations")


def latency_cache_of(cache_dir: Optional[Path], no_cache: bool) -> Optional[Path]:
    """The file of latency timings (`latency.json` beside the calibrations), so a candidate is timed once per
    device and setting across searches."""
    if no_cache:
        return None
    return (cache_root() if cache_dir is None else cache_dir) / LATENCY_CACHE_FILE
