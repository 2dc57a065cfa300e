"""Executor scaling: one NB201 search on each executor on this machine, then Ray's scheduling in a simulated cluster.

    python benchmarks/executor_scaling.py [--evaluations 400] [--cluster-cpus 8 32 128]

1. The same aging-evolution search (resnet56 teacher, NB201, batch 64, default proxy and confirm stage,
   concurrency 4, the default for 2 workers) in-process at 2 torch threads, with 2 single-thread process workers
   and on a local Ray with 2 CPUs (and, as the reference the workers must equal to the last bit, in-process at 1
   thread), each `--repeats` times, interleaved. Reports wall times (worker start-up included), candidates/s at
   the median, the ratios to in-process at 2 and at 1 thread, whether the students (scores included) are
   identical, and the published DisWOT procedure's cost per candidate measured in the same run.
2. A simulated cluster: Ray with 8, 32 and 128 logical CPUs on this machine, every candidate scored by a stand-in
   that sleeps 0.2 s (no torch in the workers), `--concurrency` = workers and 2x workers, 10 candidates per
   worker. The scheduling efficiency is ideal time (candidates x 0.2 s / workers) over the wall time from the
   first task submitted to the last outcome taken (the whole search, its actors' start included, is reported
   beside it); plain Ray on the same number of tasks, all submitted at once, after a warm-up, beside it.

Writes benchmarks/results/executor_scaling.{json,md,png}. Run it on a quiet machine: every figure is a wall time.
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
import time
import zlib
from pathlib import Path

import torch

from diswot.candidate_score import CandidateScore
from diswot.executors import ExecutorSpec, InProcessExecutor, ProcessPoolScoringExecutor, RayExecutor
from diswot.executors.tasks import ScoringOutcome
from diswot.probe_data import ProbeDataSpec, load_probe_batch
from diswot.published_procedure import published_diswot_score
from diswot.student_search import SearchRequest, search
from search_spaces import get_space

RESULTS = Path(__file__).resolve().parent / "results"
TARGET_RATIO = 1.6  # two workers against in-process at two threads
TARGET_EFFICIENCY_AT_32 = 0.9


WORKERS = 2


def local_config(evaluations: int) -> SearchRequest:
    return SearchRequest.parse(dict(teacher="resnet56", space="nb201", num_classes=100, strategy="aging",
                                       evaluations=evaluations, batch_size=64, device="cpu",
                                       concurrency=ExecutorSpec("process", WORKERS).default_concurrency))


def timed_search(config: SearchRequest, executor, threads: int) -> tuple[float, dict]:
    torch.set_num_threads(threads)
    started = time.perf_counter()
    with executor:
        result = search(config, executor=executor)
    return time.perf_counter() - started, result.to_dict()


def local_runs(evaluations: int, repeats: int) -> dict:
    """Every executor `repeats` times, interleaved (wall times on a shared machine drift between minutes)."""
    config = local_config(evaluations)
    executors = [
        ("in-process, 2 threads", InProcessExecutor, 2),
        ("in-process, 1 thread", InProcessExecutor, 1),
        # The searching process runs at one thread too: it measures nothing the workers score with, but its
        # threads would compete with theirs for the two cores.
        (f"{WORKERS} process workers, 1 thread each", lambda: ProcessPoolScoringExecutor(workers=WORKERS), 1),
        (f"local Ray, {WORKERS} CPUs", lambda: RayExecutor(workers=WORKERS), 1),
    ]
    runs = {name: {"seconds": []} for name, _, _ in executors}
    for repeat in range(repeats):
        for name, make, threads in executors:
            seconds, result = timed_search(config, make(), threads)
            run = runs[name]
            run["seconds"].append(seconds)
            run["scored"] = result["evaluations"] + sum(1 for e in result["history"] if e.get("failure"))
            run["executor"] = result["executor"]
            run.setdefault("students", result["students"])
            run["same_students_every_repeat"] = run.get("same_students_every_repeat", True) and (
                result["students"] == run["students"])
            print(f"{name} (repeat {repeat + 1}): {seconds:.1f} s, {run['scored'] / seconds:.2f} candidates/s",
                  flush=True)
    for run in runs.values():
        run["median_seconds"] = statistics.median(run["seconds"])
        run["candidates_per_second"] = run["scored"] / run["median_seconds"]
    two_threads, one_thread = runs["in-process, 2 threads"], runs["in-process, 1 thread"]
    for run in runs.values():
        run["ratio_to_in_process"] = run["candidates_per_second"] / two_threads["candidates_per_second"]
        run["ratio_to_one_thread"] = run["candidates_per_second"] / one_thread["candidates_per_second"]
        run["students_identical_to_in_process_2_threads"] = run["students"] == two_threads["students"]
        run["students_identical_to_in_process_1_thread"] = run["students"] == one_thread["students"]
        run["max_score_difference_to_in_process_2_threads"] = max_score_difference(run["students"],
                                                                                   two_threads["students"])
    for run in runs.values():
        del run["students"]
    import ray

    ray.shutdown()  # the local Ray of the Ray runs: each simulated cluster starts its own
    return runs


def max_score_difference(students, reference) -> float | None:
    """The largest |score difference| over students of the same arch at the same rank (None: rankings differ)."""
    if [s["arch"] for s in students] != [s["arch"] for s in reference]:
        return None
    return max(abs(a["score"] - b["score"]) for a, b in zip(students, reference))


def published_seconds_per_candidate(candidates: int) -> float:
    space = get_space("nb201")
    rng = random.Random(0)
    cells = [space.sample(rng) for _ in range(candidates)]
    probe = load_probe_batch(ProbeDataSpec(batch_size=64), 100)
    torch.set_num_threads(2)
    started = time.perf_counter()
    for cell in cells:
        published_diswot_score("resnet56", space, cell, probe.images, probe.labels, 100)
    return (time.perf_counter() - started) / candidates


def stand_in_scorer(duration: float):
    """A task that takes `duration` seconds and scores a candidate by a hash of its name (torch-free)."""

    def score(setup, task) -> ScoringOutcome:
        time.sleep(duration)
        value = zlib.crc32(task.canonical.encode()) / 2**32
        return ScoringOutcome(CandidateScore(task.space, task.canonical, task.canonical, value, {"stand_in": value},
                                             seconds=duration))

    return score


class InstantExecutor(InProcessExecutor):
    """Scores every candidate at once with the stand-in's hash: what is left is the search loop's own work."""

    def next_outcome(self):
        task = self.queued.popleft()
        value = zlib.crc32(task.canonical.encode()) / 2**32
        return ScoringOutcome(CandidateScore(task.space, task.canonical, task.canonical, value, {"stand_in": value}))


def loop_milliseconds_per_candidate(evaluations: int = 400, concurrency: int = 32) -> float:
    config = SearchRequest.parse(dict(teacher="resnet8", space="nb201", num_classes=100, evaluations=evaluations,
                                         proxies=["params"], confirm_top=0, concurrency=concurrency))
    search(config, executor=InstantExecutor())  # warm-up
    started = time.perf_counter()
    search(config, executor=InstantExecutor())
    return (time.perf_counter() - started) / evaluations * 1000


def cpu_jiffies() -> tuple[int, int] | None:
    """(busy, total) CPU time of the whole machine so far, from /proc/stat (None where there is none)."""
    try:
        fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return None
    return sum(fields) - fields[3] - fields[4], sum(fields)  # idle and iowait are not busy


class TimedRayExecutor(RayExecutor):
    """The Ray executor, timing the scheduling alone: from the first task submitted to the last outcome taken, and
    how busy the machine's real cores were meanwhile."""

    first_submitted = last_taken = cpu_at_first = cpu_at_last = None

    def submit(self, task) -> None:
        if self.first_submitted is None:
            self.first_submitted, self.cpu_at_first = time.perf_counter(), cpu_jiffies()
        super().submit(task)

    def next_outcome(self):
        outcome = super().next_outcome()
        self.last_taken, self.cpu_at_last = time.perf_counter(), cpu_jiffies()
        return outcome

    def cpu_busy(self) -> float | None:
        if self.cpu_at_first is None:
            return None
        return (self.cpu_at_last[0] - self.cpu_at_first[0]) / (self.cpu_at_last[1] - self.cpu_at_first[1])


def cluster_runs(cpus: int, per_worker: int, duration: float, concurrencies: list[int]) -> list[dict]:
    """The simulated cluster of `cpus` logical CPUs: one search per concurrency (x workers), and plain Ray."""
    import ray

    ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
    try:
        plain_ray_seconds(ray, cpus, cpus, duration)  # starts Ray's task workers
        plain_seconds = plain_ray_seconds(ray, cpus * per_worker, cpus, duration)
        return [cluster_run(cpus, per_worker, duration, cpus * times, plain_seconds) for times in concurrencies]
    finally:
        ray.shutdown()


def cluster_run(cpus: int, per_worker: int, duration: float, concurrency: int, plain_seconds: float) -> dict:
    evaluations = cpus * per_worker
    # A cost proxy and no confirm stage: the parent's own scorer costs next to nothing, the stand-in does the work.
    config = SearchRequest.parse(dict(teacher="resnet8", space="nb201", num_classes=100, strategy="aging",
                                         evaluations=evaluations, population=min(100, evaluations // 2),
                                         sample_size=min(10, evaluations // 4), proxies=["params"], confirm_top=0,
                                         concurrency=concurrency))
    executor = TimedRayExecutor(cpus, score_function=stand_in_scorer(duration))
    started = time.perf_counter()
    with executor:
        result = search(config, executor=executor)
    search_seconds = time.perf_counter() - started
    seconds = executor.last_taken - executor.first_submitted
    ideal = result.evaluations * duration / cpus
    busy = executor.cpu_busy()
    print(f"simulated cluster, {cpus} CPUs, concurrency {concurrency}: {result.evaluations} candidates in "
          f"{seconds:.2f} s (ideal {ideal:.2f} s, efficiency {ideal / seconds:.1%}; the whole search "
          f"{search_seconds:.2f} s; plain Ray {plain_seconds:.2f} s, {ideal / plain_seconds:.1%})", flush=True)
    return {"cpus": cpus, "concurrency": concurrency, "evaluations": result.evaluations, "seconds": seconds,
            "search_seconds": search_seconds, "ideal_seconds": ideal, "efficiency": ideal / seconds,
            "machine_cpu_busy": busy, "plain_ray_seconds": plain_seconds, "plain_ray_efficiency": ideal / plain_seconds}


def plain_ray_seconds(ray, tasks: int, cpus: int, duration: float) -> float:
    """The same number of sleeping tasks submitted all at once to plain Ray: what Ray alone achieves here."""

    @ray.remote(num_cpus=1)
    def nap() -> None:
        time.sleep(duration)

    started = time.perf_counter()
    ray.get([nap.remote() for _ in range(tasks)])
    return time.perf_counter() - started


def write_markdown(figures: dict, path: Path) -> None:
    lines = [f"# Executor scaling ({figures['date']}, {figures['machine']})", "", f"Command: `{figures['command']}`", ""]
    if figures.get("local"):
        concurrency = ExecutorSpec("process", WORKERS).default_concurrency
        lines += [f"## One {figures['evaluations']}-evaluation NB201 search (resnet56 teacher, batch 64, concurrency "
                  f"{concurrency}: the default for {WORKERS} workers)", "",
                  "| executor | seconds, each repeat | candidates/s (median) | ratio to in-process 2 threads | ratio to "
                  "in-process 1 thread | students identical to in-process 2 threads / 1 thread | max score difference "
                  "to 2 threads |", "|---|---|---|---|---|---|---|"]
        for name, run in figures["local"].items():
            difference = run["max_score_difference_to_in_process_2_threads"]
            lines.append(
                f"| {name} | {', '.join(f'{s:.1f}' for s in run['seconds'])} | {run['candidates_per_second']:.2f} | "
                f"{run['ratio_to_in_process']:.2f}x | {run['ratio_to_one_thread']:.2f}x | "
                f"{run['students_identical_to_in_process_2_threads']} / "
                f"{run['students_identical_to_in_process_1_thread']} | "
                f"{'ranking differs' if difference is None else f'{difference:.3g}'} |")
        published = figures["published_seconds_per_candidate"]
        lines += ["", f"Published DisWOT procedure: {published:.3f} s per candidate ({1 / published:.2f} candidates/s); "
                  f"target for two workers: >= {TARGET_RATIO}x in-process at 2 threads. Repeats run interleaved; "
                  "every repeat of a run gave the same students: "
                  f"{all(run['same_students_every_repeat'] for run in figures['local'].values())}.", ""]
    if figures.get("cluster"):
        lines += ["## Simulated cluster: Ray, a 0.2 s stand-in scorer", "",
                  "| logical CPUs (workers) | concurrency | candidates | scheduling seconds | ideal seconds | scheduling "
                  "efficiency | real cores busy | whole search seconds | plain Ray, same tasks: seconds (efficiency) |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for run in figures["cluster"]:
            busy = "n/a" if run["machine_cpu_busy"] is None else f"{run['machine_cpu_busy']:.0%}"
            lines.append(f"| {run['cpus']} | {run['concurrency']} | {run['evaluations']} | {run['seconds']:.2f} | "
                         f"{run['ideal_seconds']:.2f} | {run['efficiency']:.1%} | {busy} | {run['search_seconds']:.2f} | "
                         f"{run['plain_ray_seconds']:.2f} ({run['plain_ray_efficiency']:.1%}) |")
        lines += ["", f"Target: >= {TARGET_EFFICIENCY_AT_32:.0%} at 32 workers. Scheduling seconds run from the first "
                  "task submitted to the last outcome taken (the actors are up by then; the whole search, their "
                  "start included, is beside it). The search loop's own work is "
                  f"{figures['loop_milliseconds_per_candidate']:.2f} ms per candidate (ask, cost, submit, store, tell, "
                  "the whole search included: 400 NB201 candidates with an instant scorer). Real cores busy: the "
                  "share of this machine's cores in use during the scheduling seconds (every logical CPU's actor, "
                  "the raylet and the searching process share them). At concurrency = workers each actor waits, "
                  "after its candidate, for the searching process to take the oldest outcome, tell it, ask and send "
                  "the next candidate; at 2x workers a candidate is already waiting for it.", ""]
    path.write_text("\n".join(lines))


def write_plot(figures: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [key for key in ("local", "cluster") if figures.get(key)]
    figure, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4), squeeze=False)
    for axis, key in zip(axes[0], panels):
        if key == "local":
            names = list(figures["local"])
            axis.barh(names, [figures["local"][n]["candidates_per_second"] for n in names], color="C0")
            axis.set_xlabel("candidates/s")
            axis.set_title(f"{figures['evaluations']}-evaluation NB201 search", fontsize=10)
        else:
            runs = figures["cluster"]
            for times in sorted({run["concurrency"] // run["cpus"] for run in runs}):
                chosen = [run for run in runs if run["concurrency"] == times * run["cpus"]]
                axis.plot([r["cpus"] for r in chosen], [100 * r["efficiency"] for r in chosen], "o-",
                          label=f"concurrency {times}x workers")
            plain = [run for run in runs if run["concurrency"] == run["cpus"]]
            axis.plot([r["cpus"] for r in plain], [100 * r["plain_ray_efficiency"] for r in plain], "s--", color="grey",
                      label="plain Ray, all tasks at once")
            axis.axhline(100 * TARGET_EFFICIENCY_AT_32, color="grey", ls=":", label="target at 32")
            axis.set_xscale("log", base=2)
            axis.set_xlabel("Ray logical CPUs (workers)")
            axis.set_ylabel("scheduling efficiency (%)")
            axis.set_ylim(0, 105)
            axis.legend()
            axis.set_title("simulated cluster, 0.2 s stand-in scorer", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--evaluations", type=int, default=400)
    parser.add_argument("--reference-candidates", type=int, default=5, help="Published-procedure candidates timed.")
    parser.add_argument("--repeats", type=int, default=2, help="Runs of every local executor, interleaved.")
    parser.add_argument("--cluster-cpus", type=int, nargs="*", default=[8, 32, 128])
    parser.add_argument("--cluster-concurrency", type=int, nargs="*", default=[1, 2],
                        help="Simulated cluster: candidates in flight, in multiples of the workers.")
    parser.add_argument("--per-worker", type=int, default=10, help="Candidates per worker in the simulated cluster.")
    parser.add_argument("--stand-in-seconds", type=float, default=0.2)
    parser.add_argument("--skip-local", action="store_true", help="Only the simulated cluster.")
    parser.add_argument("--name", default="executor_scaling", help="Result file name (smoke runs: another name).")
    args = parser.parse_args()

    figures = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "command": " ".join(["python", "benchmarks/executor_scaling.py", *sys.argv[1:]]),
        "evaluations": args.evaluations,
    }
    if not args.skip_local:
        figures["local"] = local_runs(args.evaluations, args.repeats)
        figures["published_seconds_per_candidate"] = published_seconds_per_candidate(args.reference_candidates)
    figures["loop_milliseconds_per_candidate"] = loop_milliseconds_per_candidate()
    figures["cluster"] = [run for cpus in args.cluster_cpus for run in
                          cluster_runs(cpus, args.per_worker, args.stand_in_seconds, args.cluster_concurrency)]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(figures, indent=2))
    write_markdown(figures, RESULTS / f"{args.name}.md")
    write_plot(figures, RESULTS / f"{args.name}.png")
    print(f"wrote {RESULTS / args.name}.{{json,md,png}}")


if __name__ == "__main__":
    main()
