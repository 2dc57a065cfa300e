"""`diswot search`: one search into a run folder, with its progress per stage; `diswot export`: a student as
TorchScript."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import torch
import typer

from diswot.cli.app import app
from diswot.cli.executor_options import (
    ConcurrencyOption,
    ExecutorOption,
    GpusPerWorkerOption,
    RayAddressOption,
    WorkersOption,
)
from diswot.cli.progress import SearchProgressDisplay, progress_display
from diswot.cli.scoring_options import (
    DEFAULTS,
    BatchSizeOption,
    CacheDirOption,
    CheckpointOption,
    DataOption,
    DeviceOption,
    ImageSizeOption,
    InitOption,
    InitsOption,
    NoCacheOption,
    NumClassesOption,
    ProxyOption,
    SeedOption,
    SharedInitOption,
    TeacherOption,
    calibration_cache_of,
    latency_cache_of,
)
from diswot.errors import DiswotError
from diswot.executors import ExecutorSpec
from diswot.proxies import DEFAULT_ALIAS
from diswot.student_search import SearchProgress, SearchRequest, SearchResult, read_student_spec, script_student
from diswot.student_search.run_folder import search_in_folder
from diswot.student_search.strategies import STRATEGIES


def print_ranking(result: SearchResult, limit: int = 10) -> None:
    """The ranked students; with their measured latency where the search timed its candidates."""
    typer.echo(f"{result.evaluations} candidates scored in {result.seconds:.1f} s ({result.stop_reason})")
    confirmed = any(s.confirmed_score is not None for s in result.students)
    header = f"{'confirmed (mean +- sd)':>24}  " if confirmed else ""
    timed = any(s.latency is not None for s in result.students)
    latency_header = f"{'latency':>10}  " if timed else ""
    typer.echo(f"{'rank':>4}  {'score':>10}  {header}{'params':>8}  {'FLOPs':>8}  {latency_header}arch")
    for student in result.students[:limit]:
        check = ""
        if confirmed:
            check = ("-" if student.confirmed_score is None
                     else f"{student.confirmed_score:.5g} +- {student.confirmed_spread:.2g}")
            check = f"{check:>24}  "
        latency = f"{student.measured_latency * 1e3:>8.2f}ms  " if timed else ""
        typer.echo(
            f"{student.rank:>4}  {student.score:>10.5g}  {check}{student.params / 1e6:>7.3f}M  "
            f"{student.flops / 1e6:>7.1f}M  {latency}{student.arch}"
        )


@app.command("search")
def search_command(
    teacher: TeacherOption,
    space: Annotated[str, typer.Option(help="Search space (see `diswot spaces`).")],
    out: Annotated[Path, typer.Option(help="Run folder; the same command with the same folder resumes.")],
    num_classes: NumClassesOption = DEFAULTS["num_classes"],
    strategy: Annotated[str, typer.Option(help=f"One of {', '.join(STRATEGIES.names())}.")] = DEFAULTS["strategy"],
    evaluations: Annotated[
        int, typer.Option(help="Distinct candidates to score (exhaustive scores all).")] = DEFAULTS["evaluations"],
    population: int = DEFAULTS["population"],
    sample_size: Annotated[int, typer.Option(help="Aging evolution's tournament sample.")] = DEFAULTS["sample_size"],
    objective: Annotated[str, typer.Option(
        help="Cost axis of NSGA-II and the Pareto front: params, flops or latency.")] = DEFAULTS["objective"],
    proxy: ProxyOption = [DEFAULT_ALIAS],
    min_params: Annotated[Optional[str], typer.Option(help="e.g. 100k")] = None,
    max_params: Annotated[Optional[str], typer.Option(help="e.g. 0.5M")] = None,
    max_flops: Annotated[Optional[str], typer.Option(help="e.g. 40M")] = None,
    max_latency: Annotated[Optional[str], typer.Option(
        help="e.g. 5ms: seconds per forward pass, predicted from a per-block table, measured as --latency-* say."
    )] = None,
    latency_device: Annotated[str, typer.Option(help="cpu (this machine's) or cuda.")] = DEFAULTS["latency_device"],
    latency_threads: Annotated[int, typer.Option(help="CPU threads latency is measured with.")] = DEFAULTS[
        "latency_threads"],
    latency_batch: Annotated[int, typer.Option(help="Batch size latency is measured at.")] = DEFAULTS["latency_batch"],
    latency_image_size: Annotated[Optional[int], typer.Option(
        help="Resolution latency is measured at (default: the space's, 224 for the ImageNet spaces).")] = None,
    data: DataOption = DEFAULTS["data"],
    batch_size: BatchSizeOption = DEFAULTS["batch_size"],
    image_size: ImageSizeOption = None,
    seed: SeedOption = DEFAULTS["seed"],
    search_seed: Annotated[
        Optional[int], typer.Option(help="Seed of the strategy's choices (default: --seed).")] = None,
    init: InitOption = DEFAULTS["init"],
    inits: InitsOption = DEFAULTS["inits"],
    shared_init: SharedInitOption = DEFAULTS["shared_init"],
    device: DeviceOption = DEFAULTS["device"],
    checkpoint: CheckpointOption = None,
    top_k: Annotated[
        Optional[int], typer.Option(help="Students in the result (default 10; exhaustive: all).")] = None,
    confirm_top: Annotated[int, typer.Option(
        help="Best candidates scored again with --confirm-inits inits at the end (0: off).")] = DEFAULTS["confirm_top"],
    confirm_inits: Annotated[int, typer.Option(
        help="Random inits of the confirm stage; the students rank by their mean.")] = DEFAULTS["confirm_inits"],
    executor: ExecutorOption = "inprocess",
    workers: WorkersOption = None,
    concurrency: ConcurrencyOption = None,
    ray_address: RayAddressOption = None,
    gpus_per_worker: GpusPerWorkerOption = None,
    cache_dir: CacheDirOption = None,
    no_cache: NoCacheOption = False,
) -> None:
    """Search a space for the students to distil the teacher into."""
    execution = ExecutorSpec.parse(executor, workers, ray_address, gpus_per_worker, device)
    request = SearchRequest.parse(
        dict(
            teacher=teacher, space=space, num_classes=num_classes, strategy=strategy, evaluations=evaluations,
            population=population, sample_size=sample_size, objective=objective, proxies=list(proxy),
            min_params=min_params, max_params=max_params, max_flops=max_flops, max_latency=max_latency,
            latency_device=latency_device, latency_threads=latency_threads, latency_batch=latency_batch,
            latency_image_size=latency_image_size, data=data, batch_size=batch_size,
            image_size=image_size, seed=seed, search_seed=search_seed, init=init, inits=inits, shared_init=shared_init,
            device=device, checkpoint=checkpoint, top_k=top_k, confirm_top=confirm_top, confirm_inits=confirm_inits,
            concurrency=concurrency,
        ),
        executor=execution,
    )
    with SearchProgressDisplay(progress_display()) as display:
        try:
            result = search_in_folder(request, out, on_progress=display,
                                      calibration_cache=calibration_cache_of(cache_dir, no_cache),
                                      latency_cache=latency_cache_of(cache_dir, no_cache))
        except KeyboardInterrupt:
            display.close()
            typer.echo(interrupted_line(display.last, out), err=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None
    print_ranking(result)
    typer.echo(f"run folder: {out}")


# As a shell reports a process ended by SIGINT.
EXIT_INTERRUPTED = 130


def interrupted_line(last: Optional[SearchProgress], out: Path) -> str:
    """What an interrupted search kept and how to resume it."""
    if last is None or last.stage == "calibration":
        kept = "before the first candidate was scored"
    elif last.stage == "search":
        kept = f"after {last.evaluations} feasible candidates scored and kept in {out}"
    else:
        kept = f"in the confirm stage, {last.evaluations} of {last.total} finalists confirmed and kept in {out}"
    return f"interrupted {kept}; run the same command again to resume"


EXPORT_FORMATS = ("torchscript", "onnx")


@app.command("export")
def export_command(
    spec: Path = typer.Argument(..., help="A student spec (JSON), or a result.json (then --rank picks the student)."),
    out: Path = typer.Option(..., help="Where to write the file."),
    rank: int = typer.Option(1, help="Which student of a result.json (1 = best)."),
    format: str = typer.Option("torchscript", help=f"One of {', '.join(EXPORT_FORMATS)} (onnx: the export extra)."),
) -> None:
    """Build a found student and save it as TorchScript (usable as a teacher spec or in any PyTorch program) or
    ONNX (dynamic batch and resolution, for onnxruntime and deployment tools)."""
    if format not in EXPORT_FORMATS:
        raise DiswotError(f"unknown export format {format!r}; valid: {', '.join(EXPORT_FORMATS)}")
    student = read_student_spec(spec, rank)
    if format == "onnx":
        from diswot.onnx_export import student_to_onnx  # needs the export extra

        student_to_onnx(student, out)
    else:
        torch.jit.save(script_student(student), str(out))
    typer.echo(f"{student.space}:{student.arch} ({student.params / 1e6:.3f}M params) -> {out}")
