"""Choose diswot's default fitness by a rule fixed before the results were read, on NB201 CIFAR-10 and CIFAR-100.

    python benchmarks/default_fitness.py [--sample 1000] [--jobs 2]

For each dataset (CIFAR-10, CIFAR-100) and each of two random-init teachers (resnet56, and the dataset's
test-best NB201 cell, as DisWOT's official code chooses): ranking_quality.py's sample of NB201 cells (seed 0),
a real probe batch of 64 training images, init seed 0. Every component of `diswot_capacity` (DisWOT's semantic
and relation similarity, log params, log SynFlow) is measured once per cell and on the calibration's reference
sample, exactly as the proxy measures them; each candidate weighting below is then the proxy's own `fitness`
of those values. Ground truth: NB201's 200-epoch test accuracy (vanilla training, not distillation).

THE RULE (written before the first run; not to be changed after reading results):
1. Candidates: CANDIDATES below (DisWOT's two terms always weigh 0.5 each; capacity evidence is log params,
   alone or with log SynFlow, at weight 0.5, 1 or 2 each, plus DisWOT calibrated alone).
2. Fit on CIFAR-10: a candidate is eligible if its Spearman rho >= 0.85 with both teachers.
3. Among the eligible, take the lowest budgeted five-best gap (the mean accuracy of the five best cells within
   a params budget minus that of the candidate's five best there, averaged over the p25/p50/p75 budgets and
   the two teachers). Candidates within TIE_POINTS of the lowest tie; a tie goes to the larger total capacity
   weight (DESIGN.md: on 64 CIFAR ResNets distilled from ResNet110, params ranks distillation accuracy at
   Kendall 0.873 and DisWOT at 0.58, so where NB201 cannot tell two weightings apart, trusting capacity more
   is the safer default), then to fewer components. If no candidate is eligible, the highest mean Spearman.
4. Report every candidate and the single proxies on CIFAR-100, which the choice did not see, against the
   targets (Spearman >= 0.85, gap <= 1.0 with the resnet56 teacher).
Also reported: which candidate the rule picks when fitted on CIFAR-100 instead (is the choice stable?), and
the chosen weights with empirical-quantile standardisation instead of robust z (evidence for the scale).
Writes benchmarks/results/default_fitness.{json,md,png}.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import json
import math
import multiprocessing
import os
import platform
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy.stats import norm

from diswot.calibration import Calibration, calibrate, calibration_reference
from diswot.correlation import json_safe, ranking_quality
from diswot.nb201_accuracy import best_cell, test_accuracy
from diswot.probe_data import ProbeDataSpec, load_probe_batch
from diswot.proxies.diswot_capacity import DEFAULT_WEIGHTS, NAME, component_values, fitness
from diswot.proxies.ensemble import ranks_within_set
from diswot.scorer import Scorer
from diswot.scoring_setup import ScoringSetup
from diswot.teachers import load_teacher
from search_spaces import get_space

# ../shared/data's path is the tests' (tests/shared_data.py): defined once, not part of the installed package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from shared_data import SHARED_DATA  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
ACCURACY = SHARED_DATA / "nb201_accuracy.csv"
CLASSES = {"cifar10": 10, "cifar100": 100}
TEACHERS = ("resnet56", "nb201-best")
FIT_DATASET = "cifar10"
SPEARMAN_FLOOR = 0.85
TIE_POINTS = 0.10
DISWOT_TERMS = {"semantic_similarity": 0.5, "relation_similarity": 0.5}


def _candidates() -> dict[str, dict[str, float]]:
    candidates = {"diswot calibrated": dict(DISWOT_TERMS)}
    for weight in (0.5, 1.0, 2.0):
        candidates[f"diswot + {weight:g} params"] = {**DISWOT_TERMS, "log_params": weight}
        candidates[f"diswot + {weight:g} (params + synflow)"] = {**DISWOT_TERMS, "log_params": weight,
                                                                "log_synflow": weight}
    return candidates


CANDIDATES = _candidates()


def teacher_spec(dataset: str, teacher: str) -> str:
    return "resnet56" if teacher == "resnet56" else f"nb201:{best_cell(ACCURACY, dataset)}"


def measure(dataset: str, teacher: str, sample: int, threads: int) -> dict:
    """Every component of every sampled cell and of the reference sample, under one scorer."""
    torch.set_num_threads(threads)
    accuracy = test_accuracy(ACCURACY, dataset)
    archs = list(accuracy)  # the CSV's order, so the sample is ranking_quality.py's
    archs = [archs[i] for i in sorted(random.Random(0).sample(range(len(archs)), sample))]
    space = get_space("nb201")
    num_classes = CLASSES[dataset]
    probe = load_probe_batch(ProbeDataSpec(source=str(SHARED_DATA / f"{dataset}_sample.npz"), batch_size=64),
                             num_classes)
    setup = ScoringSetup(teacher_spec(dataset, teacher), num_classes=num_classes, proxies=(NAME,), device="cpu")
    scorer = Scorer(setup, load_teacher(setup.teacher, num_classes, seed=0), probe)
    started = time.perf_counter()
    reference = calibration_reference(space, scorer.seed)
    reference_values = [component_values(scorer.candidate(space, arch)) for arch in reference]
    values: dict[str, dict[str, float]] = {}
    for position, arch in enumerate(archs):
        canonical = space.canonical(space.parse(arch))
        if canonical not in values:
            values[canonical] = component_values(scorer.candidate(space, canonical))
        if position % 100 == 0:
            print(f"{dataset}/{teacher}: {position}/{len(archs)}", flush=True)
    seconds = time.perf_counter() - started
    # The registered proxy must give what this benchmark computes offline from the same values.
    check = [scorer.score(space, canonical).scores[NAME] for canonical in list(values)[:10]]
    return {"dataset": dataset, "teacher": teacher, "teacher_spec": teacher_spec(dataset, teacher),
            "archs": archs, "canonical": [space.canonical(space.parse(a)) for a in archs],
            "truth": [accuracy[a] for a in archs], "values": values, "reference": reference,
            "reference_values": reference_values, "proxy_check": check,
            "ms_per_cell": 1000 * seconds / (len(values) + len(reference))}


def robust_calibration(run: dict) -> Calibration:
    by_arch = dict(zip(run["reference"], run["reference_values"]))
    return calibrate(get_space("nb201"), run["reference"], by_arch.__getitem__)


def quantile_calibration(run: dict) -> "QuantileCalibration":
    return QuantileCalibration({name: np.sort([v[name] for v in run["reference_values"]])
                                for name in run["reference_values"][0]})


class QuantileCalibration:
    """Standardisation by the reference's empirical quantile, mapped through the normal quantile function."""

    def __init__(self, sorted_reference: dict[str, np.ndarray]):
        self.sorted_reference = sorted_reference

    def standardise(self, term: str, value: float) -> float:
        reference = self.sorted_reference[term]
        if not math.isfinite(value):
            return -math.inf
        below = np.searchsorted(reference, value, "left")
        equal = np.searchsorted(reference, value, "right") - below
        return float(norm.ppf((below + 0.5 * equal + 0.5) / (len(reference) + 1)))


def evaluate(run: dict, scores: list[float], name: str) -> dict:
    params = [math.exp(run["values"][c]["log_params"]) for c in run["canonical"]]
    quality = ranking_quality(name, scores, run["truth"], params, math.nan)
    gaps = [p.best_top5_truth - p.picked_top5_truth for p in quality.budgeted]
    return {"proxy": name, "kendall": quality.kendall_tau, "spearman": quality.spearman_rho,
            "top5_gaps": gaps, "mean_gap": float(np.mean(gaps))}


def table(run: dict) -> list[dict]:
    values = [run["values"][c] for c in run["canonical"]]
    calibration = robust_calibration(run)
    rows = [evaluate(run, [fitness(calibration, v, w) for v in values], name) for name, w in CANDIDATES.items()]
    rows.append(evaluate(run, [fitness(quantile_calibration(run), v, DEFAULT_WEIGHTS) for v in values],
                         f"{NAME} (default weights), quantile scale"))
    rows.append(evaluate(run, [fitness(calibration, v, {**DEFAULT_WEIGHTS, "relation_similarity": 0.0})
                               for v in values], f"{NAME} without the relation term"))
    diswot = [v["semantic_similarity"] - math.exp(-v["relation_similarity"]) for v in values]
    singles = {"params": [v["log_params"] for v in values], "synflow": [v["log_synflow"] for v in values],
               "diswot (raw sum)": diswot, "diswot_semantic": [v["semantic_similarity"] for v in values],
               "diswot_relation": [v["relation_similarity"] for v in values]}
    singles["ensemble:synflow+diswot (mean rank)"] = list(np.mean(
        [ranks_within_set(singles["synflow"]), ranks_within_set(diswot)], axis=0))
    rows += [evaluate(run, scores, name) for name, scores in singles.items()]
    return rows


def choose(tables: dict[str, list[dict]]) -> dict:
    """The rule, on the tables of one dataset's two teachers."""
    by_name = {}
    for rows in tables.values():
        for row in rows:
            if row["proxy"] in CANDIDATES:
                by_name.setdefault(row["proxy"], []).append(row)
    summary = {name: {"min_spearman": min(r["spearman"] for r in rows),
                      "mean_spearman": float(np.mean([r["spearman"] for r in rows])),
                      "mean_gap": float(np.mean([r["mean_gap"] for r in rows]))} for name, rows in by_name.items()}
    eligible = [name for name, s in summary.items() if s["min_spearman"] >= SPEARMAN_FLOOR]
    if not eligible:
        return {"chosen": max(summary, key=lambda n: summary[n]["mean_spearman"]), "eligible": [], "summary": summary}
    lowest = min(summary[name]["mean_gap"] for name in eligible)
    tied = [name for name in eligible if summary[name]["mean_gap"] <= lowest + TIE_POINTS]

    def preference(name: str) -> tuple[float, int]:
        weights = CANDIDATES[name]
        return (weights.get("log_params", 0) + weights.get("log_synflow", 0), -len(weights))

    return {"chosen": max(tied, key=preference), "eligible": eligible, "tied": tied, "summary": summary}


def format_markdown(document: dict) -> str:
    lines = ["# Choosing the default fitness on NAS-Bench-201", "",
             f"Machine: {document['machine']}. Date: {document['date']}. Command: `{document['command']}` "
             f"({document['seconds'] / 60:.0f} min). Rule: see the docstring of benchmarks/default_fitness.py.", "",
             f"**Chosen on {FIT_DATASET}: `{document['choice'][FIT_DATASET]['chosen']}`**; fitted on the other "
             f"dataset instead, the rule would choose `{document['choice']['cifar100']['chosen']}`. "
             f"The product's default (`{NAME}`) weights: {document['default_weights']}.", ""]
    for run in document["runs"]:
        gap_head = " | ".join(f"gap p{p}" for p in (25, 50, 75))
        lines += [f"## {run['dataset']}, teacher {run['teacher']} (`{run['teacher_spec']}`)", "",
                  f"{len(run['archs'])} cells ({len(run['values'])} distinct), reference sample "
                  f"{len(run['reference'])} cells; {run['ms_per_cell']:.0f} ms per cell for every component "
                  f"(one thread). The registered proxy on 10 cells matched the offline fitness: "
                  f"{run['proxy_matches']}.", "",
                  f"| fitness | Kendall | Spearman | {gap_head} | mean gap |", "|---|---:|---:|---:|---:|---:|---:|"]
        for row in run["table"]:
            gaps = " | ".join(f"{g:.2f}" for g in row["top5_gaps"])
            lines.append(f"| {row['proxy']} | {row['kendall']:.3f} | {row['spearman']:.3f} | {gaps} | "
                         f"{row['mean_gap']:.2f} |")
        lines.append("")
    return "\n".join(lines)


def plot(document: dict, path: Path) -> None:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(13, 7), layout="constrained")
    axes = figure.subplots(2, 2).ravel()
    for axis, run in zip(axes, document["runs"]):
        for row in run["table"]:
            is_candidate = row["proxy"] in CANDIDATES
            axis.scatter(row["spearman"], row["mean_gap"], marker="o" if is_candidate else "s",
                         color="tab:blue" if is_candidate else "tab:gray")
            axis.annotate(row["proxy"], (row["spearman"], row["mean_gap"]), fontsize=6)
        axis.axvline(SPEARMAN_FLOOR, color="tab:red", lw=0.8, ls="--")
        axis.axhline(1.0, color="tab:red", lw=0.8, ls="--")
        axis.set(title=f"{run['dataset']}, teacher {run['teacher']}", xlabel="Spearman with NB201 test accuracy",
                 ylabel="budgeted five-best gap (points)")
    figure.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sample", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=2, help="(dataset, teacher) runs in parallel processes")
    args = parser.parse_args()
    started = time.perf_counter()
    settings = [(d, t) for d in CLASSES for t in TEACHERS]
    with concurrent.futures.ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        runs = list(pool.map(measure, *zip(*settings), [args.sample] * 4, [1] * 4))
    for run in runs:
        run["table"] = table(run)
        offline = [fitness(robust_calibration(run), run["values"][c], DEFAULT_WEIGHTS) for c in run["values"]][:10]
        run["proxy_matches"] = bool(np.allclose(offline, run["proxy_check"], rtol=1e-9, atol=1e-9))
    choice = {dataset: choose({r["teacher"]: r["table"] for r in runs if r["dataset"] == dataset})
              for dataset in CLASSES}
    document = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores", "torch": torch.__version__,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": f"python benchmarks/default_fitness.py --sample {args.sample} --jobs {args.jobs}",
        "seconds": time.perf_counter() - started, "candidates": CANDIDATES, "default_weights": dict(DEFAULT_WEIGHTS),
        "choice": choice, "runs": runs,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "default_fitness.json").write_text(json.dumps(json_safe(document), indent=1))
    (RESULTS / "default_fitness.md").write_text(format_markdown(document))
    plot(document, RESULTS / "default_fitness.png")
    print(format_markdown(document))


if __name__ == "__main__":
    main()
