"""The scorer: proxies of candidate students against one teacher on one probe batch.

Teacher statistics are computed once per scorer (teacher, probe batch, seed) and reused for every candidate.
A student is built from its canonical architecture with a seed derived from (seed, canonical architecture),
scored by one forward pass with no autograd graph (proxies that need gradients build their own copy), and
discarded; the teacher is never changed. With `inits` > 1 every proxy's score (and every term) is the mean
over that many random inits of the student, each with its own derived seed: the top of a ranking by one
init is decided by init noise as much as by architecture (see the README's search-quality figures).
"""

from __future__ import annotations

import math
import statistics
import time
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Optional, Sequence

import torch

from diswot.calibration import Calibration, calibrate, calibration_reference
from diswot.calibration_cache import CalibrationCache, calibration_key
from diswot.candidate import CandidateContext, TeacherState
from diswot.candidate_score import CandidateScore
from diswot.devices import resolve_device
from diswot.errors import DiswotError
from diswot.probe_data import ProbeBatch
from diswot.proxies import Proxy, get_proxy
from diswot.teachers import Teacher
from search_spaces import Cost, SearchSpace

if TYPE_CHECKING:
    from diswot.scoring_setup import ScoringSetup


class Scorer:
    """Scores candidates as `setup` says, against `teacher` (None: teacher-free proxies only) on `probe`; the
    setup was checked when it was built (`ScoringSetup.build_scorer` builds the scorer from it)."""

    def __init__(self, setup: "ScoringSetup", teacher: Teacher | None, probe: ProbeBatch, *, channels_last: bool = True,
                 calibration_cache: CalibrationCache | None = None):
        self.setup = setup
        self.calibration_cache = calibration_cache
        self.proxies: list[Proxy] = [get_proxy(name) for name in setup.proxies]
        self.seed = setup.seed
        self.init = setup.init
        self.inits = setup.inits
        self.shared_init = setup.shared_init
        self.device = resolve_device(setup.device)
        self.channels_last = channels_last and self.device.type == "cpu"
        self.num_classes = teacher.num_classes if teacher is not None else setup.num_classes
        if probe.num_labels_needed > self.num_classes:
            raise DiswotError(
                f"probe labels go up to {probe.num_labels_needed - 1} but the teacher has {self.num_classes} classes"
            )
        memory_format = torch.channels_last if self.channels_last else torch.contiguous_format
        self.images = probe.images.to(self.device).contiguous(memory_format=memory_format)
        self.labels = probe.labels.to(self.device)
        self.image_size = probe.images.shape[-1]
        self.teacher: TeacherState | None = None
        if teacher is not None:
            self.teacher = TeacherState(teacher.model.to(self.device), self.images, teacher.trained)
        self._costs: dict[tuple[str, str], Cost] = {}
        self.calibrations: dict[tuple[str, str], Calibration] = dict(setup.calibrations)
        # How each calibration got here: "shipped" with the setup, "reused" from the cache, or "measured".
        self.calibration_sources: dict[tuple[str, str], str] = {key: "shipped" for key in setup.calibrations}
        self._cache_keys: dict[tuple[str, str], str] = {}

    @property
    def proxy_names(self) -> list[str]:
        return [p.name for p in self.proxies]

    def cost_of(self, candidate: CandidateContext) -> Cost:
        key = (candidate.space.name, candidate.canonical)
        if key not in self._costs:
            self._costs[key] = candidate.measure_cost()
        return self._costs[key]

    def calibration(
        self, space: SearchSpace, proxy: Proxy, should_stop: Optional[Callable[[], bool]] = None
    ) -> Calibration:
        """`proxy`'s calibration on `space`: shipped with the setup, else reused from the calibration cache, else
        measured here, once per scorer (like the teacher's statistics), on the reference sample
        (`diswot.calibration`; CalibrationStopped when `should_stop` says so between two cells)."""
        key = (space.name, proxy.name)
        if key not in self.calibrations and not self.reuse_calibration(space, proxy):
            reference = calibration_reference(space, self.seed)
            self.keep_calibration(space, proxy, calibrate(
                space, reference, lambda arch: proxy.calibration_terms(self.candidate(space, arch)), should_stop))
        return self.calibrations[key]

    def reuse_calibration(self, space: SearchSpace, proxy: Proxy) -> bool:
        """Take `proxy`'s calibration on `space` from the calibration cache; False when it has none."""
        if self.calibration_cache is None:
            return False
        found = self.calibration_cache.load(self.cache_key(space, proxy))
        if found is None:
            return False
        self.calibrations[(space.name, proxy.name)] = found
        self.calibration_sources[(space.name, proxy.name)] = "reused"
        return True

    def keep_calibration(self, space: SearchSpace, proxy: Proxy, calibration: Calibration) -> None:
        """A calibration measured for this scorer, kept here and in the calibration cache."""
        self.calibrations[(space.name, proxy.name)] = calibration
        self.calibration_sources[(space.name, proxy.name)] = "measured"
        if self.calibration_cache is not None:
            self.calibration_cache.store(self.cache_key(space, proxy), calibration)

    def cache_key(self, space: SearchSpace, proxy: Proxy) -> str:
        """`proxy`'s calibration key on `space`, hashed once per scorer (it reads every teacher weight): a missed
        lookup and the store that follows share it."""
        key = (space.name, proxy.name)
        if key not in self._cache_keys:
            self._cache_keys[key] = calibration_key(self, space.name, proxy)
        return self._cache_keys[key]

    def candidate(self, space: SearchSpace, arch: Any) -> CandidateContext:
        """The candidate for an arch object or its string; its network is built when first needed."""
        if isinstance(arch, str):
            arch = space.parse(arch)
        return CandidateContext(self, space, arch, space.canonical(arch))

    def score(self, space: SearchSpace, arch: Any) -> CandidateScore:
        """Score one architecture (an arch object or its string)."""
        return self.score_candidate(self.candidate(space, arch))

    def init_variants(self, candidate: CandidateContext, inits: int | None = None,
                      first_init: int = 0) -> list[CandidateContext]:
        """The candidate under each of `inits` random inits (default: the scorer's) from its `first_init`-th on;
        init 0 is the candidate itself."""
        count = self.inits if inits is None else inits
        return [candidate if index == 0 else candidate.another_init(index)
                for index in range(first_init, first_init + count)]

    @staticmethod
    def mean_over_inits(proxy: Proxy, variants: Sequence[CandidateContext]) -> tuple[float, dict[str, float], float]:
        """One proxy's score and terms, each the mean over the student's init variants, and the score's spread
        (sample standard deviation over the inits; 0 for one init)."""
        values = [proxy.compute(each) for each in variants]
        score, spread = mean_and_spread([float(value.score) for value in values])
        return score, mean_terms([value.terms for value in values]), spread

    def score_candidate(self, candidate: CandidateContext, inits: int | None = None,
                        first_init: int = 0) -> CandidateScore:
        """Every proxy's score of the candidate, the mean over `inits` random inits (default: the scorer's) from
        its `first_init`-th on."""
        started = time.perf_counter()
        variants = self.init_variants(candidate, inits, first_init)  # shared by every proxy: each built once
        scores: dict[str, float] = {}
        spreads: dict[str, float] = {}
        terms: dict[str, float] = {}
        for proxy in self.proxies:
            scores[proxy.name], proxy_terms, spreads[proxy.name] = self.mean_over_inits(proxy, variants)
            terms.update(proxy_terms)
        cost = candidate.cost
        first = self.proxies[0].name
        return CandidateScore(
            space=candidate.space.name,
            arch=candidate.space.format(candidate.arch),
            canonical=candidate.canonical,
            score=scores[first],
            scores=scores,
            terms=terms,
            params=cost.params,
            flops=cost.flops,
            seconds=time.perf_counter() - started,
            score_spread=spreads[first],
        )

    def score_all(self, space: SearchSpace, archs: Iterable[Any]) -> list[CandidateScore]:
        return [self.score(space, arch) for arch in archs]


def mean_and_spread(per_init: Sequence[float]) -> tuple[float, float]:
    """The mean of the scores one student got under several random inits, and their spread (sample standard
    deviation; 0 for one init or a non-finite score)."""
    spread = statistics.stdev(per_init) if len(per_init) > 1 and all(map(math.isfinite, per_init)) else 0.0
    return statistics.fmean(per_init), spread


def mean_terms(per_init_terms: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Each term's mean over the inits that gave it."""
    return {
        name: statistics.fmean(float(values[name]) for values in per_init_terms if name in values)
        for name in dict.fromkeys(name for values in per_init_terms for name in values)
    }
