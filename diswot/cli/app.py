"""The typer app and the one place where a DiswotError becomes a one-line message and a non-zero exit."""

from __future__ import annotations

import sys

import typer

from diswot.errors import DiswotError

app = typer.Typer(
    name="diswot",
    help="Training-free student-architecture search for knowledge distillation (DisWOT).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

EXIT_BAD_INPUT = 2


def main() -> None:
    from diswot.cli import (  # noqa: F401  (registration)
        batch_command,
        correlate_command,
        db_commands,
        distill_command,
        list_commands,
        score_command,
        search_command,
        service_commands,
    )

    try:
        app()
    except DiswotError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)
    except FileNotFoundError as error:
        print(f"error: {error.strerror}: {error.filename}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)
