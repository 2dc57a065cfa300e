"""The SQL evaluation store: `diswot.student_search`'s store protocol over the service's database.

A job's evaluations are rows keyed by its id, each committed as soon as it is appended; a resumed job loads
them back in the order they were appended and so replays the same search (see `diswot.student_search.runner`).
"""

from __future__ import annotations

from sqlalchemy import select

from api.db import Database, EvaluationRow
from diswot.student_search import Evaluation


class SqlEvaluationStore:
    def __init__(self, database: Database, job_id: str):
        self.database = database
        self.job_id = job_id

    def load(self, offset: int = 0) -> list[Evaluation]:
        """The job's evaluations in the order they were appended, from the `offset`-th on (a poller's next ones)."""
        query = (
            select(EvaluationRow.evaluation)
            .where(EvaluationRow.job_id == self.job_id)
            .order_by(EvaluationRow.id)
            .offset(offset)
        )
        with self.database.session() as session:
            return [Evaluation.from_dict(values) for values in session.scalars(query)]

    def append(self, evaluation: Evaluation) -> None:
        row = EvaluationRow(job_id=self.job_id, canonical=evaluation.canonical, evaluation=evaluation.to_dict())
        with self.database.session() as session, session.begin():
            session.add(row)
