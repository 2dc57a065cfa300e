"""`diswot spaces`, `diswot teachers`, `diswot proxies`: what exists, by name."""

from __future__ import annotations

import json

import typer

from diswot.cli.app import app
from diswot.proxies import PROXIES
from search_spaces import SPACES
from diswot.teachers import IMAGENET_PREFIX
from search_spaces.imagenet_models import IMAGENET_MODELS
from search_spaces.zoo import list_models

JSON_OPTION = typer.Option(False, "--json", help="Print JSON instead of a table.")


@app.command("spaces")
def spaces_command(as_json: bool = JSON_OPTION) -> None:
    """List the search spaces."""
    rows = [
        {
            "name": name,
            "size": space.size(),
            "image_size": space.default_image_size,
            "description": space.description,
            "reference_points": space.reference_points,
        }
        for name, space in ((name, SPACES.get(name)) for name in SPACES)
    ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        # sizes beyond a few million are read as orders of magnitude
        size = f"{row['size']:>9}" if row["size"] < 10**7 else f"{row['size']:>9.2e}"
        typer.echo(f"{row['name']:<18} {size}  {row['description']}")
        for name, arch in row["reference_points"].items():
            typer.echo(f"{'':<30}{name}: {arch}")


@app.command("teachers")
def teachers_command(as_json: bool = JSON_OPTION) -> None:
    """List the named teachers: the CIFAR zoo (any of them can also be a student, through the `zoo` space) and the
    ImageNet models (`imagenet:NAME`, whose torchvision/timm checkpoints load with --checkpoint)."""
    names = list_models() + [f"{IMAGENET_PREFIX}:{name}" for name in IMAGENET_MODELS.names()]
    if as_json:
        typer.echo(json.dumps(names))
        return
    typer.echo("\n".join(names))
    typer.echo("\nAlso: SPACE:ARCH (e.g. nb201:'|nor_conv_3x3~0|+...'), or a TorchScript file path.")


@app.command("proxies")
def proxies_command(as_json: bool = JSON_OPTION) -> None:
    """List the proxies; every score is reported so that higher is better."""
    rows = [PROXIES.get(name).describe() for name in PROXIES]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        needs = [need for need in ("teacher", "labels", "grad") if row[f"needs_{need}"]]
        typer.echo(f"{row['name']:<18} needs {'+'.join(needs) or 'nothing':<20} {row['summary']}")
