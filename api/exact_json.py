"""A JSON column that gives back every float it was given, -inf, inf and NaN included.

Python's json writes them as `-Infinity`, `Infinity` and `NaN`, which SQLite stores but PostgreSQL's JSON types
refuse (they are not JSON). A student that cannot learn scores -inf, so results and evaluations hold them: here a
non-finite float is stored as the object {"$float": "-inf"} (standard JSON on every database) and read back as
the float. Rows written before this column type, with `-Infinity` in SQLite, still read back unchanged.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import JSON
from sqlalchemy.types import TypeDecorator

NON_FINITE_KEY = "$float"
NON_FINITE_NAMES = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}


def encode_non_finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return {NON_FINITE_KEY: repr(value)}  # 'inf', '-inf' or 'nan'
    if isinstance(value, dict):
        return {key: encode_non_finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode_non_finite(item) for item in value]
    return value


def decode_non_finite(value: Any) -> Any:
    if isinstance(value, dict):
        if value.keys() == {NON_FINITE_KEY} and value[NON_FINITE_KEY] in NON_FINITE_NAMES:
            return NON_FINITE_NAMES[value[NON_FINITE_KEY]]
        return {key: decode_non_finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [decode_non_finite(item) for item in value]
    return value


class ExactJSON(TypeDecorator):
    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect) -> Any:
        return encode_non_finite(value)

    def process_result_value(self, value: Any, dialect) -> Any:
        return decode_non_finite(value)
