"""Whole-search speed at the product's defaults: `diswot search` (default proxy, its calibration, the confirm
stage) with 1,000 NB201 evaluations at batch 64, against the published per-candidate procedure timed in the same
run on the same device.

    python benchmarks/search_speed.py                    # in-process and on 2 process workers, CPU
    python benchmarks/search_speed.py --device cuda --executors inprocess process --workers 1 --name search_speed_cuda

Each executor runs the CLI end to end (teacher, probe batch, aging evolution, store, result files, plots) twice,
in fresh run folders: first with an empty calibration cache (the default's 64-cell calibration measured), then
with the cache the first run filled (calibration reused: what every later search with the same scoring pays).
The published procedure (`diswot.published_procedure`: a fresh teacher, forward and backward through both
networks per candidate) is timed on `--reference-candidates` cells of the first search's history; its cost for
the same number of candidates over the search's wall time is the speed-up. Writes
benchmarks/results/NAME.{json,md} with the machine, threads and date.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from diswot.probe_data import ProbeDataSpec, load_probe_batch
from diswot.published_procedure import published_diswot_score
from search_spaces import get_space

RESULTS = Path(__file__).resolve().parent / "results"
TARGETS = {"inprocess": 10.0, "process": 14.0}  # times the published procedure's cost (issue 21)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--evaluations", type=int, default=1000)
    parser.add_argument("--reference-candidates", type=int, default=10)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--executors", nargs="+", default=["inprocess", "process"])
    parser.add_argument("--workers", type=int, default=2, help="workers of the process executor")
    parser.add_argument("--name", default="search_speed")
    args = parser.parse_args()

    runs = []
    for executor in args.executors:
        with tempfile.TemporaryDirectory() as cache:
            for calibration in ("measured", "reused"):
                seconds, result = time_search(args, executor, cache)
                runs.append({"executor": executor, "calibration": calibration, "seconds": seconds,
                             "evaluations": result["evaluations"], "history": result["history"],
                             "sources": sorted({c["source"] for c in result["calibrations"].values()})})
                print(f"{executor}, calibration {calibration}: {result['evaluations']} evaluations in "
                      f"{seconds:.1f} s", flush=True)

    published = time_published(args, runs[0]["history"])
    print(f"published procedure: {published:.3f} s per candidate on {args.device}", flush=True)
    rows = []
    for run in runs:
        ratio = run["evaluations"] * published / run["seconds"]
        rows.append({key: run[key] for key in ("executor", "calibration", "seconds", "evaluations", "sources")}
                    | {"speedup": ratio, "target": TARGETS.get(run["executor"])})
        print(f"{run['executor']}, calibration {run['calibration']}: {ratio:.1f}x the published procedure "
              f"(target {TARGETS.get(run['executor'])}x)", flush=True)
    figures = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "torch_threads": torch.get_num_threads(),
        "load_average_at_end": os.getloadavg()[0],
        "command": " ".join(["python", "benchmarks/search_speed.py", *sys.argv[1:]]),
        "device": args.device,
        "published_seconds_per_candidate": published,
        "runs": rows,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(figures, indent=2))
    lines = [f"# Whole-search speed at the defaults ({args.evaluations} NB201 evaluations, {args.device})", "",
             f"Command: `{figures['command']}`; {figures['machine']}, {figures['torch_threads']} torch threads, "
             f"load average {figures['load_average_at_end']:.1f} at the end. Published procedure: "
             f"{published:.3f} s per candidate.", "",
             "| executor | calibration | seconds | evaluations | x published | target |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['executor']} | {r['calibration']} | {r['seconds']:.1f} | {r['evaluations']} | "
              f"{r['speedup']:.1f} | {r['target']} |" for r in rows]
    (RESULTS / f"{args.name}.md").write_text("\n".join(lines) + "\n")


def time_search(args, executor: str, cache: str) -> tuple[float, dict]:
    """Wall time of `diswot search` through the CLI in a fresh run folder with calibrations in `cache`."""
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "diswot", "search", "--teacher", "resnet56", "--space", "nb201",
                   "--num-classes", "100", "--strategy", "aging", "--evaluations", str(args.evaluations),
                   "--batch-size", "64", "--device", args.device, "--executor", executor,
                   "--cache-dir", cache, "--out", f"{folder}/run"]
        if executor != "inprocess":
            command += ["--workers", str(args.workers)]
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.perf_counter() - started, json.loads(Path(folder, "run", "result.json").read_text())


def time_published(args, history: list[dict]) -> float:
    """Seconds per candidate of the published procedure on cells the search evaluated."""
    space = get_space("nb201")
    device = torch.device("cuda" if args.device.startswith("cuda") else "cpu")
    feasible = [e for e in history if e["feasible"]]
    cells = [space.parse(e["arch"]) for e in random.Random(0).sample(feasible, args.reference_candidates)]
    probe = load_probe_batch(ProbeDataSpec(batch_size=64), 100)
    images, labels = probe.images.to(device), probe.labels.to(device)
    with torch.device(device):
        published_diswot_score("resnet56", space, cells[0], images, labels, 100)  # warm-up (CUDA context, kernels)
        if device.type == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        for cell in cells:
            published_diswot_score("resnet56", space, cell, images, labels, 100)
        if device.type == "cuda":
            torch.cuda.synchronize()
    return (time.perf_counter() - started) / len(cells)


if __name__ == "__main__":
    main()
