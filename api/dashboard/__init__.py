"""The web dashboard: jobs, a job's progress and students, a new-search form and a Pareto-front comparison."""

from api.dashboard.pages import install_dashboard

__all__ = ["install_dashboard"]
