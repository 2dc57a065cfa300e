"""Latency predictor against measurement: the per-block lookup table (`diswot.latency.LatencyTable`) against the
measured latency (`MeasuredLatency`) of random candidates of each ImageNet space.

    python benchmarks/latency_predictor.py [--candidates 100] [--spaces mobilenet resnet_imagenet]
                                           [--threads 1] [--batch-size 1] [--image-size 224] [--clock cpu]

Per space: Spearman rank correlation (scipy.stats.spearmanr) and mean absolute percentage error of the prediction
against the measurement, over `--candidates` seeded random candidates; the table's size and the time spent building
it against the time the measurements took. Targets: Spearman >= 0.95, MAPE <= 10%. Writes
benchmarks/results/NAME.{json,md,png} (`--name`, default latency_predictor).

The clock defaults to the process's CPU time (`LatencySetting.clock="cpu"`, one thread): on a machine shared with
other work, wall-clock medians of a 20-ms network absorb the other processes' share of the cores (measured here on
two busy cores: whole networks 1.1x to 2.5x their units' sum, varying with the load of the moment), which is a
property of the load, not of the predictor. `--clock wall` measures elapsed time, right on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import random
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from diswot.latency import LatencySetting, LatencyTable, MeasuredLatency, device_fingerprint
from search_spaces import get_space

RESULTS = Path(__file__).parent / "results"


def compare(space_name: str, candidates: int, setting: LatencySetting, seed: int) -> dict:
    space = get_space(space_name)
    rng = random.Random(seed)
    archs = [space.sample(rng) for _ in range(candidates)]
    table, measured = LatencyTable(setting), MeasuredLatency(setting)
    started = time.perf_counter()
    table.scale(space)  # the calibration, once
    calibration_seconds = time.perf_counter() - started
    started = time.perf_counter()
    predicted = [table.predict(space, arch) for arch in archs]
    table_seconds = time.perf_counter() - started
    started = time.perf_counter()
    truth = [measured.seconds(space, arch) for arch in archs]
    measure_seconds = time.perf_counter() - started
    predicted_array, truth_array = np.array(predicted), np.array(truth)
    return {
        "space": space_name,
        "candidates": candidates,
        "spearman": float(spearmanr(predicted_array, truth_array).statistic),
        "mape_percent": float(np.mean(np.abs(predicted_array - truth_array) / truth_array) * 100),
        "scale": table.scale(space),
        "table_units": table.timings,
        "calibration_seconds": calibration_seconds,
        "table_seconds": table_seconds,
        "measure_seconds": measure_seconds,
        "measured_ms": [t * 1e3 for t in truth],
        "predicted_ms": [p * 1e3 for p in predicted],
        "archs": [space.format(arch) for arch in archs],
    }


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(rows), figsize=(5 * len(rows), 4.5), squeeze=False)
    for axis, row in zip(axes[0], rows):
        axis.scatter(row["measured_ms"], row["predicted_ms"], s=12)
        top = max(max(row["measured_ms"]), max(row["predicted_ms"]))
        axis.plot([0, top], [0, top], color="grey", linewidth=1)
        axis.set_xscale("log"), axis.set_yscale("log")
        axis.set_xlabel("measured latency (ms)"), axis.set_ylabel("predicted (ms)")
        axis.set_title(f"{row['space']}: Spearman {row['spearman']:.3f}, MAPE {row['mape_percent']:.1f}%")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--candidates", type=int, default=100)
    parser.add_argument("--spaces", nargs="+", default=["mobilenet", "resnet_imagenet"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--clock", choices=["cpu", "wall"], default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--name", default="latency_predictor")
    args = parser.parse_args()
    setting = LatencySetting(threads=args.threads, batch_size=args.batch_size, image_size=args.image_size,
                             clock=args.clock)
    rows = []
    for space_name in args.spaces:
        row = compare(space_name, args.candidates, setting, args.seed)
        print(f"{space_name}: Spearman {row['spearman']:.3f}, MAPE {row['mape_percent']:.1f}% over "
              f"{row['candidates']} candidates; {row['table_units']} units tabled in {row['table_seconds']:.0f} s "
              f"(calibration {row['calibration_seconds']:.0f} s), measuring took {row['measure_seconds']:.0f} s",
              flush=True)
        rows.append(row)
    RESULTS.mkdir(exist_ok=True)
    meta = {"setting": setting.__dict__, "device": device_fingerprint(setting.device), "python": platform.python_version()}
    (RESULTS / f"{args.name}.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    lines = [f"# Latency predictor vs measurement ({meta['device']}, {setting.threads} thread(s), batch "
             f"{setting.batch_size}, {setting.image_size} px, {setting.clock} clock)", "",
             f"Command: `{' '.join(['python', 'benchmarks/latency_predictor.py', *sys.argv[1:]])}`", "",
             "| space | candidates | Spearman | MAPE | scale | units tabled | table s | measuring s |",
             "|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['space']} | {r['candidates']} | {r['spearman']:.3f} | {r['mape_percent']:.1f}% | {r['scale']:.3f} "
              f"| {r['table_units']} | {r['table_seconds']:.0f} | {r['measure_seconds']:.0f} |" for r in rows]
    (RESULTS / f"{args.name}.md").write_text("\n".join(lines) + "\n")
    plot(rows, RESULTS / f"{args.name}.png")


if __name__ == "__main__":
    main()
