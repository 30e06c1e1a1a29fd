"""Shared pytest fixtures: an isolated SAGEBOX_HOME and helpers for real services."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

REQUIRE_SERVICES = os.environ.get("SAGEBOX_REQUIRE_SERVICES") == "1"
# The test session's Ray cluster runs without Ray's token authentication, and so must every Ray
# client of the session: a local Ray instance started in this process would otherwise switch
# this process (and, through os.environ, its children) to token mode for good.
os.environ["RAY_AUTH_MODE"] = "disabled"
SHARED_REVIEWS = (
    Path(__file__).resolve().parents[1]
    / ".."
    / "shared"
    / "data"
    / "womens_clothing_reviews"
    / "reviews.csv"
).resolve()


def skip_or_fail(reason: str) -> None:
    """Skip a test needing a missing service, or fail when SAGEBOX_REQUIRE_SERVICES=1."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (SAGEBOX_REQUIRE_SERVICES=1 forbids skipping)", pytrace=False)
    pytest.skip(reason)


def require_program(name: str, install_hint: str, candidates: tuple[str, ...] = ()) -> str:
    """Return the path of program ``name`` or skip/fail saying how to install it."""
    for candidate in (name, *candidates):
        found = shutil.which(candidate) or (candidate if os.path.isfile(candidate) else None)
        if found:
            return found
    skip_or_fail(f"{name} is not installed: {install_hint}")
    raise AssertionError("unreachable")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture()
def sagebox_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An isolated SAGEBOX_HOME (file lake + SQLite) for one test; returns the home path."""
    home = tmp_path / "sbhome"
    for key in list(os.environ):
        if key.startswith("SAGEBOX_") and key != "SAGEBOX_REQUIRE_SERVICES":
            monkeypatch.delenv(key)
    monkeypatch.setenv("SAGEBOX_HOME", str(home))
    monkeypatch.chdir(tmp_path)
    yield home


@pytest.fixture(scope="session")
def shared_reviews_csv() -> Path:
    """The shared real review data; tests using it are marked ``realdata``."""
    if not SHARED_REVIEWS.is_file():
        pytest.skip(
            f"real review data not found at {SHARED_REVIEWS} (only on developer/CI machines)"
        )
    return SHARED_REVIEWS


# One two-node Ray cluster per test session, shared by every directory that uses it (it takes
# tens of seconds to start); imported here so that no directory starts a second one.
from tests.fixtures.ray import ray_cluster  # noqa: E402, F401 - after what it imports from here


@pytest.fixture(autouse=True)
def _ray_cluster_left_idle(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a test on the session's Ray cluster, leave it idle for the next one (see reset)."""
    yield
    if "ray_cluster" in request.fixturenames:
        request.getfixturevalue("ray_cluster").reset()
