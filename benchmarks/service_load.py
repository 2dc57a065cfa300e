"""Service load: many clients polling a job and listing jobs while a search runs, all on loopback.

    python benchmarks/service_load.py [--clients 50] [--seconds 15] [--json]

Starts `diswot serve` on a free 127.0.0.1 port with a fresh SQLite database, fills it with a few finished jobs,
starts a long search, then runs `--clients` concurrent diswot.client.AsyncClient loops for `--seconds`, each
alternating GET /v1/searches/{id} and GET /v1/searches?limit=20. Prints p50/p99 latency per request kind,
requests/s, errors, and how many candidates the search scored meanwhile (the worker must not starve). Then it
cancels the search and stops the server. The load generator shares the machine's cores with the server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from diswot.client import AsyncClient, Client, ServiceError

# The server harness is the tests' own (tests/local_server.py): it is not part of the installed package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from local_server import LocalServer  # noqa: E402

SEARCH = dict(teacher="resnet8", space="resnet_cifar_wide", num_classes=10, batch_size=8, population=8, sample_size=3)
FINISHED_JOBS = 20


async def poll_and_list(url: str, job_id: str, deadline: float, latencies: dict[str, list[float]]) -> int:
    """One client's loop until the deadline; returns how many requests failed."""
    errors = 0
    async with AsyncClient(url, timeout=30) as client:
        calls = (("status", lambda: client.get(job_id)), ("list", lambda: client.list(limit=20)))
        await client.get(job_id)  # connect first: the steady state is measured, not 50 simultaneous handshakes
        turn = 0
        while time.monotonic() < deadline:
            kind, call = calls[turn % 2]
            turn += 1
            started = time.perf_counter()
            try:
                await call()
            except (ServiceError, OSError, asyncio.TimeoutError):
                errors += 1
                continue
            latencies[kind].append(time.perf_counter() - started)
    return errors


async def run_load(url: str, job_id: str, clients: int, seconds: float) -> tuple[dict[str, list[float]], int, float]:
    latencies: dict[str, list[float]] = {"status": [], "list": []}
    started = time.monotonic()
    errors = await asyncio.gather(*(poll_and_list(url, job_id, started + seconds, latencies) for _ in range(clients)))
    return latencies, sum(errors), time.monotonic() - started


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def summary(latencies: list[float], wall: float) -> dict[str, float]:
    return {
        "requests": len(latencies),
        "requests_per_s": len(latencies) / wall,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * percentile(latencies, 0.99),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--json", action="store_true", help="Print one JSON object instead of a table.")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        # One torch thread: the search should not fight the HTTP workers for the cores with spinning threads.
        with (
            LocalServer(Path(folder) / "jobs.db", Path(folder) / "server.log", env={"OMP_NUM_THREADS": "1"}) as server,
            Client(server.url) as client,
        ):
            for seed in range(FINISHED_JOBS):
                client.submit(SEARCH, evaluations=1, seed=seed)
            job = client.submit(SEARCH, evaluations=5000)
            deadline = time.monotonic() + 120
            while client.get(job["id"])["status"] != "running":
                if time.monotonic() > deadline:
                    raise SystemExit(f"the search did not start within 120 s:\n{server.log_tail()}")
                time.sleep(0.05)
            before = client.get(job["id"])["progress"]["evaluations"]
            latencies, errors, wall = asyncio.run(run_load(server.url, job["id"], args.clients, args.seconds))
            after = client.get(job["id"])["progress"]["evaluations"]
            client.cancel(job["id"])

    report = {
        "clients": args.clients,
        "seconds": round(wall, 2),
        "errors": errors,
        "all": summary(latencies["status"] + latencies["list"], wall),
        "status": summary(latencies["status"], wall),
        "list": summary(latencies["list"], wall),
        "search_evaluations_during_load": after - before,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(
        f"{args.clients} clients for {wall:.1f} s on loopback, {errors} errors; the search scored "
        f"{after - before} candidates meanwhile"
    )
    print(f"{'requests':<22} {'count':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for name, label in (("status", "GET /v1/searches/{id}"), ("list", "GET /v1/searches"), ("all", "all")):
        row = report[name]
        rate, p50, p99 = row["requests_per_s"], row["p50_ms"], row["p99_ms"]
        print(f"{label:<22} {row['requests']:>7} {rate:>8.1f} {p50:>8.1f} {p99:>8.1f}")


if __name__ == "__main__":
    main()
