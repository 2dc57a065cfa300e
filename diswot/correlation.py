"""How well proxies rank architectures whose ground truth is known: the library call behind `diswot correlate`.

For each proxy over one set of candidates: Kendall tau, Spearman rho and Pearson r with the ground truth
(scipy.stats); the share of the true top 5% that the proxy's top 5% finds; the mean ground truth of the
proxy's top 10; its cost in ms per candidate; and a budgeted pick: under a parameter budget (the 25th, 50th
and 75th percentile of the set's parameter counts), the ground truth of the proxy's best candidate within
budget and its gap to the best candidate within budget, and the mean ground truth of the proxy's five best
candidates within budget (what a search returns is a short list) beside the five best there are.

Conventions. A score that is NaN (a proxy that failed) counts as -inf: worst. Ties in a proxy's scores are
broken uniformly at random *in expectation*: a top-k set or a budgeted pick that cuts through a group of
equal scores counts each member of the group with the probability that a random tie-break selects it, so a
proxy with many ties (e.g. `params`) is neither flattered nor penalised by the order of the table. Pearson r
is taken over the candidates whose score is finite (it is undefined at -inf); the rank statistics use all.
"""

from __future__ import annotations

import csv
import json
import math
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
from scipy import stats

from diswot.calibration_cache import CalibrationCache
from diswot.errors import DiswotError
from diswot.proxies import get_proxy, list_proxies, resolve_proxy_name
from diswot.proxies.ensemble import nan_as_worst, ranks_within_set, split_proxy_list
from diswot.scoring_setup import ScoringSetup
from search_spaces import get_space

TOP_FRACTION = 0.05
TOP_COUNT = 10
BUDGET_TOP_COUNT = 5
BUDGET_PERCENTILES = (25, 50, 75)


# ---- statistics of one proxy's scores against the ground truth ----------------------------------------------


def rank_correlations(scores: Sequence[float], truth: Sequence[float]) -> tuple[float, float, float]:
    """(Kendall tau-b, Spearman rho, Pearson r); NaN where undefined (e.g. constant scores)."""
    values, target = nan_as_worst(scores), np.asarray(truth, dtype=float)
    if len(values) < 2 or np.all(values == values[0]):
        return math.nan, math.nan, math.nan
    tau = stats.kendalltau(values, target).statistic
    rho = stats.spearmanr(values, target).statistic
    finite = np.isfinite(values)
    if finite.sum() < 2 or np.all(values[finite] == values[finite][0]):
        pearson = math.nan
    else:
        pearson = stats.pearsonr(values[finite], target[finite]).statistic
    return float(tau), float(rho), float(pearson)


def top_membership(scores: Sequence[float], k: int) -> np.ndarray:
    """P(candidate is among the k highest) under a uniformly random tie-break: 1, 0, or a share for the tied group."""
    values = nan_as_worst(scores)
    kth = np.sort(values)[::-1][k - 1]
    above = values > kth
    tied = values == kth
    return above + tied * (k - above.sum()) / tied.sum()


def top_share(scores: Sequence[float], truth: Sequence[float], fraction: float = TOP_FRACTION) -> float:
    """Expected share of the true top `fraction` that is in the proxy's top `fraction` (k = round(fraction n) >= 1)."""
    k = max(1, round(fraction * len(truth)))
    return float(np.sum(top_membership(scores, k) * top_membership(truth, k)) / k)


def mean_truth_of_top(scores: Sequence[float], truth: Sequence[float], count: int = TOP_COUNT) -> float:
    """Expected mean ground truth of the proxy's `count` best candidates."""
    k = min(count, len(truth))
    return float(np.sum(top_membership(scores, k) * np.asarray(truth, dtype=float)) / k)


@dataclass(frozen=True)
class BudgetedPick:
    percentile: int
    budget: float  # parameters
    picked_truth: float  # ground truth of the proxy's best candidate within budget (mean over a tied best)
    best_truth: float  # the best ground truth within budget
    gap: float  # best_truth - picked_truth
    # A search returns a short list, and one pick is a noisy sample of it: the mean ground truth of the
    # proxy's five best candidates within budget, beside the mean of the five best there are.
    picked_top5_truth: float
    best_top5_truth: float


def budgeted_pick(
    scores: Sequence[float], truth: Sequence[float], costs: Sequence[float], budget: float, percentile: int = 0
) -> BudgetedPick:
    """The proxy's pick among candidates costing at most `budget` (which must admit at least one)."""
    values, target = nan_as_worst(scores), np.asarray(truth, dtype=float)
    feasible = np.asarray(costs, dtype=float) <= budget
    if not feasible.any():
        raise DiswotError(f"no candidate fits the budget of {budget:g} parameters")
    best_score = values[feasible].max()
    picked = float(target[feasible & (values == best_score)].mean())
    best = float(target[feasible].max())
    top5 = mean_truth_of_top(values[feasible], target[feasible], BUDGET_TOP_COUNT)
    best5 = float(np.sort(target[feasible])[::-1][:BUDGET_TOP_COUNT].mean())
    return BudgetedPick(percentile, float(budget), picked, best, best - picked, top5, best5)


@dataclass
class RankingQuality:
    proxy: str
    candidates: int
    kendall_tau: float
    spearman_rho: float
    pearson_r: float
    top5_share: float
    top10_mean_truth: float
    ms_per_candidate: float
    budgeted: list[BudgetedPick] = field(default_factory=list)


def ranking_quality(
    proxy: str, scores: Sequence[float], truth: Sequence[float], params: Sequence[float], ms_per_candidate: float
) -> RankingQuality:
    tau, rho, pearson = rank_correlations(scores, truth)
    budgets = np.percentile(np.asarray(params, dtype=float), BUDGET_PERCENTILES)
    return RankingQuality(
        proxy=proxy,
        candidates=len(truth),
        kendall_tau=tau,
        spearman_rho=rho,
        pearson_r=pearson,
        top5_share=top_share(scores, truth),
        top10_mean_truth=mean_truth_of_top(scores, truth),
        ms_per_candidate=ms_per_candidate,
        budgeted=[budgeted_pick(scores, truth, params, b, p) for p, b in zip(BUDGET_PERCENTILES, budgets)],
    )


# ---- scoring a ground-truth table --------------------------------------------------------------------------


@dataclass
class ScoredCandidate:
    arch: str
    canonical: str
    truth: float
    params: int
    scores: dict[str, float]


@dataclass
class CorrelationReport:
    settings: dict[str, Any]
    table: list[RankingQuality]
    candidates: list[ScoredCandidate]

    def to_dict(self) -> dict[str, Any]:
        return json_safe({"settings": self.settings, "table": [asdict(row) for row in self.table],
                           "candidates": [asdict(c) for c in self.candidates]})

    def format_table(self) -> str:
        picks = "  ".join(f"pick@p{p:<2} (gap)" for p in BUDGET_PERCENTILES)
        lines = [f"{'proxy':<24} {'tau':>6} {'rho':>6} {'r':>6} {'top5%':>6} {'top10':>7} {'ms/cand':>8}  {picks}"]
        for row in self.table:
            cells = "  ".join(f"{p.picked_truth:6.2f} ({p.gap:5.2f})" for p in row.budgeted)
            lines.append(
                f"{row.proxy:<24} {row.kendall_tau:6.3f} {row.spearman_rho:6.3f} {row.pearson_r:6.3f} "
                f"{row.top5_share:6.2f} {row.top10_mean_truth:7.2f} {row.ms_per_candidate:8.1f}  {cells}"
            )
        budgets = ", ".join(f"p{p.percentile}={p.budget / 1e6:.3f}M" for p in self.table[0].budgeted)
        best = ", ".join(f"{p.best_truth:.2f}" for p in self.table[0].budgeted)
        lines.append(f"{len(self.candidates)} candidates; parameter budgets {budgets}; best within each: {best}")
        return "\n".join(lines)

    def format_markdown(self) -> str:
        return correlation_markdown(self.to_dict())

    def write(self, folder: Path) -> list[Path]:
        """ranking_quality.csv, .json and .md, scores.csv, and scatter_<proxy>.png per proxy (with matplotlib)."""
        folder.mkdir(parents=True, exist_ok=True)
        table_md = folder / "ranking_quality.md"
        table_md.write_text(self.format_markdown())
        table_csv = folder / "ranking_quality.csv"
        with open(table_csv, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["proxy", "candidates", "kendall_tau", "spearman_rho", "pearson_r", "top5_share",
                             "top10_mean_truth", "ms_per_candidate",
                             *[f"p{p}_{name}" for p in BUDGET_PERCENTILES
                               for name in ("budget_params", "picked_truth", "best_truth", "gap", "picked_top5_truth",
                                            "best_top5_truth")]])
            for row in self.table:
                writer.writerow([row.proxy, row.candidates, row.kendall_tau, row.spearman_rho, row.pearson_r,
                                 row.top5_share, row.top10_mean_truth, row.ms_per_candidate,
                                 *[v for p in row.budgeted for v in (p.budget, p.picked_truth, p.best_truth, p.gap,
                                                                     p.picked_top5_truth, p.best_top5_truth)]])
        table_json = folder / "ranking_quality.json"
        table_json.write_text(json.dumps(self.to_dict(), indent=2))
        scores_csv = folder / "scores.csv"
        proxies = [row.proxy for row in self.table]
        with open(scores_csv, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["arch", "canonical", "truth", "parameters", *proxies])
            for c in self.candidates:
                writer.writerow([c.arch, c.canonical, c.truth, c.params, *[c.scores[p] for p in proxies]])
        return [table_csv, table_json, table_md, scores_csv, *self._write_scatter_plots(folder)]

    def _write_scatter_plots(self, folder: Path) -> list[Path]:
        try:
            from matplotlib.figure import Figure
        except ImportError:
            raise DiswotError("scatter plots need matplotlib: pip install 'diswot[plots]'") from None
        truth = np.array([c.truth for c in self.candidates])
        paths = []
        for row in self.table:
            # Against the proxy's rank: raw scores span many decades (synflow) or include -inf.
            ranks = ranks_within_set([c.scores[row.proxy] for c in self.candidates])
            figure = Figure(figsize=(5, 4))
            axes = figure.subplots()
            axes.scatter(ranks, truth, s=6, alpha=0.5)
            axes.set_xlabel(f"rank by {row.proxy} (higher is better)")
            axes.set_ylabel(self.settings["truth_column"])
            axes.set_title(f"{row.proxy}: tau {row.kendall_tau:.3f}, rho {row.spearman_rho:.3f}", fontsize=9)
            figure.tight_layout()
            path = folder / f"scatter_{row.proxy.replace(':', '_').replace('+', '_')}.png"
            figure.savefig(path, dpi=110)
            paths.append(path)
        return paths


def correlation_markdown(report: dict[str, Any]) -> str:
    """A correlation report (`CorrelationReport.to_dict()`, as stored in ranking_quality.json) as markdown: what
    was scored, the table of ranking statistics, and the budgeted picks' five-best means."""
    settings, table = report["settings"], report["table"]
    budgeted = table[0]["budgeted"]
    truth = settings["truth_column"]
    teacher = settings["teacher"] or "none"
    weights = f"weights {Path(settings['checkpoint']).name}" if settings.get("checkpoint") else "random init"
    lines = [
        f"## {truth}: {settings['rows']} rows ({settings['distinct_candidates']} distinct), sample seed {settings['seed']}",
        "",
        f"Space `{settings['space']}`; teacher `{teacher}` ({weights}); probe: {settings['batch_size']} images of "
        f"{settings['image_size']} px from `{Path(str(settings['data'])).name}`; {settings['inits']} init(s) per "
        f"student on {settings['device']}. ms per candidate: each proxy alone on {settings['timing_sample']} "
        "candidates.",
        "",
        f"| proxy | Kendall tau | Spearman rho | Pearson r | top-5% found | top-10 mean {truth} | ms/cand | "
        + " | ".join(f"pick@p{p['percentile']} (gap)" for p in budgeted) + " |",
        "|---|---:|---:|---:|---:|---:|---:|" + "---:|" * len(budgeted),
    ]
    for row in table:
        picks = " | ".join(f"{p['picked_truth']:.2f} ({p['gap']:.2f})" for p in row["budgeted"])
        lines.append(
            f"| {row['proxy']} | {format_statistic(row['kendall_tau'])} | {format_statistic(row['spearman_rho'])} "
            f"| {format_statistic(row['pearson_r'])} | {row['top5_share']:.2f} | {row['top10_mean_truth']:.2f} "
            f"| {format_statistic(row['ms_per_candidate'], 1)} | {picks} |"
        )
    budgets = ", ".join(f"p{p['percentile']} = {p['budget'] / 1e6:.3f} M (best {p['best_truth']:.2f})"
                        for p in budgeted)
    lines += [
        "", f"Parameter budgets: {budgets}.", "",
        f"Mean {truth} of each proxy's five best candidates within the budget (what a search returns), and of the "
        "five best there are:", "",
        "| proxy | " + " | ".join(f"top-5 @p{p['percentile']}" for p in budgeted) + " |",
        "|---|" + "---:|" * len(budgeted),
        "| *best five* | " + " | ".join(f"{p['best_top5_truth']:.2f}" for p in budgeted) + " |",
    ]
    for row in table:
        lines.append(f"| {row['proxy']} | " + " | ".join(f"{p['picked_top5_truth']:.2f}" for p in row["budgeted"]) + " |")
    return "\n".join(lines) + "\n"


def format_statistic(value: Any, digits: int = 3) -> str:
    """A statistic for a table: '-' where it is undefined (None or NaN, e.g. the time of an untimed proxy)."""
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def json_safe(value: Any) -> Any:
    """NaN and infinities become null: they are not JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    return value


def read_truth(path: str | Path, arch_column: str, truth_column: str) -> list[tuple[str, float]]:
    """(architecture, ground truth) of every row of a CSV file."""
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in (arch_column, truth_column) if c not in (reader.fieldnames or [])]
        if missing:
            raise DiswotError(f"{path} has no column {missing[0]!r}; its columns: {', '.join(reader.fieldnames or [])}")
        rows = []
        for line, row in enumerate(reader, start=2):
            try:
                rows.append((row[arch_column], float(row[truth_column])))
            except ValueError:
                raise DiswotError(f"{path}, line {line}: {truth_column} {row[truth_column]!r} is not a number") from None
    if len(rows) < 2:
        raise DiswotError(f"{path} needs at least two rows to rank")
    return rows


def default_proxies(with_teacher: bool) -> list[str]:
    return [name for name in list_proxies() if with_teacher or not get_proxy(name).needs_teacher]


def correlate(
    truth: str | Path,
    arch_column: str,
    truth_column: str,
    *,
    space: str = "nb201",
    teacher: str | None = None,
    proxies: Sequence[str] | None = None,
    sample: int | None = None,
    timing_sample: int = 20,
    on_scored: Callable[[int, int], None] | None = None,
    calibration_cache: CalibrationCache | None = None,
    **setup_fields: Any,
) -> CorrelationReport:
    """Score the architectures of a ground-truth CSV with `proxies` and measure how well each ranks them.

    `sample` rows are drawn with `seed` (all rows by default). Each distinct canonical architecture is scored
    once. Timing: on `timing_sample` distinct candidates (after a first, warm-up one) each proxy runs alone on a
    freshly built candidate (network construction and its own passes included; an ensemble costs the sum of
    its members); the rest are scored with shared work. Either way the scores are the same. With `inits` > 1
    every score is the mean over that many random inits of the student, as `diswot score --inits` gives it;
    `shared_init` draws layers by name, as `--shared-init` does. `setup_fields`: the scoring setup's other fields
    (data, num_classes, seed, init, inits, shared_init, device, checkpoint; see `ScoringSetup.for_teacher`).
    """
    names = [resolve_proxy_name(name) for name in proxies] if proxies else default_proxies(teacher is not None)
    to_score, ensembles = split_proxy_list(names)
    setup = ScoringSetup.for_teacher(teacher, proxies=tuple(to_score), **setup_fields)
    seed = setup.seed
    search_space = get_space(space)
    rows = read_truth(truth, arch_column, truth_column)
    if sample is not None and sample < len(rows):
        if sample < 2:
            raise DiswotError(f"--sample must be at least 2, got {sample}")
        rows = [rows[i] for i in sorted(random.Random(seed).sample(range(len(rows)), sample))]
    parsed = [(arch, search_space.parse(arch), value) for arch, value in rows]
    scorer = setup.build_scorer(calibration_cache)

    canonical_of = [search_space.canonical(arch) for _, arch, _ in parsed]
    distinct = list(dict.fromkeys(canonical_of))
    scored: dict[str, tuple[dict[str, float], int]] = {}
    seconds = {name: 0.0 for name in to_score}
    # The first candidate warms up (first calls into the kernels are slow) and is not timed.
    timed = max(0, min(timing_sample, len(distinct) - 1))
    for position, canonical in enumerate(distinct):
        if 1 <= position <= timed:
            values = {}
            for proxy in scorer.proxies:
                started = time.perf_counter()
                variants = scorer.init_variants(scorer.candidate(search_space, canonical))
                values[proxy.name] = scorer.mean_over_inits(proxy, variants)[0]
                seconds[proxy.name] += time.perf_counter() - started
            scored[canonical] = (values, scorer.candidate(search_space, canonical).cost.params)
        else:
            record = scorer.score(search_space, canonical)
            scored[canonical] = (record.scores, record.params)
        if on_scored is not None:
            on_scored(position + 1, len(distinct))

    ms = {name: 1000 * total / timed if timed else math.nan for name, total in seconds.items()}
    candidates = [
        ScoredCandidate(arch, canonical, value, scored[canonical][1], dict(scored[canonical][0]))
        for (arch, _, value), canonical in zip(parsed, canonical_of)
    ]
    columns = {name: [c.scores[name] for c in candidates] for name in to_score}
    for ensemble in ensembles:
        for candidate, value in zip(candidates, ensemble.scores(columns)):
            candidate.scores[ensemble.name] = float(value)
        ms[ensemble.name] = sum(ms[member] for member in ensemble.members)
    truth_values = [c.truth for c in candidates]
    params = [c.params for c in candidates]
    reported = [name for name in names if name in ms] + [m for m in to_score if m not in names]
    table = [ranking_quality(name, [c.scores[name] for c in candidates], truth_values, params, ms[name])
             for name in reported]
    settings = dict(
        truth=str(truth), arch_column=arch_column, truth_column=truth_column, space=space, teacher=teacher,
        checkpoint=setup.checkpoint, proxies=names, ensembles=[asdict(e) for e in ensembles],
        data=setup.probe.source, batch_size=setup.probe.batch_size, image_size=setup.probe.image_size,
        num_classes=setup.num_classes, sample=sample, rows=len(candidates), distinct_candidates=len(distinct),
        seed=seed, init=setup.init, inits=setup.inits, shared_init=setup.shared_init, device=str(scorer.device),
        timing_sample=timed,
    )
    return CorrelationReport(settings, table, candidates)

