"""`diswot search`: one search into a run folder, with a progress bar; `diswot export`: a student as TorchScript."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import torch
import typer

from diswot.cli.app import app
from diswot.cli.executor_options import (
    CONCURRENCY_OPTION,
    EXECUTOR_OPTION,
    GPUS_PER_WORKER_OPTION,
    RAY_ADDRESS_OPTION,
    WORKERS_OPTION,
    optional_concurrency,
)
from diswot.cli.init_options import INITS_OPTION, SHARED_INIT_OPTION
from diswot.cli.progress import search_progress_bar
from diswot.executors import make_executor
from diswot.proxies import DEFAULT_ALIAS, DEFAULT_PROXY
from diswot.student_search import SearchConfig, SearchResult, read_student_spec, script_student
from diswot.student_search.config import DEFAULT_CONFIRM_INITS, DEFAULT_CONFIRM_TOP
from diswot.student_search.run_folder import search_in_folder
from diswot.student_search.strategies import STRATEGIES


def print_ranking(result: SearchResult, limit: int = 10) -> None:
    typer.echo(f"{result.evaluations} candidates scored in {result.seconds:.1f} s ({result.stop_reason})")
    confirmed = any(s.confirmed_score is not None for s in result.students)
    header = f"{'confirmed (mean +- sd)':>24}  " if confirmed else ""
    typer.echo(f"{'rank':>4}  {'score':>10}  {header}{'params':>8}  {'FLOPs':>8}  arch")
    for student in result.students[:limit]:
        check = ""
        if confirmed:
            check = ("-" if student.confirmed_score is None
                     else f"{student.confirmed_score:.5g} +- {student.confirmed_spread:.2g}")
            check = f"{check:>24}  "
        typer.echo(
            f"{student.rank:>4}  {student.score:>10.5g}  {check}{student.params / 1e6:>7.3f}M  "
            f"{student.flops / 1e6:>7.1f}M  {student.arch}"
        )


@app.command("search")
def search_command(
    teacher: str = typer.Option(..., help="Teacher spec: zoo name, SPACE:ARCH or TorchScript file."),
    space: str = typer.Option(..., help="Search space (see `diswot spaces`)."),
    out: Path = typer.Option(..., help="Run folder; the same command with the same folder resumes."),
    num_classes: int = typer.Option(100),
    strategy: str = typer.Option("aging", help=f"One of {', '.join(STRATEGIES.names())}."),
    evaluations: int = typer.Option(500, help="Distinct candidates to score (exhaustive scores all)."),
    population: int = typer.Option(100),
    sample_size: int = typer.Option(10, help="Aging evolution's tournament sample."),
    objective: str = typer.Option("params", help="Cost axis of NSGA-II and the Pareto front: params or flops."),
    proxy: List[str] = typer.Option(
        [DEFAULT_ALIAS], help=f"Proxy to rank by ('{DEFAULT_ALIAS}' = {DEFAULT_PROXY}); repeat to record more."
    ),
    min_params: Optional[str] = typer.Option(None, help="e.g. 100k"),
    max_params: Optional[str] = typer.Option(None, help="e.g. 0.5M"),
    max_flops: Optional[str] = typer.Option(None, help="e.g. 40M"),
    data: str = typer.Option("synthetic"),
    batch_size: int = typer.Option(64),
    image_size: int = typer.Option(32),
    seed: int = typer.Option(0),
    search_seed: Optional[int] = typer.Option(None, help="Seed of the strategy's choices (default: --seed)."),
    init: str = typer.Option("default"),
    inits: int = INITS_OPTION,
    shared_init: bool = SHARED_INIT_OPTION,
    device: str = typer.Option("auto"),
    checkpoint: Optional[str] = typer.Option(None),
    top_k: Optional[int] = typer.Option(None, help="Students in the result (default 10; exhaustive: all)."),
    confirm_top: int = typer.Option(
        DEFAULT_CONFIRM_TOP, help="Best candidates scored again with --confirm-inits inits at the end (0: off)."
    ),
    confirm_inits: int = typer.Option(
        DEFAULT_CONFIRM_INITS, help="Random inits of the confirm stage; the students rank by their mean."
    ),
    executor: str = EXECUTOR_OPTION,
    workers: Optional[int] = WORKERS_OPTION,
    concurrency: Optional[int] = CONCURRENCY_OPTION,
    ray_address: Optional[str] = RAY_ADDRESS_OPTION,
    gpus_per_worker: Optional[float] = GPUS_PER_WORKER_OPTION,
) -> None:
    """Search a space for the students to distil the teacher into."""
    scoring = make_executor(executor, workers, ray_address, gpus_per_worker, device)
    config = SearchConfig.from_dict(
        dict(
            teacher=teacher, space=space, num_classes=num_classes, strategy=strategy, evaluations=evaluations,
            population=population, sample_size=sample_size, objective=objective, proxies=list(proxy),
            min_params=min_params, max_params=max_params, max_flops=max_flops, data=data, batch_size=batch_size,
            image_size=image_size, seed=seed, search_seed=search_seed, init=init, inits=inits, shared_init=shared_init,
            device=device, checkpoint=checkpoint, top_k=top_k, confirm_top=confirm_top, confirm_inits=confirm_inits,
            concurrency=optional_concurrency(concurrency, scoring),
        )
    )
    total = config.evaluation_limit
    bar, update = search_progress_bar(total, "search")
    with bar:
        result = search_in_folder(config, out, on_progress=update, executor=scoring)
    print_ranking(result)
    typer.echo(f"run folder: {out}")


@app.command("export")
def export_command(
    spec: Path = typer.Argument(..., help="A student spec (JSON), or a result.json (then --rank picks the student)."),
    out: Path = typer.Option(..., help="Where to write the TorchScript file."),
    rank: int = typer.Option(1, help="Which student of a result.json (1 = best)."),
) -> None:
    """Build a found student and save it as TorchScript (usable as a teacher spec or in any PyTorch program)."""
    student = read_student_spec(spec, rank)
    torch.jit.save(script_student(student), str(out))
    typer.echo(f"{student.space}:{student.arch} ({student.params / 1e6:.3f}M params) -> {out}")
