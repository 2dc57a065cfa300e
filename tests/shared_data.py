"""Where the project's own machines keep ../shared/data (real CIFAR samples, NAS-Bench-201 truth; see its
PROVENANCE.md), defined once for the tests and the benchmarks. The product never reads it; a user's machine has
no such folder, and the tests that need it skip."""

from pathlib import Path

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
