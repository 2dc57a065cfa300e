"""Scale-out: how long a dead replica's job waits for another replica, and Ray's scheduling on two nodes vs one.

    python benchmarks/scale_out.py --database-url postgresql+psycopg://USER@HOST/DB [--repeats 3]
    (`.ci/postgres start` prints such a URL; without one the takeover part is skipped, saying so)

1. Takeover: replica A (`diswot serve`) runs a long search on a fresh PostgreSQL database; replica B is started
   beside it (it must not take the job: its lease is alive); A is killed with SIGKILL at a random moment of its
   renewal period; the time from the kill until B holds the job's lease is measured in the database (polled every
   20 ms), for the default lease (30 s, renewed every 10 s) and a short one (6 s, every 2 s). Then the job is
   cancelled, and the next repeat starts A again.
2. Ray on two nodes vs one: a Ray cluster started with `ray start` on this machine, once as one node of 4 CPUs
   and once as two nodes of 2 CPUs each (a head and a second raylet); 4 actors score the candidates of a search
   with a stand-in scorer that sleeps 0.2 s (benchmarks/executor_scaling.py's), concurrency 8 (twice the
   workers), 10 candidates per worker. Scheduling efficiency = ideal time (candidates x 0.2 s / 4) over the wall
   time from the first task submitted to the last outcome taken.

Writes benchmarks/results/scale_out.{json,md}.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
# The harnesses are the tests' own (tests/local_server.py, tests/ray_cluster_testing.py): not in the package.
sys.path.insert(0, str(ROOT / "tests"))
from local_server import LocalServer  # noqa: E402
from ray_cluster_testing import RayCluster  # noqa: E402

from api.db import Database, JobRow  # noqa: E402
from diswot.client import Client  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
LONG_SEARCH = dict(teacher="resnet8", space="resnet_cifar_wide", num_classes=10, batch_size=8, population=8,
                   sample_size=3, proxies=["diswot"], confirm_top=0, evaluations=5000)
LEASES = [(30.0, 10.0), (6.0, 2.0)]  # (lease, renewal): the defaults, and a short lease


def fresh_database(url: str) -> str:
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    name = f"diswot_scale_out_{int(time.time())}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def holder(database: Database, job_id: str) -> str:
    with database.session() as session:
        row = session.get(JobRow, job_id)
        return row.lease_owner if row.status == "running" else ""


def takeover_seconds(url: str, lease: float, renewal: float, repeats: int, folder: Path) -> list[float]:
    env = {"OMP_NUM_THREADS": "1", "DISWOT_LEASE_SECONDS": str(lease), "DISWOT_LEASE_RENEWAL_SECONDS": str(renewal)}
    database = Database(url)
    a, b = LocalServer(url, folder / "a.log", env=env), LocalServer(url, folder / "b.log", env=env)
    measured = []
    try:
        for repeat in range(repeats):
            a.start()
            with Client(a.url) as client:
                job_id = client.submit(LONG_SEARCH)["id"]
            while f":{a.process.pid}:" not in holder(database, job_id):
                time.sleep(0.02)
            if b.process is None or b.process.poll() is not None:
                b.start()
            time.sleep(renewal + random.uniform(0, renewal))  # anywhere in A's renewal period
            assert f":{a.process.pid}:" in holder(database, job_id), "B took a job whose lease was alive"
            a.kill()
            killed = time.monotonic()
            while f":{b.process.pid}:" not in holder(database, job_id):
                time.sleep(0.02)
            measured.append(time.monotonic() - killed)
            print(f"lease {lease:g} s, renewed every {renewal:g} s: taken over {measured[-1]:.2f} s after the kill",
                  flush=True)
            with Client(b.url) as client:
                client.cancel(job_id)
                client.wait(job_id, timeout=120)
    finally:
        a.stop(), b.stop()
        database.dispose()
    return measured


def ray_efficiency(cpus_per_node: list[int], per_worker: int, duration: float) -> dict:
    import ray
    from executor_scaling import TimedRayExecutor, stand_in_scorer

    from diswot.student_search import SearchRequest, search

    workers = sum(cpus_per_node)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "benchmarks")])}
    cluster = RayCluster(cpus_per_node, env)
    try:
        os.environ["RAY_AUTH_MODE"] = "disabled"
        ray.init(address=cluster.address, log_to_driver=False)
        config = SearchRequest.parse(dict(teacher="resnet8", space="nb201", num_classes=100, evaluations=workers *
                                          per_worker, population=workers * per_worker // 2, sample_size=4,
                                          proxies=["params"], confirm_top=0, concurrency=2 * workers))
        executor = TimedRayExecutor(workers, address=cluster.address, score_function=stand_in_scorer(duration))
        with executor:
            result = search(config, executor=executor)
            nodes = cluster.nodes_running_actors()
        seconds = executor.last_taken - executor.first_submitted
        ideal = result.evaluations * duration / workers
    finally:
        ray.shutdown()
        cluster.stop()
    print(f"Ray, nodes of {cpus_per_node} CPUs: {result.evaluations} candidates in {seconds:.2f} s "
          f"(ideal {ideal:.2f} s, efficiency {ideal / seconds:.1%})", flush=True)
    return {"cpus_per_node": cpus_per_node, "workers": workers, "evaluations": result.evaluations,
            "seconds": seconds, "ideal_seconds": ideal, "efficiency": ideal / seconds,
            "nodes_with_actors": sorted(nodes)}


def write_markdown(figures: dict, path: Path) -> None:
    lines = [f"# Scale-out ({figures['date']}, {figures['machine']})", "", f"`{figures['command']}`", ""]
    if "takeover" in figures:
        lines += ["| lease, renewal | takeover after the kill: each run (s) | median (s) |", "|---|---|---|"]
        for run in figures["takeover"]:
            lines.append(f"| {run['lease']:g} s, {run['renewal']:g} s | "
                         f"{', '.join(f'{s:.2f}' for s in run['seconds'])} | {statistics.median(run['seconds']):.2f} |")
        lines.append("")
    else:
        lines += [f"Takeover not measured: {figures['takeover_skipped']}", ""]
    lines += ["| Ray nodes (CPUs each) | actors | candidates | seconds | ideal | efficiency |",
              "|---|---|---|---|---|---|"]
    for run in figures["ray"]:
        lines.append(f"| {len(run['cpus_per_node'])} ({', '.join(map(str, run['cpus_per_node']))}) | {run['workers']} "
                     f"| {run['evaluations']} | {run['seconds']:.2f} | {run['ideal_seconds']:.2f} | "
                     f"{run['efficiency']:.1%} |")
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("DISWOT_TEST_POSTGRES_URL"),
                        help="A PostgreSQL server (default: DISWOT_TEST_POSTGRES_URL); a new database is made on it.")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--per-worker", type=int, default=10)
    parser.add_argument("--stand-in-seconds", type=float, default=0.2)
    args = parser.parse_args()
    figures = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "command": " ".join(["python", "benchmarks/scale_out.py", *sys.argv[1:]]).replace(
            args.database_url or "\0", "URL"),
    }
    if args.database_url:
        url = fresh_database(args.database_url)
        with tempfile.TemporaryDirectory() as folder:
            figures["takeover"] = [
                {"lease": lease, "renewal": renewal,
                 "seconds": takeover_seconds(url, lease, renewal, args.repeats, Path(folder))}
                for lease, renewal in LEASES
            ]
    else:
        figures["takeover_skipped"] = "no --database-url (or DISWOT_TEST_POSTGRES_URL) was given"
        print(f"takeover skipped: {figures['takeover_skipped']}", flush=True)
    figures["ray"] = [ray_efficiency(layout, args.per_worker, args.stand_in_seconds) for layout in ([4], [2, 2])]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "scale_out.json").write_text(json.dumps(figures, indent=2))
    write_markdown(figures, RESULTS / "scale_out.md")
    print(f"wrote {RESULTS / 'scale_out'}.{{json,md}}")


if __name__ == "__main__":
    main()
