"""The one exception type users see (defined with the search spaces, the bottom layer), and its per-field form."""

from typing import Callable

from search_spaces.errors import DiswotError

__all__ = ["DiswotError", "FieldError", "in_field", "integer_field", "probability_field"]


class FieldError(DiswotError):
    """A DiswotError about one named field of a request (so a batch file can point at its line)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"field {field!r}: {message}")
        self.field = field


def in_field(name: str, check: Callable[[], object]) -> None:
    """Run `check`; a DiswotError it raises becomes a FieldError naming `name` (one already naming a field stays)."""
    try:
        check()
    except FieldError:
        raise
    except DiswotError as error:
        raise FieldError(name, str(error)) from None


def integer_field(name: str, value: object, low: int) -> int:
    """`value`, an integer >= `low` (not a bool); else a FieldError naming `name`."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise FieldError(name, f"must be an integer >= {low}, got {value!r}")
    return value


def probability_field(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise FieldError(name, f"must be a probability in [0, 1], got {value!r}")
    return value
