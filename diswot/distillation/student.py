"""Which student to train: a StudentSpec, a spec file or a search's result.json (with a rank), or a bare
'SPACE:ARCH' (an architecture no search scored, e.g. a baseline), whose class count may come from the data."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import diswot
from diswot.errors import DiswotError
from diswot.initialisation import check_init_scheme
from diswot.student_search.result import StudentSpec, read_student_spec
from search_spaces import SPACES, get_space


MAX_SEED = 2**63 - 1  # the range of the seeds derive_seed gives; a search's seed is far below it


@dataclass(frozen=True)
class UnscoredStudent:
    space: str
    arch: str  # canonical

    def spec(self, num_classes: int) -> StudentSpec:
        """The spec of this architecture with PyTorch's default init at seed 0; its score is NaN (unscored)."""
        space = get_space(self.space)
        cost = space.cost(space.parse(self.arch), num_classes)
        return StudentSpec(
            space=self.space, arch=self.arch, num_classes=num_classes, params=cost.params, flops=cost.flops,
            score=float("nan"), scores={}, terms={}, teacher="", seed=0, init="default",
            diswot_version=diswot.__version__,
        )


def with_classes(spec: StudentSpec, num_classes: int) -> StudentSpec:
    """The same student with a classifier for `num_classes` classes (its cost counted again); the rest of the
    network, and so its init, is the spec's."""
    if not is_integer(num_classes) or num_classes < 2:
        raise DiswotError(f"num_classes must be an integer >= 2, got {num_classes!r}")
    space = get_space(spec.space)
    cost = space.cost(space.parse(spec.arch), num_classes)
    return replace(spec, num_classes=num_classes, params=cost.params, flops=cost.flops)


def check_spec_fields(spec: StudentSpec) -> None:
    """What builds a spec's network must be valid: a hand-made spec (JSON over the API) is not checked by its
    dataclass, and a wrong type would be used as is (a seed "x" hashes to a seed like any other)."""
    get_space(spec.space).parse(spec.arch)
    if not is_integer(spec.num_classes) or spec.num_classes < 2:
        raise DiswotError(f"student spec: num_classes must be an integer >= 2, got {spec.num_classes!r}")
    if not is_integer(spec.seed) or not 0 <= spec.seed <= MAX_SEED:
        raise DiswotError(f"student spec: seed must be an integer in [0, 2**63 - 1], got {spec.seed!r}")
    if not isinstance(spec.shared_init, bool):
        raise DiswotError(f"student spec: shared_init must be true or false, got {spec.shared_init!r}")
    try:
        check_init_scheme(spec.init)
    except DiswotError as error:
        raise DiswotError(f"student spec: {error}") from None


def is_integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def read_student(student: StudentSpec | dict | str | Path, rank: int = 1) -> StudentSpec | UnscoredStudent:
    if isinstance(student, (StudentSpec, dict)):
        try:
            spec = student if isinstance(student, StudentSpec) else StudentSpec.from_dict(student)
        except TypeError as error:
            raise DiswotError(f"not a student spec: {error}") from None
        if spec.space not in SPACES:
            raise DiswotError(f"student spec: unknown space {spec.space!r}; valid: {', '.join(sorted(SPACES))}")
        check_spec_fields(spec)
        return spec
    text = str(student)
    space_name, separator, arch = text.partition(":")
    if not Path(text).expanduser().exists() and separator and space_name in SPACES:
        space = get_space(space_name)
        return UnscoredStudent(space_name, space.canonical(space.parse(arch)))
    if not Path(text).expanduser().is_file():
        raise DiswotError(f"student {text!r} is neither a spec file (or result.json) nor 'SPACE:ARCH' "
                          f"(spaces: {', '.join(sorted(SPACES))})")
    spec = read_student_spec(Path(text).expanduser(), rank)
    check_spec_fields(spec)  # a hand-edited file is as unchecked as a spec sent over the API
    return spec
