"""`diswot correlate`: how well proxies rank the architectures of a ground-truth table."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from tqdm import tqdm

from diswot.cli.app import app
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
    OptionalTeacherOption,
    SharedInitOption,
    calibration_cache_of,
)
from diswot.correlation import correlate
from diswot.probe_data import ProbeDataSpec
from diswot.student_search.request import with_space_resolution


@app.command("correlate")
def correlate_command(
    truth: Path = typer.Option(..., help="CSV file with one architecture and its ground truth per row."),
    arch_column: str = typer.Option(..., help="Column holding the architecture strings."),
    truth_column: str = typer.Option(..., help="Column holding the ground truth (higher is better, e.g. accuracy)."),
    sample: Optional[int] = typer.Option(None, help="Score this many rows, drawn with --seed (default: all)."),
    space: str = typer.Option("nb201", help="Search space of the architectures (see `diswot spaces`)."),
    teacher: OptionalTeacherOption = None,
    proxies: Optional[str] = typer.Option(
        None, help="Comma-separated proxies; 'ensemble' or 'ensemble:a+b' adds a mean-rank ensemble, 'logrank' or "
                   "'logrank:a+b' AZ-NAS's sum of log(rank/N), 'aznas' and 'vkdnw_agg' those papers' aggregates. "
                   "Default: every proxy (the teacher-aware ones only with --teacher)."),
    data: DataOption = DEFAULTS["data"],
    batch_size: BatchSizeOption = DEFAULTS["batch_size"],
    image_size: ImageSizeOption = None,
    num_classes: NumClassesOption = DEFAULTS["num_classes"],
    seed: Annotated[int, typer.Option(
        help="Seed of the row sample, the probe batch and every network's init.")] = DEFAULTS["seed"],
    init: InitOption = DEFAULTS["init"],
    inits: InitsOption = DEFAULTS["inits"],
    shared_init: SharedInitOption = DEFAULTS["shared_init"],
    device: DeviceOption = DEFAULTS["device"],
    checkpoint: CheckpointOption = None,
    timing_sample: int = typer.Option(20, help="Candidates on which each proxy is timed alone."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    out: Optional[Path] = typer.Option(None, help="Folder for the table (CSV, JSON), all scores and scatter plots."),
    cache_dir: CacheDirOption = None,
    no_cache: NoCacheOption = False,
) -> None:
    """Score architectures with proxies and compare their rankings with the ground truth."""
    names = [name.strip() for name in proxies.split(",") if name.strip()] if proxies else None
    image_size = with_space_resolution({"space": space, "image_size": image_size})["image_size"]
    data_spec = ProbeDataSpec(source=data, batch_size=batch_size, image_size=image_size, seed=seed)
    with tqdm(desc="scoring", unit="cand", file=sys.stderr, disable=None) as bar:
        def advance(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        report = correlate(
            truth, arch_column, truth_column, space=space, teacher=teacher, proxies=names, data=data_spec,
            num_classes=num_classes, sample=sample, seed=seed, init=init, device=device, checkpoint=checkpoint,
            timing_sample=timing_sample, inits=inits, shared_init=shared_init, on_scored=advance,
            calibration_cache=calibration_cache_of(cache_dir, no_cache),
        )
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        typer.echo(report.format_table())
    if out is not None:
        written = report.write(out)
        typer.echo(f"wrote {len(written)} files to {out}", err=as_json)
