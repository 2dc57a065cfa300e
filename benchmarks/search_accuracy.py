"""Search quality in the terms a user cares about: the NB201 accuracy of the student a search returns first.

    python benchmarks/search_accuracy.py [--evaluations 1000] [--seeds 0 ... 9] [--percentile 50]

Setting (issue 11): NB201, random-init resnet56 teacher, the real CIFAR-100 probe batch of 64
(../shared/data/cifar100_sample.npz), the default proxy, a params budget at the `--percentile` of all canonical
cells' parameter counts, the default confirm stage (top 20 re-scored with 5 inits). Reference: exhaustive scoring
of every cell within the budget plus the same confirm stage. For each search seed, aging evolution and random
search with `--evaluations` evaluations plus the confirm stage. A returned student's accuracy is NB201's
200-epoch CIFAR-100 test accuracy, averaged over the NB201 cells that share its canonical form. Target: aging's
top-1 within 0.5 points of the exhaustive top-1 in at least 8 of 10 seeds.

Exhaustive scores are stored in benchmarks/results/nb201_exhaustive_<label>.jsonl (a stopped run resumes); the
searches read the search-stage scores from a copy of it (a score depends only on the scoring seed and the
canonical cell, so this is what they would compute), and the confirm records of the exhaustive run's finalists
(likewise); finalists of a search that the exhaustive run did not confirm are confirmed there and then. Writes
benchmarks/results/search_accuracy_<label>.{json,md,png}.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

import diswot
from diswot.nb201_accuracy import test_accuracy
from diswot.student_search import JsonlStore, MemoryStore, SearchRequest, search
from search_spaces import get_space

# ../shared/data's path is the tests' (tests/shared_data.py): defined once, not part of the installed package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from shared_data import SHARED_DATA  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
TARGET_POINTS = 0.5
TARGET_SEEDS = 8


def accuracy_by_canonical() -> dict[str, float]:
    space = get_space("nb201")
    grouped = defaultdict(list)
    for arch, accuracy in test_accuracy(SHARED_DATA / "nb201_accuracy.csv", "cifar100").items():
        grouped[space.canonical(space.parse(arch))].append(accuracy)
    return {canonical: statistics.fmean(values) for canonical, values in grouped.items()}


def params_budget(percentile: float) -> int:
    space = get_space("nb201")
    params = [space.cost(arch, 100).params for arch in space.enumerate()]
    return int(np.percentile(params, percentile))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--evaluations", type=int, default=1000)
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("--percentile", type=float, default=50)
    args = parser.parse_args()
    started = time.perf_counter()
    budget = params_budget(args.percentile)
    base = dict(teacher="resnet56", space="nb201", num_classes=100, batch_size=64, seed=0, device="cpu",
                data=str(SHARED_DATA / "cifar100_sample.npz"), max_params=budget, top_k=5)
    label = f"cifar100_p{args.percentile:g}"
    accuracy = accuracy_by_canonical()
    RESULTS.mkdir(exist_ok=True)
    cache = JsonlStore(RESULTS / f"nb201_exhaustive_{label}.jsonl")
    exhaustive = search(SearchRequest.parse({**base, "strategy": "exhaustive"}), store=cache,
                        on_progress=lambda p: print(f"exhaustive {p.stage}: {p.evaluations}/{p.total}", flush=True)
                        if p.evaluations % 250 == 0 else None)
    reference = exhaustive.students[0]
    print(f"exhaustive + confirm: {reference.arch}, accuracy {accuracy[reference.arch]:.2f}", flush=True)
    stored = cache.load()  # search-stage scores of every cell in the budget, and the confirm records of its top
    search_records = [e for e in stored if e.stage == "search"]
    best_accuracy = max(accuracy[e.canonical] for e in search_records if e.feasible)

    runs = []
    for strategy in ("aging", "random"):
        for seed in args.seeds:
            store = MemoryStore()
            store.evaluations = list(stored)  # a finalist the exhaustive run confirmed is not confirmed again
            result = search(SearchRequest.parse({**base, "strategy": strategy, "evaluations": args.evaluations,
                                                    "search_seed": seed}), store=store)
            top = result.students[0]
            gap = accuracy[reference.arch] - accuracy[top.arch]
            runs.append({"strategy": strategy, "search_seed": seed, "arch": top.arch, "params": top.params,
                         "accuracy": accuracy[top.arch], "gap_to_exhaustive_top1": gap,
                         "confirmed_score": top.confirmed_score, "within_target": gap <= TARGET_POINTS})
            print(f"{strategy} seed {seed}: accuracy {accuracy[top.arch]:.2f} (gap {gap:+.2f})", flush=True)
    document = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}", "diswot_version": diswot.__version__,
        "command": f"python benchmarks/search_accuracy.py --evaluations {args.evaluations} --seeds "
                   f"{' '.join(map(str, args.seeds))} --percentile {args.percentile:g}",
        "seconds": time.perf_counter() - started, "settings": base, "budget_params": budget,
        "cells_within_budget": sum(e.feasible for e in search_records),
        "best_accuracy_within_budget": best_accuracy,
        "exhaustive_top1": {"arch": reference.arch, "accuracy": accuracy[reference.arch],
                            "confirmed_score": reference.confirmed_score},
        "runs": runs,
        "seeds_within_target": {s: sum(r["within_target"] for r in runs if r["strategy"] == s)
                                for s in ("aging", "random")},
    }
    (RESULTS / f"search_accuracy_{label}.json").write_text(json.dumps(document, indent=2))
    (RESULTS / f"search_accuracy_{label}.md").write_text(format_markdown(document))
    plot(document, RESULTS / f"search_accuracy_{label}.png")
    print(format_markdown(document))


def format_markdown(document: dict) -> str:
    top = document["exhaustive_top1"]
    lines = [f"# Search quality in accuracy terms ({document['date']}, {document['machine']})", "",
             f"Command: `{document['command']}` ({document['seconds'] / 60:.0f} min). Budget: at most "
             f"{document['budget_params']:,} params ({document['cells_within_budget']} canonical cells; the best of "
             f"them reaches {document['best_accuracy_within_budget']:.2f}% on NB201 CIFAR-100). Exhaustive scoring "
             f"+ confirm stage returns `{top['arch']}`: {top['accuracy']:.2f}%.", "",
             f"Seeds whose top-1 is within {TARGET_POINTS} points of it: " + ", ".join(
                 f"{s} {n} of {sum(r['strategy'] == s for r in document['runs'])}"
                 for s, n in document["seeds_within_target"].items()), "",
             "| strategy | seed | top-1 accuracy | gap to exhaustive top-1 | params | arch |", "|---|---:|---:|---:|---:|---|"]
    for run in document["runs"]:
        lines.append(f"| {run['strategy']} | {run['search_seed']} | {run['accuracy']:.2f} | "
                     f"{run['gap_to_exhaustive_top1']:+.2f} | {run['params']:,} | `{run['arch']}` |")
    return "\n".join(lines) + "\n"


def plot(document: dict, path: Path) -> None:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 4), layout="constrained")
    axis = figure.subplots()
    for offset, strategy in enumerate(("aging", "random")):
        runs = [r for r in document["runs"] if r["strategy"] == strategy]
        axis.scatter([r["search_seed"] + 0.15 * offset for r in runs], [r["accuracy"] for r in runs], label=strategy)
    axis.axhline(document["exhaustive_top1"]["accuracy"], color="tab:red", ls="--", lw=1,
                 label="exhaustive + confirm top-1")
    axis.axhline(document["exhaustive_top1"]["accuracy"] - TARGET_POINTS, color="tab:red", ls=":", lw=1,
                 label=f"target: within {TARGET_POINTS} points")
    axis.axhline(document["best_accuracy_within_budget"], color="tab:gray", ls="-.", lw=1, label="best cell in budget")
    axis.set(xlabel="search seed", ylabel="NB201 CIFAR-100 test accuracy of the top-1 (%)",
             title=f"Top-1 of a {document['settings']['teacher']}-teacher search, params <= "
                   f"{document['budget_params']:,}")
    axis.legend(fontsize=7)
    figure.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
