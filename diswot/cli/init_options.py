"""The init options every scoring command takes (`score`, `search`, `correlate`), defined once."""

from __future__ import annotations

import typer

INITS_OPTION = typer.Option(
    1, help="Random inits of each student; its scores are their mean (less init noise, N times the cost)."
)
SHARED_INIT_OPTION = typer.Option(
    False, "--shared-init", help="Draw every layer from a seed of its name and shape: students that share a "
    "layer start it alike (common random numbers; a smoother landscape for the search)."
)
