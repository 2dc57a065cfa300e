"""Shared fixtures: the optional ../shared/data folder; fresh databases on SQLite and on PostgreSQL; teacher and
probe-data files that cannot be used.

A test that takes `database_url` (or a module fixture that takes `fresh_database`) runs twice: on a SQLite file
and on a new database of the PostgreSQL server named by DISWOT_TEST_POSTGRES_URL (`.ci/run` starts one;
`.ci/postgres start` prints such a URL). Without that variable the PostgreSQL runs are skipped, saying so.
"""

import io
import os
import pickle
import uuid
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import torch
from PIL import Image
from shared_data import SHARED_DATA

POSTGRES_URL_VARIABLE = "DISWOT_TEST_POSTGRES_URL"
NO_POSTGRES = (
    f"PostgreSQL variant skipped: {POSTGRES_URL_VARIABLE} is not set (.ci/run starts a server and sets it; "
    "locally `.ci/postgres start` prints a URL to set it to)"
)


def pytest_report_header() -> str:
    url = os.environ.get(POSTGRES_URL_VARIABLE)
    return f"database tests: SQLite and PostgreSQL at {url}" if url else f"database tests: SQLite only. {NO_POSTGRES}"


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present (it exists only on the project's own machines)")
    return SHARED_DATA


class PostgresServer:
    """Creates empty databases on one server, one per call, and drops them all at the end of the session."""

    def __init__(self, url: str):
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url

        self.url = make_url(url)
        self.admin = create_engine(self.url, isolation_level="AUTOCOMMIT")
        self.created: list[str] = []

    def check_reachable(self) -> None:
        from sqlalchemy import text
        from sqlalchemy.exc import OperationalError

        try:
            with self.admin.connect() as connection:
                connection.execute(text("SELECT 1"))
        except OperationalError as error:
            # The variable promises a server: a wrong URL or a dead server is a failure, not a skip.
            pytest.fail(f"{POSTGRES_URL_VARIABLE}={self.url!r} is set but no server answers there: {error}")

    def new_database(self) -> str:
        from sqlalchemy import text

        name = f"diswot_test_{uuid.uuid4().hex}"
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return self.url.set(database=name).render_as_string(hide_password=False)

    def drop_created(self) -> None:
        from sqlalchemy import text

        with self.admin.connect() as connection:
            for name in self.created:
                # FORCE: a killed server's connections, or a test's engine never disposed, may still be open.
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


@pytest.fixture(scope="session")
def postgres_server():
    url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not url:
        pytest.skip(NO_POSTGRES)
    pytest.importorskip("psycopg", reason="PostgreSQL variant skipped: psycopg is not installed (the postgres extra)")
    server = PostgresServer(url)
    server.check_reachable()
    yield server
    server.drop_created()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def fresh_database(request, tmp_path_factory) -> Callable[[], str]:
    """`fresh_database()` -> the SQLAlchemy URL of a new, empty database on this run's kind of server."""
    pytest.importorskip("sqlalchemy")
    if request.param == "sqlite":
        return lambda: f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'jobs.db'}"
    return request.getfixturevalue("postgres_server").new_database


@pytest.fixture
def database_url(fresh_database) -> str:
    """A new, empty database for this test, on SQLite and (a second run) on PostgreSQL."""
    return fresh_database()


@pytest.fixture(scope="module")
def downloads(tmp_path_factory):
    """Where a browser test module's Chromium downloads files."""
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(downloads):
    """One headless Chromium per browser test module; the module is skipped, saying why, where there is none."""
    from dashboard_browser import BrowserUnavailable, start_chromium

    try:
        driver = start_chromium(downloads)
    except BrowserUnavailable as missing:
        pytest.skip(f"no browser for the dashboard tests: {missing}")
    yield driver
    driver.quit()


@pytest.fixture
def database(database_url):
    """The service's jobs database at `database_url`, its schema made by the migrations."""
    from api.db import Database

    database = Database(database_url)
    database.upgrade_schema()
    yield database
    database.dispose()


class _TwoDimensionalFeatures(torch.nn.Module):
    """forward_features gives the pooled (B, C) vector instead of the (B, C, H, W) map."""

    def __init__(self, num_classes: int):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.classifier = torch.nn.Linear(8, num_classes)

    @torch.jit.export
    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.forward_features(x))


class _ReluLinear(torch.nn.Linear):
    """A Linear's weight and shapes, but not a linear map: DisWOT's gradient formula would be wrong for it."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(torch.nn.functional.linear(x, self.weight, self.bias))


class _ConvNet(torch.nn.Module):
    def __init__(self, classifier: torch.nn.Module):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.classifier = classifier

    @torch.jit.export
    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.forward_features(x).mean(dim=(2, 3)))


@pytest.fixture
def write_broken_teachers():
    """`write_broken_teachers(folder)` writes TorchScript teachers of 10 classes that load but cannot be scored,
    and returns {file name: what the error must say}."""

    def write(folder: Path) -> dict[str, str]:
        folder.mkdir(parents=True, exist_ok=True)
        broken = {
            "flat_features.ts": (_TwoDimensionalFeatures(10), "must return a 4-D (B, C, H, W) map"),
            "mlp_classifier.ts": (
                _ConvNet(torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 10))),
                "'classifier' must be one Linear layer",
            ),
            "relu_classifier.ts": (_ConvNet(_ReluLinear(8, 10)), "'classifier' must be one Linear layer"),
            "narrow_classifier.ts": (_ConvNet(torch.nn.Linear(5, 10)), "'classifier' takes 5 features"),
        }
        for name, (model, _) in broken.items():
            torch.jit.save(torch.jit.script(model.eval()), str(folder / name))
        return {name: message for name, (_, message) in broken.items()}

    return write


@pytest.fixture
def write_broken_probe_data():
    """`write_broken_probe_data(folder)` writes probe data of 8 images for 10 classes that cannot be read as a
    batch, and returns {source: what the error must say}."""

    def write(folder: Path) -> dict[str, str]:
        folder.mkdir(parents=True, exist_ok=True)
        images = np.random.default_rng(0).integers(0, 256, (8, 32, 32, 3), dtype=np.uint8)
        np.savez(folder / "text_labels.npz", x_train=images, y_train=np.array(["cat", "dog"] * 4))
        np.savez(folder / "fractional_labels.npz", x_train=images, y_train=np.arange(8) / 2)
        np.savez(folder / "empty.npz", x_train=images[:0], y_train=np.arange(0))
        np.savez(folder / "out_of_range.npz", x_train=images, y_train=np.arange(8) * 3)
        np.savez(folder / "text_images.npz", x_train=np.full((8, 2, 2, 3), "x"), y_train=np.arange(8))
        np.savez(folder / "nan_images.npz", x_train=np.full((8, 3, 32, 32), np.nan, np.float32), y_train=np.arange(8))
        whole = io.BytesIO()
        np.savez(whole, x_train=images, y_train=np.arange(8))
        (folder / "truncated.npz").write_bytes(whole.getvalue()[: len(whole.getvalue()) // 2])
        (folder / "garbage.npz").write_bytes(b"not a zip file" * 8)
        for label in ("cat", "dog"):
            (folder / "corrupt" / label).mkdir(parents=True)
            for index in range(4):
                Image.fromarray(images[index]).save(folder / "corrupt" / label / f"{index}.png")
        (folder / "corrupt" / "dog" / "3.png").write_bytes(b"not a PNG at all")
        (folder / "cifar").mkdir()
        with open(folder / "cifar" / "train", "wb") as handle:  # rows of 100 bytes, not 3x32x32
            pickle.dump({b"data": np.zeros((8, 100), np.uint8), b"fine_labels": list(range(8))}, handle)
        return {
            "npz:text_labels.npz": "y_train must hold integer class labels",
            "npz:fractional_labels.npz": "y_train must hold integer class labels",
            "npz:empty.npz": "x_train holds no images",
            "npz:nan_images.npz": "x_train holds NaN or infinite pixel values",
            "npz:truncated.npz": "is not a readable .npz of plain arrays",
            "npz:garbage.npz": "is not a readable .npz of plain arrays",
            "npz:out_of_range.npz": "has labels 0..21 but the teacher has 10 classes",
            "npz:text_images.npz": "x_train must be (N, H, W, 3) uint8 or (N, 3, H, W) float",
            "folder:corrupt": "cannot be decoded",
            "cifar:cifar": "is not a CIFAR python pickle",
        }

    return write


@pytest.fixture(scope="module")
def one_torch_thread():
    """Searches in the service tests are tiny: one intra-op thread each beats threads spinning against each other
    on two cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def no_service_environment(monkeypatch):
    """Settings come from each test alone, not from DISWOT_* variables of the shell that runs pytest."""
    for name in [name for name in os.environ if name.startswith("DISWOT_")]:
        monkeypatch.delenv(name)
