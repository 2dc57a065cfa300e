"""`diswot serve`: run the search service with uvicorn; `diswot submit`: send a search to a server (the client)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, List, Optional

import typer

from diswot.cli.app import app
from diswot.cli.progress import SearchProgressDisplay, progress_display
from diswot.cli.search_command import print_ranking
from diswot.errors import DiswotError
from diswot.student_search import SearchProgress, SearchResult


@app.command("serve")
def serve_command(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on (0.0.0.0 for every interface)."),
    port: int = typer.Option(8000),
    workers: Optional[int] = typer.Option(
        None, help="Searches run at the same time (default: DISWOT_CONCURRENT_JOBS or 1)."
    ),
    db: Optional[str] = typer.Option(
        None,
        help="SQLite file, or any SQLAlchemy URL (default: DISWOT_DATABASE_URL or "
        "DISWOT_DATABASE_PATH, else ./diswot-service.db).",
    ),
    log_level: str = typer.Option("info"),
) -> None:
    """Run the search service (settings from DISWOT_* variables; see the README's Service section)."""
    try:
        import uvicorn

        from api.app import create_app
        from api.sqlite_lock import sqlite_server_lock
    except ImportError as error:
        raise DiswotError(f"the service needs its extra: pip install 'diswot[service]' ({error})") from None
    overrides: dict[str, Any] = {} if workers is None else {"concurrent_jobs": workers}
    settings = service_settings(db, **overrides)
    sqlite_lock = sqlite_server_lock(settings.sqlalchemy_url)
    if sqlite_lock is not None:
        sqlite_lock.check_free()  # a second server on the file: one line now, not a traceback from the app's start
    uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level)


def service_settings(db: Optional[str], **overrides: Any):
    """The service's settings from DISWOT_* variables, `--db` (a SQLite file or a SQLAlchemy URL) and `overrides`;
    a DiswotError naming each variable that is wrong."""
    try:
        from pydantic import ValidationError

        from api.settings import Settings
    except ImportError as error:
        raise DiswotError(f"the service needs its extra: pip install 'diswot[service]' ({error})") from None
    if db is not None:
        overrides.update({"database_url": db} if "://" in db else {"database_url": None, "database_path": Path(db)})
    try:
        return Settings(**overrides)
    except ValidationError as error:
        problems = "; ".join(f"DISWOT_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" if e["loc"]
                             else e["msg"].removeprefix("Value error, ") for e in error.errors())
        raise DiswotError(f"invalid settings: {problems}") from None


def parse_assignment(text: str) -> tuple[str, Any]:
    name, separator, value = text.partition("=")
    if not separator or not name.strip():
        raise DiswotError(f"--set takes FIELD=VALUE, got {text!r}")
    try:
        return name.strip(), json.loads(value)
    except json.JSONDecodeError:
        return name.strip(), value  # a plain string such as 0.5M or nsga2


@app.command("submit")
def submit_command(
    server: str = typer.Option(..., envvar="DISWOT_SERVER", help="Base URL of a diswot server."),
    teacher: str = typer.Option(
        ..., help="Teacher spec: zoo name, SPACE:ARCH or a file in the server's teacher directory."
    ),
    space: str = typer.Option(..., help="Search space (see `diswot spaces`)."),
    strategy: Optional[str] = typer.Option(None),
    evaluations: Optional[int] = typer.Option(None),
    num_classes: Optional[int] = typer.Option(None),
    proxy: Optional[List[str]] = typer.Option(None, help="Proxy to rank by; repeat to record more."),
    max_params: Optional[str] = typer.Option(None, help="e.g. 0.5M"),
    max_flops: Optional[str] = typer.Option(None, help="e.g. 40M"),
    seed: Optional[int] = typer.Option(None),
    top_k: Optional[int] = typer.Option(None),
    assignments: List[str] = typer.Option(
        [], "--set", help="FIELD=VALUE for any other search field, e.g. --set batch_size=32."
    ),
    name: Optional[str] = typer.Option(None, help="A name for the job (the dashboard and listings show it)."),
    tag: Optional[List[str]] = typer.Option(None, help="A tag for the job (repeat for more); listings filter by tag."),
    note: Optional[str] = typer.Option(None, help="A note kept with the job."),
    wait: bool = typer.Option(False, "--wait", help="Follow the job and print the ranked students."),
    out: Optional[Path] = typer.Option(
        None, help="With --wait: write the result here (a result.json `diswot export` reads)."
    ),
    api_key: Optional[str] = typer.Option(None, envvar="DISWOT_API_KEY", help="The server's API key, if it has one."),
) -> None:
    """Submit a search to a diswot server; options left out take the server's defaults."""
    from diswot.client import Client

    options = dict(
        strategy=strategy,
        evaluations=evaluations,
        num_classes=num_classes,
        max_params=max_params,
        max_flops=max_flops,
        seed=seed,
        top_k=top_k,
        proxies=proxy or None,
    )
    request = {"teacher": teacher, "space": space, **{k: v for k, v in options.items() if v is not None}}
    request.update(parse_assignment(text) for text in assignments)
    labels = {"name": name, "tags": tag or None, "note": note}
    request.update({field: value for field, value in labels.items() if value is not None})
    with Client(server, api_key=api_key) as client:
        job = client.submit(request)
        typer.echo(f"search job {job['id']} queued: {server.rstrip('/')}/v1/searches/{job['id']}")
        if not wait:
            return
        with SearchProgressDisplay(progress_display()) as display:

            def show(state: dict) -> None:
                progress = state["progress"]
                if progress["stage"] is not None:
                    display(SearchProgress(progress["stage_done"], progress["stage_total"], progress["best_score"],
                                           progress["elapsed"] or 0.0, stage=progress["stage"]))

            job = client.wait(job["id"], on_progress=show)
        if job["status"] != "succeeded":
            raise DiswotError(f"search job {job['id']} {job['status']}" + (f": {job['error']}" if job["error"] else ""))
        document = client.result(job["id"], history=True)
    result = SearchResult.from_dict(document)
    print_ranking(result)
    if out is not None:
        out.write_text(json.dumps(result.to_dict(), indent=2))
        typer.echo(f"result: {out}")
