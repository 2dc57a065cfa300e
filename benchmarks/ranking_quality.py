"""Ranking quality of every proxy on NAS-Bench-201, and agreement with an independent implementation.

    python benchmarks/ranking_quality.py [--sample 1000] [--agreement-sample 725] [--datasets cifar10 cifar100]
        [--jobs 2] [--shared-init --name ranking_quality_nb201_shared]

For each dataset:
1. `diswot correlate` on `--sample` NB201 cells drawn with seed 0 from ../shared/data/nb201_accuracy.csv against
   the 200-epoch test accuracy (`cifar10_test`, `cifar100_test`), probe batch of `--batch-size` real training
   images from ../shared/data/<dataset>_sample.npz, every classic proxy, the teacher-aware ones against a
   randomly initialised teacher (the dataset's test-best NB201 cell, as DisWOT's official code chooses), and two
   mean-rank ensembles. NB201 accuracy comes from vanilla training, not distillation: it is the ground truth
   the classic proxies were made for, not DisWOT's.
2. Agreement with NAS-Bench-Suite-Zero: our classic proxies on `--agreement-sample` of the cells of
   ../shared/data/nb201_zc_proxies_subset.csv, scored as NASLib scored them (batch 32 of real training images),
   Spearman against NASLib's scores of the same proxy; also on the cells without dead edges (NASLib scores the
   cell as written, diswot its canonical form, see search_spaces/nb201.py), and NASLib's own scores' Spearman
   with the test accuracy on its cells.
Writes benchmarks/results/ranking_quality_nb201.md and .json (with the machine and the date); `--details DIR`
also writes each dataset's full correlate output (all scores, scatter plots).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import csv
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

import torch

from diswot.correlation import correlate, correlation_markdown, format_statistic, json_safe, rank_correlations
from diswot.nb201_accuracy import best_cell, test_accuracy
from diswot.probe_data import ProbeDataSpec, load_probe_batch
from diswot.scorer import Scorer
from diswot.scoring_setup import ScoringSetup
from search_spaces import get_space

# ../shared/data's path is the tests' (tests/shared_data.py): defined once, not part of the installed package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from shared_data import SHARED_DATA  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
ACCURACY = SHARED_DATA / "nb201_accuracy.csv"
NASLIB_SCORES = SHARED_DATA / "nb201_zc_proxies_subset.csv"
CLASSES = {"cifar10": 10, "cifar100": 100}

CLASSIC = ["params", "flops", "nwot", "synflow", "snip", "grad_norm", "grasp", "fisher", "jacob_cov", "zen"]
TEACHER_AWARE = ["diswot", "diswot_semantic", "diswot_relation", "diswot_classcorr", "kd_loss", "cka"]
ENSEMBLES = ["ensemble:nwot+synflow", "ensemble:nwot+synflow+params", "ensemble:synflow+diswot"]
# NAS-Bench-Suite-Zero's column for each of our proxies it also scores.
NASLIB_NAMES = {"params": "params", "flops": "flops", "nwot": "nwot", "synflow": "synflow", "snip": "snip",
                "grad_norm": "grad_norm", "grasp": "grasp", "fisher": "fisher", "jacob_cov": "jacov"}
# Published Spearman rho with NB201 CIFAR-100 test accuracy (Abdelfattah et al. ICLR 2021; Mellor et al. ICML
# 2021 for nwot; NAS-Bench-Suite-Zero for params).
PUBLISHED_CIFAR100 = {"nwot": 0.80, "synflow": 0.76, "jacob_cov": 0.70, "snip": 0.64, "grad_norm": 0.64,
                      "grasp": 0.55, "fisher": 0.39, "params": 0.73}
NASLIB_BATCH = 32


def _worst_for_missing(value: str) -> float:
    number = float(value) if value else math.nan
    return -math.inf if math.isnan(number) else number


def agreement_with_naslib(dataset: str, sample: int, reseed_sample: int, device: str) -> dict:
    """Spearman of our score against NASLib's for the same proxy, on NASLib's cells of this dataset, and of
    our score against itself under another init seed on the first `reseed_sample` of them."""
    with open(NASLIB_SCORES, newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["dataset"] == dataset]
    if sample < len(rows):
        rows = [rows[i] for i in sorted(random.Random(0).sample(range(len(rows)), sample))]
    space = get_space("nb201")
    probe = load_probe_batch(ProbeDataSpec(source=str(SHARED_DATA / f"{dataset}_sample.npz"), batch_size=NASLIB_BATCH),
                             CLASSES[dataset])

    def scores_with_seed(seed: int, cells: list[dict]) -> list[dict]:
        setup = ScoringSetup(None, num_classes=CLASSES[dataset], proxies=tuple(NASLIB_NAMES), seed=seed, device=device)
        scorer = Scorer(setup, None, probe)
        return [scorer.score(space, row["arch_str"]).scores for row in cells]

    started = time.perf_counter()
    ours = scores_with_seed(0, rows)
    seconds = time.perf_counter() - started
    reseeded = scores_with_seed(1, rows[:reseed_sample])
    accuracy = test_accuracy(ACCURACY, dataset)
    as_written = [space.canonical(space.parse(row["arch_str"])) == row["arch_str"] for row in rows]
    truth = [accuracy[row["arch_str"]] for row in rows]
    table = {}
    for name, column in NASLIB_NAMES.items():
        mine = [scores[name] for scores in ours]
        theirs = [_worst_for_missing(row[column]) for row in rows]
        kept = [i for i, keep in enumerate(as_written) if keep]
        table[name] = {
            "spearman_with_naslib": rank_correlations(mine, theirs)[1],
            "spearman_with_naslib_cells_as_written": rank_correlations([mine[i] for i in kept], [theirs[i] for i in kept])[1],
            "naslib_spearman_with_test_accuracy": rank_correlations(theirs, truth)[1],
            "ours_spearman_with_test_accuracy": rank_correlations(mine, truth)[1],
            "spearman_with_ours_reseeded": rank_correlations(mine[:reseed_sample], [r[name] for r in reseeded])[1],
        }
    return {"dataset": dataset, "cells": len(rows), "cells_as_written": sum(as_written), "batch_size": NASLIB_BATCH,
            "reseeded_cells": len(reseeded), "seconds": seconds, "proxies": table}


def format_markdown(document: dict) -> str:
    lines = [
        "# Ranking quality on NAS-Bench-201",
        "",
        f"Machine: {document['machine']}. Date: {document['date']}. Command: `{document['command']}` "
        f"({document['seconds'] / 60:.0f} min).",
        "",
    ]
    for run in document["correlate"]:
        lines += [correlation_markdown(run), f"({document['threads']} CPU thread(s).)", ""]
    lines += ["## Spearman rho with NB201 test accuracy beside the published values", "",
              "Published: Abdelfattah et al. ICLR 2021, Mellor et al. ICML 2021 (nwot), NAS-Bench-Suite-Zero (params), "
              "over all NB201 cells. NASLib's column: its own scores on the agreement cells below. NB201 accuracy "
              "comes from vanilla training, not distillation: DisWOT and the other teacher-aware proxies are meant "
              "to rank students by distillation accuracy, which this table does not measure.", "",
              "| proxy | ours, CIFAR-10 | ours, CIFAR-100 | published, CIFAR-100 | NASLib, agreement cells, CIFAR-10 / CIFAR-100 |",
              "|---|---:|---:|---:|---:|"]
    by_dataset = {run["settings"]["truth_column"].replace("_test", ""): {r["proxy"]: r for r in run["table"]}
                  for run in document["correlate"]}
    naslib = {a["dataset"]: a["proxies"] for a in document["agreement"]}
    for proxy in CLASSIC + TEACHER_AWARE + ENSEMBLES:
        ours = " | ".join(format_statistic(by_dataset.get(d, {}).get(proxy, {}).get("spearman_rho")) for d in CLASSES)
        published = format_statistic(PUBLISHED_CIFAR100.get(proxy))
        theirs = " / ".join(format_statistic(naslib.get(d, {}).get(proxy, {}).get("naslib_spearman_with_test_accuracy"))
                            for d in CLASSES)
        lines.append(f"| {proxy} | {ours} | {published} | {theirs} |")
    lines += ["", "## Agreement with NAS-Bench-Suite-Zero (Spearman, our score vs NASLib's, same cells)", ""]
    for agreement in document["agreement"]:
        lines += [
            f"{agreement['dataset']}: {agreement['cells']} cells ({agreement['cells_as_written']} whose canonical form "
            f"is the cell as written), batch {agreement['batch_size']}. Last column: ours against ours with another "
            f"init seed, on {agreement['reseeded_cells']} of the cells.",
            "",
            "| proxy | all cells | cells as written | ours vs test acc | NASLib vs test acc | ours vs ours reseeded |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for proxy, row in agreement["proxies"].items():
            lines.append(
                f"| {proxy} | {format_statistic(row['spearman_with_naslib'])} | {format_statistic(row['spearman_with_naslib_cells_as_written'])} "
                f"| {format_statistic(row['ours_spearman_with_test_accuracy'])} "
                f"| {format_statistic(row['naslib_spearman_with_test_accuracy'])} "
                f"| {format_statistic(row['spearman_with_ours_reseeded'])} |"
            )
        lines.append("")
    return "\n".join(lines)


def run_dataset(dataset: str, args: argparse.Namespace) -> tuple[dict, dict]:
    """correlate and agreement for one dataset: (the correlate run's settings and table, the agreement)."""
    if args.threads:
        torch.set_num_threads(args.threads)
    report = correlate(
        ACCURACY, "arch_str", f"{dataset}_test", space="nb201", teacher=f"nb201:{best_cell(ACCURACY, dataset)}",
        proxies=CLASSIC + TEACHER_AWARE + ENSEMBLES,
        data=ProbeDataSpec(source=str(SHARED_DATA / f"{dataset}_sample.npz"), batch_size=args.batch_size),
        num_classes=CLASSES[dataset], sample=args.sample, seed=0, device=args.device,
        timing_sample=args.timing_sample, shared_init=args.shared_init,
        on_scored=lambda done, total: print(f"{dataset}: {done}/{total}", flush=True) if done % 50 == 0 else None,
    )
    print(report.format_table(), flush=True)
    if args.details:
        report.write(args.details / dataset)
    document = report.to_dict()
    agreement = agreement_with_naslib(dataset, args.agreement_sample, args.reseed_sample, args.device)
    print(json.dumps(json_safe(agreement), indent=2), flush=True)
    return {"settings": document["settings"], "table": document["table"]}, agreement


def command_line(args: argparse.Namespace) -> str:
    """The command that reproduces this run: every option with its value, flags that are set as flags."""
    words = ["python", "benchmarks/ranking_quality.py"]
    for name, value in vars(args).items():
        if value is None or value is False or name == "details":
            continue
        words.append(f"--{name.replace('_', '-')}")
        if not isinstance(value, bool):
            words.extend(map(str, value) if isinstance(value, list) else [str(value)])
    return " ".join(words)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sample", type=int, default=1000, help="NB201 cells per dataset for correlate.")
    parser.add_argument("--agreement-sample", type=int, default=725, help="NASLib cells per dataset (725 = all).")
    parser.add_argument("--reseed-sample", type=int, default=200,
                        help="Agreement cells scored again with another init seed.")
    parser.add_argument("--datasets", nargs="+", default=list(CLASSES), choices=list(CLASSES))
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--timing-sample", type=int, default=30)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads per process (default: torch's choice).")
    parser.add_argument("--jobs", type=int, default=1, help="Datasets scored in parallel processes.")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--details", type=Path, default=None, help="Folder for each dataset's full correlate output.")
    parser.add_argument("--name", default="ranking_quality_nb201", help="Stem of the result files.")
    parser.add_argument("--shared-init", action="store_true",
                        help="Score with layers drawn by name, as `diswot correlate --shared-init` (agreement with "
                             "NASLib keeps one init per student).")
    args = parser.parse_args()
    if args.jobs > 1 and not args.threads:
        args.threads = 1  # more threads than cores per process would thrash
    if args.threads:
        torch.set_num_threads(args.threads)

    started = time.perf_counter()
    if args.jobs > 1:
        with concurrent.futures.ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            outcomes = list(pool.map(run_dataset, args.datasets, [args] * len(args.datasets)))
    else:
        outcomes = [run_dataset(dataset, args) for dataset in args.datasets]
    runs, agreements = [run for run, _ in outcomes], [agreement for _, agreement in outcomes]

    document = {
        "machine": f"{platform.machine()} {platform.processor() or ''}, {os.cpu_count()} cores".replace(" ,", ","),
        "threads": args.threads or torch.get_num_threads(),
        "jobs": args.jobs,
        "torch": torch.__version__,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": command_line(args),
        "seconds": time.perf_counter() - started,
        "correlate": runs,
        "agreement": agreements,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(json_safe(document), indent=2))
    (RESULTS / f"{args.name}.md").write_text(format_markdown(document))
    print(f"wrote {RESULTS / args.name}.md and .json in {document['seconds'] / 60:.1f} min")


if __name__ == "__main__":
    main()
