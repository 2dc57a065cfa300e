"""The job tables on SQLite and on PostgreSQL: every stored float comes back exactly, -inf, inf and NaN included
(a student that cannot learn scores -inf), and what is stored is standard JSON, which PostgreSQL requires."""

import json
import math

import pytest

pytest.importorskip("sqlalchemy")

from sqlalchemy import text  # noqa: E402

from api.db import JobRow, utc_now  # noqa: E402
from api.jobs import JobRepository  # noqa: E402
from api.store import SqlEvaluationStore  # noqa: E402
from diswot.student_search import Evaluation  # noqa: E402

SCORES = {"diswot": -math.inf, "synflow": math.inf, "snip": math.nan, "params": 0.1 + 0.2, "zen": -0.0}
RESULT = {
    "students": [{"arch": "1x16-1x32-1x64", "score": -math.inf, "scores": SCORES}],
    "best_scores": [-math.inf, -1.5e-308, 5e-324, 1.7976931348623157e308],
    "looks_like_a_float": {"$float": "a string key of a user's own"},
    "strings": ["-inf", "nan", "Infinity"],
    "nothing": None,
}


def same(stored, expected) -> bool:
    """Equal, with NaN equal to NaN and -0.0 told from 0.0: what an exact round trip keeps."""
    if isinstance(expected, float):
        if not isinstance(stored, float):
            return False
        if math.isnan(expected):
            return math.isnan(stored)
        return stored == expected and math.copysign(1, stored) == math.copysign(1, expected)
    if isinstance(expected, dict):
        return (
            isinstance(stored, dict)
            and stored.keys() == expected.keys()
            and all(same(stored[key], value) for key, value in expected.items())
        )
    if isinstance(expected, list):
        return isinstance(stored, list) and len(stored) == len(expected) and all(map(same, stored, expected))
    return stored == expected


def strict_json(raw: str):
    def refuse(constant):
        raise AssertionError(f"{constant} is not JSON")

    return json.loads(raw, parse_constant=refuse)


def test_non_finite_scores_round_trip_exactly_as_standard_json(database):
    jobs = JobRepository(database)
    job = jobs.create({"teacher": "resnet8", "space": "nb201", "calibration": [math.nan, 2.5]})
    assert jobs.claim_next(lease_seconds=30, max_takeovers=3) == (job.id, job.config)
    evaluation = Evaluation("c", "c", params=10, flops=20, feasible=True, score=-math.inf, scores=SCORES)
    SqlEvaluationStore(database, job.id).append(evaluation)
    jobs.record_progress(job.id, 1, 1, -math.inf, math.nan)
    jobs.succeed(job.id, RESULT)

    assert same(jobs.result(job.id), RESULT)
    assert same(jobs.get(job.id).config["calibration"], [math.nan, 2.5])
    (loaded,) = SqlEvaluationStore(database, job.id).load()
    assert same(loaded.to_dict(), evaluation.to_dict())
    assert jobs.get(job.id).best_score == -math.inf
    with database.engine.connect() as connection:
        raw = connection.execute(text("SELECT CAST(result AS TEXT) FROM search_jobs")).scalar_one()
    assert strict_json(raw)["students"][0]["score"] == {"$float": "-inf"}


def test_rows_sqlite_stored_before_as_bare_infinity_still_read(database, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("only SQLite ever held the bare -Infinity that Python's json writes")
    with database.session() as session, session.begin():
        session.add(JobRow(id="old", status="succeeded", config={}, created_at=utc_now()))
    with database.engine.begin() as connection:
        connection.execute(text("""UPDATE search_jobs SET result = '{"best_scores": [-Infinity, NaN, 1.5]}'"""))
    assert same(JobRepository(database).result("old"), {"best_scores": [-math.inf, math.nan, 1.5]})
