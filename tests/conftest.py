"""Shared fixtures: where the data is, and a clean JAX configuration.

The data is never committed. Tests read it from `MANYSEEDS_MNIST_DIR` and
`MANYSEEDS_STIMULI` (set by `.ci/run`), falling back to `../shared/data`
beside the repository.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


# CLI calls and subprocesses in the tests find the data through the
# environment, as a user's shell would.
os.environ.setdefault("MANYSEEDS_MNIST_DIR", str(SHARED_DATA / "mnist"))
os.environ.setdefault(
    "MANYSEEDS_STIMULI", str(SHARED_DATA / "stimuli" / "noise_index.npz")
)


def _data_path(env: str, fallback: Path) -> Path:
    value = os.environ.get(env)
    return Path(value) if value else fallback


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    path = _data_path("MANYSEEDS_MNIST_DIR", SHARED_DATA / "mnist")
    assert path.is_dir(), (
        f"MNIST IDX folder not found at {path}; set MANYSEEDS_MNIST_DIR"
    )
    return path


@pytest.fixture(scope="session")
def stimuli_path() -> Path:
    path = _data_path("MANYSEEDS_STIMULI", SHARED_DATA / "stimuli" / "noise_index.npz")
    assert path.is_file(), f"stimulus file not found at {path}; set MANYSEEDS_STIMULI"
    return path


@pytest.fixture
def isolated_data_config(monkeypatch, tmp_path):
    """No user config, no data environment variables, no tensorflow-datasets.

    For tests of how the data stage finds its files; used module-wide by the
    data tests (`pytestmark`).
    """
    from manyseeds.data import paths

    monkeypatch.setenv(paths.ENV_CONFIG, str(tmp_path / "config.json"))
    monkeypatch.delenv(paths.ENV_MNIST, raising=False)
    monkeypatch.delenv(paths.ENV_STIMULI, raising=False)
    monkeypatch.setattr(paths, "tfds_available", lambda: False)
