"""`diswot score`: score given architectures against a teacher."""

from __future__ import annotations

import json
import sys
from typing import List, Optional

import typer
from tqdm import tqdm

from diswot.cli.app import app
from diswot.cli.init_options import INITS_OPTION, SHARED_INIT_OPTION
from diswot.devices import DEVICE_CHOICES
from diswot.probe_data import ProbeDataSpec
from diswot.proxies import DEFAULT_ALIAS, DEFAULT_PROXY
from diswot.scorer import CandidateScore
from diswot.scoring import score


def format_record(record: CandidateScore) -> str:
    terms = " ".join(f"{name}={value:.6g}" for name, value in record.terms.items())
    others = " ".join(f"{name}={value:.6g}" for name, value in record.scores.items() if len(record.scores) > 1)
    return (
        f"{record.arch}  canonical={record.canonical}  score={record.score:.6g}  {terms} {others}".rstrip()
        + f"  params={record.params / 1e6:.3f}M  flops={record.flops / 1e6:.2f}M"
    )


@app.command("score")
def score_command(
    teacher: str = typer.Option(..., help="Teacher spec: zoo name, SPACE:ARCH or TorchScript file."),
    space: str = typer.Option(..., help="Search space of the candidates (see `diswot spaces`)."),
    arch: List[str] = typer.Option(..., help="Candidate architecture; repeat for several."),
    data: str = typer.Option("synthetic", help="Probe data: synthetic, PATH.npz, cifar:DIR or folder:DIR."),
    batch_size: int = typer.Option(64, help="Probe batch size."),
    image_size: int = typer.Option(32, help="Probe image resolution."),
    num_classes: int = typer.Option(100, help="Classes of teacher and students."),
    proxy: List[str] = typer.Option(
        [DEFAULT_ALIAS], help=f"Proxy ('{DEFAULT_ALIAS}' = {DEFAULT_PROXY}); repeat for several (the first is `score`)."
    ),
    seed: int = typer.Option(0, help="Seed of the probe batch and of every network's init."),
    init: str = typer.Option("default", help="Init scheme: default (PyTorch) or gaussian (the paper's)."),
    inits: int = INITS_OPTION,
    shared_init: bool = SHARED_INIT_OPTION,
    device: str = typer.Option("auto", help=f"One of {', '.join(DEVICE_CHOICES)}."),
    checkpoint: Optional[str] = typer.Option(None, help="Trained teacher weights (a state dict file)."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list of records."),
) -> None:
    """Score candidate students against a teacher, one record per candidate."""
    data_spec = ProbeDataSpec(source=data, batch_size=batch_size, image_size=image_size, seed=seed)
    with tqdm(total=len(arch), desc="scoring", unit="cand", file=sys.stderr, disable=None) as bar:
        records = score(
            teacher,
            space,
            arch,
            num_classes=num_classes,
            data=data_spec,
            proxies=proxy,
            seed=seed,
            init=init,
            inits=inits,
            shared_init=shared_init,
            device=device,
            checkpoint=checkpoint,
            on_scored=lambda _: bar.update(),
        )
    if as_json:
        typer.echo(json.dumps([record.to_dict() for record in records], indent=2))
    else:
        for record in records:
            typer.echo(format_record(record))
