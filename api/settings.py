"""The service's settings: where jobs are stored, who may call it, and the limits every request is held to.

Read from the environment with the `DISWOT_` prefix (`DISWOT_DATABASE_URL`, `DISWOT_API_KEY`,
`DISWOT_MAX_EVALUATIONS`, ...); `diswot serve` overrides a few from its options.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Optional

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from diswot.calibration_cache import cache_root
from diswot.executors.spec import ExecutorSpec
from diswot.latency import LATENCY_CACHE_FILE


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DISWOT_", extra="ignore")

    database_path: Path = Field(Path("diswot-service.db"), description="SQLite file used when no database_url is set.")
    database_url: Optional[str] = Field(
        None, description="Any SQLAlchemy URL, e.g. postgresql+psycopg://user:pw@host/db."
    )
    api_key: Optional[SecretStr] = Field(None, description="When set, every endpoint but health needs it in X-API-Key.")
    concurrent_jobs: int = Field(1, ge=1, le=64, description="Searches run at the same time.")
    executor: Literal["inprocess", "process", "ray"] = Field(
        "inprocess", description="Where a job's candidates are scored (diswot.executors); results do not depend on it."
    )
    workers_per_job: int = Field(
        1, ge=1, le=1024,
        description="Worker processes of each job (process, ray); twice this is a request's default concurrency.",
    )
    ray_address: Optional[str] = Field(None, description="A running Ray cluster for the ray executor; unset: a local Ray.")
    max_concurrency: int = Field(256, ge=1, description="Most candidates a search request may keep in flight.")
    lease_seconds: float = Field(
        30.0, ge=0.5, le=3600,
        description="How long a replica holds a running job without renewing it: a replica's death is noticed "
        "after at most this long, and another replica takes the job over.",
    )
    lease_renewal_seconds: float = Field(
        10.0, gt=0, description="How often a replica renews the leases of the jobs it runs (below lease_seconds)."
    )
    claim_interval_seconds: float = Field(
        1.0, gt=0, le=60,
        description="How often an idle replica looks for jobs queued on another replica or left by a dead one.",
    )
    max_takeovers: int = Field(
        3, ge=0, le=100, description="Times a job is taken over from a dead replica before it fails instead."
    )

    max_evaluations: int = Field(5000, ge=1, description="Upper bound of evaluations and of population.")
    max_batch_size: int = Field(256, ge=2)
    max_image_size: int = Field(224, ge=8, description="Largest probe and latency resolution (ImageNet's 224 px).")
    max_num_classes: int = Field(1000, ge=2)
    max_top_k: int = Field(100, ge=1)
    max_inits: int = Field(8, ge=1, description="Most random inits a request may average per candidate.")
    max_list_length: int = Field(100, ge=1, description="Longest proxy list and largest page of a job listing.")
    max_score_archs: int = Field(32, ge=1, description="Most architectures one synchronous /v1/score call scores.")
    max_score_pixels: int = Field(
        32 * 128 * 32 * 32,
        ge=1,
        description="Most work one /v1/score call may ask for, archs x inits x batch_size x image_size^2 "
        "(the default: 32 archs of one init at batch 128, 32x32).",
    )
    max_body_bytes: int = Field(65536, ge=1024)
    max_distill_epochs: int = Field(1000, ge=1, description="Most epochs one distillation job may train.")
    max_distill_batch_size: int = Field(1024, ge=2)
    distill_dir: Path = Field(
        Path("diswot-distillations"), description="Where distillation jobs keep their run folders, one per job."
    )

    teacher_dir: Optional[Path] = Field(
        None,
        description="The only directory TorchScript teachers and checkpoints "
        "are read from over the API; unset: file teachers are refused.",
    )
    latency_cache: Optional[Path] = Field(
        default_factory=lambda: cache_root() / LATENCY_CACHE_FILE,
        description="File of latency timings on this machine, shared by its jobs (unset: timed per job).",
    )
    data_dir: Optional[Path] = Field(
        None,
        description="The only directory probe data files are read from over the API; unset: only synthetic probe data.",
    )

    @field_validator("api_key", "database_url", "teacher_dir", "data_dir", "ray_address", "latency_cache",
                     mode="before")
    @classmethod
    def empty_is_unset(cls, value):
        # `DISWOT_API_KEY=` in a compose file or shell means "no key", not "the empty key".
        return None if value == "" else value

    @model_validator(mode="after")
    def renewal_within_lease(self) -> "Settings":
        if self.lease_renewal_seconds >= self.lease_seconds:
            raise ValueError(f"lease_renewal_seconds ({self.lease_renewal_seconds}) must be below lease_seconds "
                             f"({self.lease_seconds}), or leases expire while their jobs run")
        return self

    def executor_spec(self, device: str = "auto") -> ExecutorSpec:
        """Where this server scores a job on `device`: `executor`, `workers_per_job`, `ray_address`."""
        return ExecutorSpec.parse(self.executor, self.workers_per_job,
                                  self.ray_address if self.executor == "ray" else None, device=device)

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{self.database_path.expanduser().resolve()}"
