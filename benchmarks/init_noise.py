"""How much of a DisWOT ranking is the students' random init, and what averaging inits (`--inits`) buys.

    python benchmarks/init_noise.py [--data ../shared/data/cifar100_sample.npz] [--inits 3] [--seeds 0 1 2]

1. Agreement between inits: `--cells` random canonical NB201 cells scored with init indices 0, 1, 2, ...;
   Spearman between two single inits, and between two disjoint means of `--inits` inits.
2. The exhaustive optimum (when search_quality.py has written benchmarks/results/nb201_exhaustive_<data>.jsonl):
   the rank of the best cell's best one-edge neighbour, and the ten best cells' mean score over `--inits`
   other inits (indices 1, 2, ...) beside their one-init score.
3. What a search picks: aging evolution (1,000 evaluations, resnet56 teacher, batch 64) ranking by one init
   and by the mean of `--inits` inits, for each search seed; each search's best five students are then scored
   with `--held-out` fresh inits nobody searched with (init indices from 100 on), so a pick that was only a
   lucky init shows as a lower held-out score. The one-init searches read benchmarks/results/
   nb201_exhaustive_<data>.jsonl when search_quality.py has written it (same scores, no rescoring).
Writes benchmarks/results/init_noise_<data>.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import random
import statistics
import time
from pathlib import Path

import torch
from scipy.stats import spearmanr

from diswot.scorer import Scorer
from diswot.student_search import JsonlStore, MemoryStore, SearchRequest, search
from search_spaces import get_space
from search_spaces.nb201 import one_edge_neighbours

RESULTS = Path(__file__).resolve().parent / "results"
HELD_OUT_START = 100  # init indices no search uses


def mean_over_inits(scorer: Scorer, candidate, indices) -> float:
    """The `diswot` score averaged over the given init indices (`--inits N` averages indices 0..N-1)."""
    return Scorer.mean_over_inits(scorer.proxies[0], [candidate.another_init(index) for index in indices])[0]


def exhaustive_optimum(scorer: Scorer, space, cache: Path, inits: int) -> dict:
    """Is the best cell of one init a peak of its architecture or of its init?"""
    scores = {e.canonical: e.score for e in JsonlStore(cache).load() if math.isfinite(e.score)}
    ordered = sorted(scores.values(), reverse=True)
    top = sorted(scores, key=scores.get, reverse=True)[:10]
    neighbours = one_edge_neighbours(space.parse(top[0]))
    return {
        "best_arch": top[0],
        "median_score": statistics.median(ordered),
        "best_neighbour_rank": min(1 + sum(s > scores[n] for s in ordered) for n in neighbours if n in scores),
        "neighbours": len(neighbours),
        "top10": [
            {"arch": arch, "one_init_score": scores[arch],
             f"mean_of_inits_1_to_{inits}": mean_over_inits(scorer, scorer.candidate(space, arch), range(1, inits + 1))}
            for arch in top
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="../shared/data/cifar100_sample.npz")
    parser.add_argument("--inits", type=int, default=3)
    parser.add_argument("--cells", type=int, default=150)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--evaluations", type=int, default=1000)
    parser.add_argument("--held-out", type=int, default=5)
    args = parser.parse_args()

    base = dict(teacher="resnet56", space="nb201", num_classes=100, batch_size=64, seed=0, data=args.data,
                top_k=5, device="cpu", strategy="aging", evaluations=args.evaluations,
                proxies=["diswot"], confirm_top=0)  # what this benchmark measures: one proxy's init noise
    config = SearchRequest.parse(base)
    space = get_space("nb201")
    scorer = config.scoring.build_scorer()
    started = time.perf_counter()

    canonicals = sorted({space.canonical(cell) for cell in space.enumerate()})
    cells = [scorer.candidate(space, arch) for arch in random.Random(0).sample(canonicals, args.cells)]
    by_init = [[scorer.score_candidate(c.another_init(index)).score for c in cells] for index in range(2 * args.inits)]
    first_mean = [statistics.fmean(column) for column in zip(*by_init[: args.inits])]
    second_mean = [statistics.fmean(column) for column in zip(*by_init[args.inits :])]
    agreement = {
        "cells": args.cells,
        "spearman_one_init_vs_another": spearmanr(by_init[0], by_init[1])[0],
        f"spearman_mean_of_{args.inits}_vs_another_mean_of_{args.inits}": spearmanr(first_mean, second_mean)[0],
    }
    print(json.dumps(agreement, indent=2), flush=True)

    cache = RESULTS / f"nb201_exhaustive_{Path(args.data).stem}.jsonl"
    optimum = exhaustive_optimum(scorer, space, cache, args.inits) if cache.exists() else None
    print(json.dumps(optimum, indent=2), flush=True)
    held_out = range(HELD_OUT_START, HELD_OUT_START + args.held_out)
    picks = []
    for inits in (1, args.inits):
        for seed in args.seeds:
            store = MemoryStore()
            if inits == 1 and cache.exists():
                store.evaluations = JsonlStore(cache).load()
            result = search(SearchRequest.parse({**base, "inits": inits, "search_seed": seed}), store=store)
            held = [mean_over_inits(scorer, scorer.candidate(space, s.arch), held_out) for s in result.students]
            picks.append({"inits": inits, "search_seed": seed, "best_arch": result.students[0].arch,
                          "best_search_score": result.students[0].score, "best_held_out_score": held[0],
                          "top5_mean_held_out_score": statistics.fmean(held)})
            print(json.dumps(picks[-1]), flush=True)
    summary = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "torch_threads": torch.get_num_threads(),
        "settings": {**base, "inits": args.inits, "held_out_inits": args.held_out},
        "agreement_between_inits": agreement,
        "exhaustive_optimum": optimum,
        "searches": picks,
        "mean_held_out_of_best": {
            str(inits): statistics.fmean(p["best_held_out_score"] for p in picks if p["inits"] == inits)
            for inits in (1, args.inits)
        },
        "mean_held_out_of_top5": {
            str(inits): statistics.fmean(p["top5_mean_held_out_score"] for p in picks if p["inits"] == inits)
            for inits in (1, args.inits)
        },
        "seconds": time.perf_counter() - started,
    }
    RESULTS.mkdir(exist_ok=True)
    written = RESULTS / f"init_noise_{Path(args.data).stem}.json"
    written.write_text(json.dumps(summary, indent=2))
    print(f"held-out score of the best student, by inits searched with: {summary['mean_held_out_of_best']}; "
          f"of the best five: {summary['mean_held_out_of_top5']}; written {written}")


if __name__ == "__main__":
    main()
