"""The shipped compute-backend suite on the local backend, plus opening backends by name."""

from __future__ import annotations

import pytest

from sagebox.backends.compute import open_compute
from sagebox.errors import ConfigError
from sagebox.testing.compute import ComputeBackendSuite, OpenCompute


class TestLocalCompute(ComputeBackendSuite):
    """The shipped suite on local subprocesses."""

    @pytest.fixture()
    def open_compute(self) -> OpenCompute:
        return lambda: open_compute("local")


def test_unknown_backend_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="'nope'"):
        open_compute("nope://cluster:10001")
