"""The service's database as the library's stores: a job's evaluations (`diswot.student_search`'s store
protocol) and the calibrations every job shares (`diswot.calibration_cache`).

A job's evaluations are rows keyed by its id, each committed as soon as it is appended; a resumed job loads
them back in the order they were appended and so replays the same search (see `diswot.student_search.runner`).
A job run under a lease (`api.jobs`) appends only while its replica holds the lease: a replica that lost the job
to another adds no row to it.
"""

from __future__ import annotations

import json
import logging

from typing import Optional

from pydantic import TypeAdapter
from sqlalchemy import Text, cast, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from api.db import CalibrationRow, Database, EvaluationRow, utc_now
from api.exact_json import decode_non_finite
from api.jobs import JobRepository, LeaseLost
from diswot.calibration import Calibration
from diswot.calibration_cache import CalibrationCache
from diswot.student_search import Evaluation

EVALUATIONS = TypeAdapter(list[Evaluation])
logger = logging.getLogger(__name__)


class SqlEvaluationStore:
    def __init__(self, database: Database, job_id: str, lease_holder: Optional[JobRepository] = None):
        self.database = database
        self.job_id = job_id
        self.lease_holder = lease_holder  # None: no lease checked (a store read, or a job outside the service)

    def load(self, offset: int = 0) -> list[Evaluation]:
        """The job's evaluations in the order they were appended, from the `offset`-th on (a poller's next ones)."""
        # The rows are read as text and parsed in one call: decoding the JSON column row by row and building each
        # Evaluation took twice as long or more (10,000 evaluations: 318 ms against 144 ms, best of 9 on the
        # shared development machine), and the dashboard reads every evaluation of a job. Reading the text
        # bypasses the column type, so its stored non-finite floats ({"$float": "-inf"}) are decoded here.
        query = (
            select(cast(EvaluationRow.evaluation, Text))
            .where(EvaluationRow.job_id == self.job_id)
            .order_by(EvaluationRow.id)
            .offset(offset)
        )
        with self.database.session() as session:
            rows = json.loads("[" + ",".join(session.scalars(query)) + "]")
        return EVALUATIONS.validate_python(decode_non_finite(rows))

    def append(self, evaluation: Evaluation) -> None:
        row = EvaluationRow(job_id=self.job_id, canonical=record_key(evaluation), evaluation=evaluation.to_dict())
        with self.database.session() as session, session.begin():
            if self.lease_holder is not None and not self.lease_holder.holds_lease(self.job_id, session):
                raise LeaseLost(f"job {self.job_id} was taken over by another replica")
            session.add(row)


def record_key(evaluation: Evaluation) -> str:
    """What is unique among a job's rows: the canonical architecture within its stage (the confirm stage stores a
    second record of each finalist)."""
    return evaluation.canonical if evaluation.stage == "search" else f"{evaluation.stage}:{evaluation.canonical}"


class SqlCalibrationCache(CalibrationCache):
    """Calibrations in the jobs' database. A cache only saves time: a database that cannot be read or written
    (its table not made yet, a lost connection) counts as an empty cache, logged, and the scoring goes on."""

    def __init__(self, database: Database):
        self.database = database

    def load(self, key: str) -> Optional[Calibration]:
        try:
            with self.database.session() as session:
                stored = session.scalar(select(CalibrationRow.calibration).where(CalibrationRow.key == key))
        except SQLAlchemyError as error:
            logger.warning("calibration cache not readable, measuring instead: %s", error)
            return None
        return None if stored is None else Calibration.from_dict(stored)

    def store(self, key: str, calibration: Calibration) -> None:
        try:
            with self.database.session() as session, session.begin():
                session.add(CalibrationRow(key=key, calibration=calibration.to_dict(), created_at=utc_now()))
        except IntegrityError:
            pass  # another job measured the same calibration meanwhile: the same values are kept already
        except SQLAlchemyError as error:
            logger.warning("calibration not kept in the cache: %s", error)
