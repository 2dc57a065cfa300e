"""From a request body to the library's validated arguments, with the server's files kept behind its settings.

A teacher file or checkpoint is read only from `teacher_dir` (TorchScript, or weights-only checkpoints: nothing
is unpickled), probe data only from `data_dir`; relative paths are relative to those directories, and with a
directory unset its files are refused. Every file is resolved when it is read, at submission and again by
the job (with the directories the server has then), so no link leads outside. Names (teacher, space, proxies,
strategy) are looked up in registries: no request makes the server import anything. Errors are DiswotErrors
naming the field, answered with 422.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from api.settings import Settings
from diswot.calibration import calibration_reference
from diswot.errors import DiswotError, FieldError
from diswot.file_access import resolve_inside
from diswot.probe_data import ProbeDataSpec, load_probe_batch
from diswot.proxies import PROXIES, resolve_proxy_name
from diswot.student_search import SearchRequest
from diswot.student_search.request import with_space_resolution
from diswot.teachers import TORCHSCRIPT_SUFFIXES, load_teacher
from search_spaces import get_space

PROBE_SOURCE_KINDS = ("npz", "cifar", "folder")  # the `KIND:PATH` prefixes of diswot.probe_data


def search_request(values: dict[str, Any], settings: Settings) -> SearchRequest:
    """The search request of an API body or of a stored job (the edges where the service parses one), with server
    files resolved to absolute paths and read only from this server's directories, scored on this server's
    executor; a `concurrency` the request leaves unset is that executor's default (stored with the job: a resumed
    job keeps it)."""
    values = with_space_resolution(values)
    request = SearchRequest.parse({**values, **server_files(values, settings)},
                                  executor=settings.executor_spec(values.get("device", "auto")),
                                  **allowed_dirs(values, settings))
    space = request.search_space
    if request.strategy.evaluation_limit is None and space.size() > settings.max_evaluations:
        raise FieldError(
            "strategy",
            f"exhaustive search scores every candidate of {space.name} (up to {space.size()}), more than this "
            f"server's max_evaluations ({settings.max_evaluations})",
        )
    return request


def check_score_work(values: dict[str, Any], settings: Settings) -> None:
    """A /v1/score call holds its connection while it scores: refuse one that asks for more than the server allows,
    counting the calibration cells a calibrated proxy (the default) scores before the first candidate."""
    archs, inits, batch, size = len(values["archs"]), values["inits"], values["batch_size"], values["image_size"]
    cells = calibration_cells(values)
    pixels = (archs * inits + cells) * batch * size * size
    if pixels > settings.max_score_pixels:
        calibration = f" + {cells} calibration cells" if cells else ""
        raise FieldError(
            "archs",
            f"({archs} archs x {inits} inits{calibration}) x {batch} images of {size}x{size} is {pixels:,} pixels to "
            f"score, more than this server's max_score_pixels ({settings.max_score_pixels:,}); send fewer archs or "
            "inits, a smaller batch or smaller images, proxies without calibration, or submit a search",
        )


def calibration_cells(values: dict[str, Any]) -> int:
    """Reference cells the request's calibrated proxies score, one init each, before its first candidate
    (`diswot.calibration`); unknown names count nothing here and are refused when the scorer is set up."""
    names = {resolve_proxy_name(name) for name in values["proxies"]}
    calibrated = [name for name in names if name in PROXIES and PROXIES.get(name).calibration_terms is not None]
    if not calibrated:
        return 0
    try:
        space = get_space(values["space"])
    except DiswotError as error:
        raise FieldError("space", str(error)) from None
    return len(calibrated) * len(calibration_reference(space, values["seed"]))


def allowed_dirs(values: dict[str, Any], settings: Settings) -> dict[str, Optional[Path]]:
    """The directories a request's files are read from, as a `ScoringSetup` takes them; a FieldError when the
    request names a kind of file this server does not take."""
    checkpoint = values.get("checkpoint")
    if (checkpoint is not None or values["teacher"].endswith(TORCHSCRIPT_SUFFIXES)) and settings.teacher_dir is None:
        field = "checkpoint" if checkpoint is not None else "teacher"
        raise FieldError(field, "this server accepts no teacher files (its teacher directory is not configured)")
    if values["data"] != "synthetic" and settings.data_dir is None:
        raise FieldError(
            "data", "this server accepts only 'synthetic' probe data (its data directory is not configured)"
        )
    return {
        "allowed_teacher_dir": None if settings.teacher_dir is None else settings.teacher_dir.expanduser().resolve(),
        "allowed_data_dir": None if settings.data_dir is None else settings.data_dir.expanduser().resolve(),
    }


def server_files(values: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """`teacher`, `checkpoint` and `data`, files resolved to the absolute paths a job reads (names and 'synthetic'
    unchanged). Each file is read as the job will read it, so a file that cannot be used is refused now, naming
    its field; the job resolves every file again when it reads it."""
    directories = allowed_dirs(values, settings)
    teacher, checkpoint = values["teacher"], values.get("checkpoint")
    data = probe_source(values["data"], directories["allowed_data_dir"])
    if data != "synthetic":
        check_probe_batch(values, data, directories["allowed_data_dir"])
    if checkpoint is not None or teacher.endswith(TORCHSCRIPT_SUFFIXES):
        directory = directories["allowed_teacher_dir"]
        field = "checkpoint" if checkpoint is not None else "teacher"
        try:  # loads TorchScript or weights-only state dicts, and only from inside the directory
            if teacher.endswith(TORCHSCRIPT_SUFFIXES):
                teacher = str(resolve_inside(directory / teacher, directory, "TorchScript teacher"))
            if checkpoint is not None:
                checkpoint = str(resolve_inside(directory / checkpoint, directory, "checkpoint"))
            load_teacher(
                teacher, values["num_classes"], checkpoint=checkpoint, seed=values["seed"], allowed_dir=directory,
                image_size=values["image_size"],
            )
        except (DiswotError, OSError) as error:  # OSError: a name the file system refuses (too long, ...)
            message = str(error) if isinstance(error, DiswotError) else f"unreadable path: {error.strerror}"
            raise FieldError(field, message) from None
    return {"teacher": teacher, "checkpoint": checkpoint, "data": data}


def check_probe_batch(values: dict[str, Any], data: str, data_dir: Path) -> None:
    spec = ProbeDataSpec(
        source=data, batch_size=values["batch_size"], image_size=values["image_size"], seed=values["seed"]
    )
    try:
        load_probe_batch(spec, values["num_classes"], allowed_dir=data_dir)
    except DiswotError as error:
        raise FieldError("data", str(error)) from None
    except OSError as error:  # a file the server may not read
        raise FieldError("data", f"unreadable: {error.strerror}: {error.filename}") from None


def probe_source(source: str, data_dir: Optional[Path]) -> str:
    """`KIND:ABSOLUTE_PATH` of a probe data file inside `data_dir` (resolved), or 'synthetic'."""
    if source == "synthetic":
        return source
    kind, separator, location = source.partition(":")
    prefix = f"{kind}:" if separator and kind in PROBE_SOURCE_KINDS else ""
    try:
        path = resolve_inside(data_dir / (location if prefix else source), data_dir, "probe data")
        exists = path.exists()
    except DiswotError as error:
        raise FieldError("data", str(error)) from None
    except OSError as error:  # a name the file system refuses (too long, ...)
        raise FieldError("data", f"unreadable path {source!r}: {error.strerror}") from None
    if not exists:
        raise FieldError("data", f"{source!r} does not exist in the server's data directory")
    return prefix + str(path)
