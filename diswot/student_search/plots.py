"""The two plots of a run folder (matplotlib, the `plots` extra): score against cost with the Pareto front
marked, and the best score against evaluations."""

from __future__ import annotations

from pathlib import Path

from diswot.student_search.result import SearchResult

# Each cost axis in the unit it is read in: the divisor and the label.
AXIS_UNITS = {"params": (1e6, "params (M)"), "flops": (1e6, "FLOPs (M)"), "latency": (1e-3, "latency (ms)")}


def plotting_available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def write_plots(result: SearchResult, folder: Path) -> list[Path]:
    """Write pareto.png and progress.png into `folder`; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    objective = result.config["objective"]
    unit, label = AXIS_UNITS[objective]
    title = f"{result.config['teacher']} -> {result.config['space']} ({result.config['strategy']})"
    feasible = [e for e in result.history if e.feasible]
    infeasible = [e for e in result.history if not e.feasible]

    figure, axes = plt.subplots(figsize=(7, 4.5))
    axes.scatter([getattr(e, objective) / unit for e in feasible], [e.score for e in feasible], s=8, alpha=0.5,
                 label=f"evaluated ({len(feasible)})")
    front = result.pareto_front
    axes.plot([getattr(s, objective) / unit for s in front], [s.score for s in front], "o-", color="C3", ms=4,
              label=f"Pareto front ({len(front)})")
    top = result.students[0]
    axes.scatter([getattr(top, objective) / unit], [top.score], marker="*", s=160, color="C2", zorder=3, label="best")
    if infeasible:
        axes.set_title(f"{title}; {len(infeasible)} over budget not shown", fontsize=9)
    else:
        axes.set_title(title, fontsize=9)
    axes.set_xlabel(label)
    axes.set_ylabel(f"{result.config['proxies'][0]} score (higher is better)")
    axes.legend(fontsize=8)
    figure.tight_layout()
    pareto_path = folder / "pareto.png"
    figure.savefig(pareto_path, dpi=120)
    plt.close(figure)

    figure, axes = plt.subplots(figsize=(7, 4.5))
    axes.plot(range(1, len(result.best_scores) + 1), result.best_scores, color="C0")
    axes.set_xlabel("feasible evaluations")
    axes.set_ylabel("best score so far")
    axes.set_title(title, fontsize=9)
    figure.tight_layout()
    progress_path = folder / "progress.png"
    figure.savefig(progress_path, dpi=120)
    plt.close(figure)
    return [pareto_path, progress_path]
