from __future__ import annotations

import pytest

from sagebox._registry import Registry
from sagebox.errors import ConfigError


def test_lazy_import_and_unknown_name() -> None:
    reg: Registry[object] = Registry("thing")
    reg.register("od", "collections:OrderedDict")
    from collections import OrderedDict

    assert reg.get("od") is OrderedDict
    with pytest.raises(ConfigError, match="unknown thing 'nope'.*") as info:
        reg.get("nope")
    assert "od" in (info.value.hint or "")


def test_missing_optional_package_names_the_extra() -> None:
    reg: Registry[object] = Registry("storage backend")
    reg.register("x", "ray_is_not_here_hopefully.mod:Thing")
    with pytest.raises(ConfigError, match="not installed"):
        reg.get("x")


def test_public_api_is_curated() -> None:
    import sagebox

    assert set(sagebox.__all__) == {
        "AlreadyExistsError",
        "ConfigError",
        "EndpointClient",
        "Estimator",
        "InputDataError",
        "JobClient",
        "JobError",
        "ModelClient",
        "NotFoundError",
        "PortInUseError",
        "SageboxError",
        "ServiceUnavailableError",
        "Session",
        "Settings",
        "__version__",
        "load_settings",
    }
    for name in sagebox.__all__:
        assert getattr(sagebox, name) is not None
