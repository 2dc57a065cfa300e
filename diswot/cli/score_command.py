"""`diswot score`: score given architectures against a teacher."""

from __future__ import annotations

import json
import sys
from typing import Annotated, List

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
    ProxyOption,
    SeedOption,
    SharedInitOption,
    TeacherOption,
    calibration_cache_of,
)
from diswot.proxies import DEFAULT_ALIAS
from diswot.scorer import CandidateScore
from diswot.scoring import score
from diswot.student_search.request import scoring_setup_of


def format_record(record: CandidateScore) -> str:
    terms = " ".join(f"{name}={value:.6g}" for name, value in record.terms.items())
    others = " ".join(f"{name}={value:.6g}" for name, value in record.scores.items() if len(record.scores) > 1)
    return (
        f"{record.arch}  canonical={record.canonical}  score={record.score:.6g}  {terms} {others}".rstrip()
        + f"  params={record.params / 1e6:.3f}M  flops={record.flops / 1e6:.2f}M"
    )


@app.command("score")
def score_command(
    teacher: TeacherOption,
    space: Annotated[str, typer.Option(help="Search space of the candidates (see `diswot spaces`).")],
    arch: Annotated[List[str], typer.Option(help="Candidate architecture; repeat for several.")],
    data: DataOption = DEFAULTS["data"],
    batch_size: BatchSizeOption = DEFAULTS["batch_size"],
    image_size: ImageSizeOption = None,
    num_classes: NumClassesOption = DEFAULTS["num_classes"],
    proxy: ProxyOption = [DEFAULT_ALIAS],
    seed: SeedOption = DEFAULTS["seed"],
    init: InitOption = DEFAULTS["init"],
    inits: InitsOption = DEFAULTS["inits"],
    shared_init: SharedInitOption = DEFAULTS["shared_init"],
    device: DeviceOption = DEFAULTS["device"],
    checkpoint: CheckpointOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list of records.")] = False,
    cache_dir: CacheDirOption = None,
    no_cache: NoCacheOption = False,
) -> None:
    """Score candidate students against a teacher, one record per candidate (the first proxy is `score`)."""
    setup = scoring_setup_of(dict(
        teacher=teacher, space=space, data=data, batch_size=batch_size, image_size=image_size, num_classes=num_classes,
        proxies=list(proxy), seed=seed, init=init, inits=inits, shared_init=shared_init, device=device,
        checkpoint=checkpoint,
    ))
    with tqdm(total=len(arch), desc="scoring", unit="cand", file=sys.stderr, disable=None) as bar:
        records = score(setup, space, arch, on_scored=lambda _: bar.update(),
                        calibration_cache=calibration_cache_of(cache_dir, no_cache))
    if as_json:
        typer.echo(json.dumps([record.to_dict() for record in records], indent=2))
    else:
        for record in records:
            typer.echo(format_record(record))
