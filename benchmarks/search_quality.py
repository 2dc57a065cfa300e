"""Search quality: how close aging evolution and NSGA-II get to exhaustive scoring of every NB201 cell.

    python benchmarks/search_quality.py [--evaluations 1000] [--seeds 0 1 ... 9] [--data synthetic] [--inits 1]
                                        [--shared-init]

Scores every unique NB201 cell once (resnet56 teacher, batch 64, seed 0, `--inits` random inits of each student
averaged, `--shared-init` as `diswot search` takes it; the scores are stored in benchmarks/results/
nb201_exhaustive_<label>.jsonl, label = <data>[_inits<N>][_shared], so a stopped run resumes), then runs aging
evolution, NSGA-II and random search for each search seed with the same teacher, probe batch and scoring seed.
The searches read scores from a copy of the exhaustive store (a candidate's score depends only on the scoring
seed and its canonical architecture, so this is what they would compute) and are compared with the exhaustive
optimum: the best score's relative gap and its rank among all cells, and the hypervolume of NSGA-II's front
against the exhaustive front, and the evaluation at which a search first reached the exhaustive best. The landscape is
described by how isolated its top is: the rank of the best cell's best one-edge neighbour and how many of the
hundred best cells are local optima (better than every one-edge neighbour). Writes benchmarks/results/
search_quality_<label>.json and .png (best score against evaluations, each run a line) (`--data` as
`diswot search` takes it: `synthetic`, or a real batch such as ../shared/data/cifar100_sample.npz).
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import platform
from pathlib import Path

from tqdm import tqdm

import diswot
from diswot.student_search import JsonlStore, MemoryStore, SearchRequest, hypervolume, search
from search_spaces import get_space
from search_spaces.nb201 import one_edge_neighbours

RESULTS = Path(__file__).resolve().parent / "results"


def landscape_top(scores: dict[str, float], top: int = 100) -> dict:
    """How isolated the best cells are: a search reaches a cell by changing one edge of a cell it knows."""
    space = get_space("nb201")
    ordered = sorted(scores, key=scores.get, reverse=True)
    rank = {canonical: position for position, canonical in enumerate(ordered, start=1)}

    def neighbour_ranks(canonical: str) -> list[int]:
        return sorted(rank[n] for n in one_edge_neighbours(space.parse(canonical)) if n in rank)

    return {
        "best_cell_best_neighbour_rank": neighbour_ranks(ordered[0])[0],
        f"local_optima_in_top_{top}": sum(neighbour_ranks(c)[0] > rank[c] for c in ordered[:top]),
    }


def plot_runs(curves: list[tuple[str, list[float]]], best: float, title: str, path: Path) -> None:
    """Each run's best score so far against evaluations, coloured by strategy; the exhaustive best dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.5))
    for colour, strategy in zip(("C0", "C1", "C7"), ("aging", "nsga2", "random")):
        for number, curve in enumerate(c for name, c in curves if name == strategy):
            axes.plot(range(1, len(curve) + 1), curve, color=colour, lw=1, alpha=0.7,
                      label=strategy if number == 0 else None)
    axes.axhline(best, color="C3", ls="--", lw=1, label="exhaustive best")
    low = min(curve[-1] for _, curve in curves)
    axes.set_ylim(low - 0.5 * (best - low) - 1e-3, best + 0.25 * (best - low) + 1e-3)
    axes.set_xlabel("evaluations")
    axes.set_ylabel("best diswot score so far")
    axes.set_title(title, fontsize=9)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--evaluations", type=int, default=1000)
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("--data", default="synthetic")
    parser.add_argument("--teacher", default="resnet56")
    parser.add_argument("--inits", type=int, default=1, help="random inits averaged per student, as `diswot search`")
    parser.add_argument("--shared-init", action="store_true", help="layers drawn by name, as `diswot search`")
    args = parser.parse_args()

    base = dict(teacher=args.teacher, space="nb201", num_classes=100, batch_size=64, seed=0, data=args.data,
                top_k=10, device="cpu", inits=args.inits, shared_init=args.shared_init,
                proxies=["diswot"], confirm_top=0)  # the optimiser against exhaustive scores of one proxy
    label = (Path(args.data).stem + (f"_inits{args.inits}" if args.inits > 1 else "")
             + ("_shared" if args.shared_init else ""))
    RESULTS.mkdir(exist_ok=True)
    cache = JsonlStore(RESULTS / f"nb201_exhaustive_{label}.jsonl")
    with tqdm(desc="exhaustive", unit="cand") as bar:
        exhaustive = search(SearchRequest.parse({**base, "strategy": "exhaustive"}), store=cache,
                            on_progress=lambda p: bar.update(p.evaluations - bar.n))
    all_scores = sorted((e.score for e in exhaustive.history), reverse=True)
    best = all_scores[0]
    # the worst real score: a cell whose output ignores its input scores -inf and is on no front
    worst = min(s for s in all_scores if math.isfinite(s))
    reference = (worst, max(e.params for e in exhaustive.history))
    exhaustive_hv = hypervolume(exhaustive.pareto_front, "params", reference)
    landscape = landscape_top({e.canonical: e.score for e in exhaustive.history if math.isfinite(e.score)})
    print(f"landscape: {landscape}")

    def rank_of(score: float) -> int:
        return sum(s > score for s in all_scores) + 1

    runs, curves = [], []
    for strategy in ("aging", "nsga2", "random"):
        for seed in args.seeds:
            store = MemoryStore()
            store.evaluations = cache.load()
            config = SearchRequest.parse({**base, "strategy": strategy, "evaluations": args.evaluations,
                                             "search_seed": seed})
            result = search(config, store=store)
            found = result.students[0].score
            runs.append({
                "strategy": strategy,
                "search_seed": seed,
                "evaluations": result.evaluations,
                "best_score": found,
                "relative_gap_to_exhaustive_best": (best - found) / abs(best),
                # the share of the score range (worst cell to best cell) the search climbed
                "attainment_of_score_range": (found - worst) / (best - worst),
                "rank_among_all_cells": rank_of(found),
                "front_hypervolume_ratio": hypervolume(result.pareto_front, "params", reference) / exhaustive_hv,
                "front_size": len(result.pareto_front),
                "evaluations_to_exhaustive_best": next(
                    (n for n, score in enumerate(result.best_scores, start=1) if score >= best), None),
            })
            curves.append((strategy, result.best_scores))
            row = runs[-1]
            print(f"{strategy:<7} seed {seed}: best {found:.6f} (gap {100 * row['relative_gap_to_exhaustive_best']:.3f}%, "
                  f"{100 * row['attainment_of_score_range']:.2f}% of the score range, "
                  f"rank {row['rank_among_all_cells']}/{len(all_scores)}), front hypervolume "
                  f"{100 * row['front_hypervolume_ratio']:.2f}% of exhaustive")
    summary = {
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}",
        "diswot_version": diswot.__version__,
        "settings": {**base, "evaluations": args.evaluations},
        "unique_cells": len(all_scores),
        "exhaustive_best": {"score": best, "arch": exhaustive.students[0].arch},
        "exhaustive_front": [{"score": s.score, "params": s.params, "arch": s.arch} for s in exhaustive.pareto_front],
        "landscape": landscape,
        "runs": runs,
    }
    plot = RESULTS / f"search_quality_{label}.png"
    plot_runs(curves, best, f"NB201, {args.teacher} teacher, {label}: "
                          f"{len(args.seeds)} seeds per strategy", plot)
    written = RESULTS / f"search_quality_{label}.json"
    written.write_text(json.dumps(summary, indent=2))
    print(f"exhaustive best {best:.6f} over {len(all_scores)} cells; written {written} and {plot}")


if __name__ == "__main__":
    main()
