"""Whole-search speed: `diswot search` with 1,000 NB201 evaluations at batch 64 against the published
per-candidate procedure, measured in the same run.

    python benchmarks/search_speed.py [--evaluations 1000] [--reference-candidates 10] [--shared-init]

Runs the CLI end to end (teacher, probe batch, aging evolution, store, result files, plots) in a fresh run
folder and times it, then times the published procedure (`diswot.published_procedure`) on a few of the same
cells. Prints wall time, candidates/s, and what the published procedure would take for the same number of
candidates, and writes them to benchmarks/results/search_speed.json with the machine, threads and date.
`--shared-init` also times the same search with `--shared-init` and reports its cost against the default.
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

TARGET_SECONDS = 120
RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--evaluations", type=int, default=1000)
    parser.add_argument("--reference-candidates", type=int, default=10)
    parser.add_argument("--shared-init", action="store_true", help="Also time the search with --shared-init.")
    args = parser.parse_args()

    search_seconds, result = time_search(args.evaluations)

    space = get_space("nb201")
    cells = [space.parse(e["arch"]) for e in random.Random(0).sample(result["history"], args.reference_candidates)]
    probe = load_probe_batch(ProbeDataSpec(batch_size=64), 100)
    started = time.perf_counter()
    for cell in cells:
        published_diswot_score("resnet56", space, cell, probe.images, probe.labels, 100)
    reference_per_candidate = (time.perf_counter() - started) / len(cells)

    evaluations = result["evaluations"]
    print(f"diswot search: {evaluations} evaluations in {search_seconds:.1f} s "
          f"({evaluations / search_seconds:.2f} candidates/s, target under {TARGET_SECONDS} s)")
    print(f"published procedure: {reference_per_candidate:.3f} s per candidate -> "
          f"{evaluations * reference_per_candidate:.0f} s for the same {evaluations} candidates "
          f"({evaluations * reference_per_candidate / search_seconds:.1f}x longer)")
    figures = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "torch_threads": torch.get_num_threads(),
        "command": " ".join(["python", "benchmarks/search_speed.py", *sys.argv[1:]]),
        "evaluations": evaluations,
        "search_seconds": search_seconds,
        "candidates_per_second": evaluations / search_seconds,
        "target_seconds": TARGET_SECONDS,
        "published_seconds_per_candidate": reference_per_candidate,
        "published_seconds_for_same_candidates": evaluations * reference_per_candidate,
    }
    if args.shared_init:
        shared_seconds, shared_result = time_search(args.evaluations, "--shared-init")
        print(f"with --shared-init: {shared_result['evaluations']} evaluations in {shared_seconds:.1f} s "
              f"({shared_seconds / search_seconds:.2f}x the default search)")
        figures["shared_init_search_seconds"] = shared_seconds
        figures["shared_init_over_default"] = shared_seconds / search_seconds
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "search_speed.json").write_text(json.dumps(figures, indent=2))


def time_search(evaluations: int, *options: str) -> tuple[float, dict]:
    """Wall time of `diswot search` through the CLI in a fresh run folder, and its result.json."""
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "diswot", "search", "--teacher", "resnet56", "--space", "nb201",
                   "--num-classes", "100", "--strategy", "aging", "--evaluations", str(evaluations),
                   "--batch-size", "64", "--device", "cpu", "--out", f"{folder}/run", *options]
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.perf_counter() - started, json.loads(Path(folder, "run", "result.json").read_text())


if __name__ == "__main__":
    main()
