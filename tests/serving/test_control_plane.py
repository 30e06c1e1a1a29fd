"""The control plane of a real ``sagebox serve``: token, malformed requests, faults, OpenAPI.

Issue 15, defect 6: malformed admin/reward/fault requests answered 500, the admin API and
fault injection had no authentication. The server here is started as a user would
(``python -m sagebox serve``), without fault injection.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from sagebox.errors import AuthenticationError, PermissionDeniedError
from sagebox.serving import EndpointClient
from sagebox.session import Session
from tests.conftest import free_port
from tests.serving.conftest import poll, register_tiny_models


@dataclass
class Served:
    url: str
    home: Path
    token: str
    client: EndpointClient

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``sagebox serve`` on a free port (no fault injection) with endpoint ``ctl`` on tiny-v1."""
    root = tmp_path_factory.mktemp("control")
    home = root / "sbhome"
    with pytest.MonkeyPatch.context() as mp:
        for key in list(os.environ):
            if key.startswith("SAGEBOX_") and key != "SAGEBOX_REQUIRE_SERVICES":
                mp.delenv(key)
        mp.setenv("SAGEBOX_HOME", str(home))
        mp.chdir(root)
        session = Session()
        register_tiny_models(session, root / "models")
        port = free_port()
        log = open(root / "serve.log", "wb")  # noqa: SIM115 - closed after the server
        proc = subprocess.Popen(
            [sys.executable, "-m", "sagebox", "serve", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(os.environ),
        )
        url = f"http://127.0.0.1:{port}"
        try:
            poll(lambda: _pings(url) or proc.poll() is not None, timeout=120)
            assert proc.poll() is None, (root / "serve.log").read_text()
            client = EndpointClient(session)
            client.create(
                "ctl", config={"variants": [{"name": "v1", "model": "tiny-v1"}]}, port=port
            )
            token = (home / "serving" / "admin-token").read_text().strip()
            yield Served(url, home, token, client)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()


def _pings(url: str) -> bool:
    try:
        return httpx.get(f"{url}/ping", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_admin_token_is_made_at_first_start_owner_only(served: Served) -> None:
    path = served.home / "serving" / "admin-token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert len(served.token) >= 32


ADMIN_CALLS = [
    ("POST", "/_admin/endpoints", {"name": "x", "config": {"variants": [{"model": "tiny-v1"}]}}),
    ("PUT", "/_admin/endpoints/ctl", {"config": {"variants": [{"model": "tiny-v2"}]}}),
    ("PATCH", "/_admin/endpoints/ctl", {"weights": {"v1": 1}}),
    ("DELETE", "/_admin/endpoints/ctl", None),
    ("POST", "/_admin/endpoints/ctl/faults", {"variant": "v1"}),
]


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_CALLS)
@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_admin_routes_refuse_a_missing_or_wrong_token(
    served: Served, method: str, path: str, body: object, token: str | None
) -> None:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    response = httpx.request(
        method,
        served.url + path,
        content=None if body is None else json.dumps(body),
        headers=headers,
    )
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    assert "token" in response.json()["error"] and "\n" not in response.text
    assert served.client.status("ctl")["status"] == "InService"  # nothing happened


def test_a_client_of_another_home_is_refused_with_a_clear_error(
    served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sagebox.serving._client.admin import ServerConnection

    other = ServerConnection("127.0.0.1", int(served.url.rsplit(":", 1)[1]), home=tmp_path)
    with pytest.raises(AuthenticationError, match="admin token"):
        other.call("PATCH", "/_admin/endpoints/ctl", {"weights": {"v1": 1}})


DEEP = "[" * 5000 + "]" * 5000

# The six malformed requests of the probe, plus neighbours: each answered 500 before.
MALFORMED = [
    ("PATCH", "/_admin/endpoints/ctl", '{"weights": {"v1": "heavy"}}', "weights.v1"),
    ("PATCH", "/_admin/endpoints/ctl", '{"weights": {"v1": [1]}}', "weights.v1"),
    ("PATCH", "/_admin/endpoints/ctl", '{"instances": {"v1": "two"}}', "instances.v1"),
    ("PATCH", "/_admin/endpoints/ctl", '{"instances": {"v1": 2.5}}', "instances.v1"),
    ("PATCH", "/_admin/endpoints/ctl", '{"weights": ' + DEEP + "}", "nests deeper"),
    ("PATCH", "/_admin/endpoints/ctl", '{"weights": ["v1"]}', "weights"),
    ("POST", "/_admin/endpoints", DEEP, "nests deeper"),
    ("POST", "/_admin/endpoints", '{"name": "x", "config": ' + DEEP + "}", "nests deeper"),
    (
        "POST",
        "/_admin/endpoints",
        '{"name": "x", "config": {"variants": [{"model": "tiny-v1", "instance_count": "three"}]}}',
        "instance_count",
    ),
    (
        "POST",
        "/_admin/endpoints/ctl/faults",
        '{"variant": "v1", "error_rate": "all"}',
        "error_rate",
    ),
    ("POST", "/_admin/endpoints/ctl/faults", '{"variant": "v1", "seconds": "10s"}', "seconds"),
    ("POST", "/endpoints/ctl/rewards", '{"inference_id": "a", "reward": "good"}', "reward"),
    ("POST", "/endpoints/ctl/rewards", DEEP, "nests deeper"),
    ("POST", "/endpoints/ctl/rewards", "not json", "JSON"),
    (
        "PUT",
        "/_admin/endpoints/ctl",
        '{"config": {"variants": [{"model": 7, "initial_weight": "x"}]}}',
        "variants",
    ),
]


@pytest.mark.parametrize(("method", "path", "body", "names"), MALFORMED)
def test_malformed_control_requests_are_one_line_4xx(
    served: Served, method: str, path: str, body: str, names: str
) -> None:
    headers = {"Content-Type": "application/json", **served.auth}
    response = httpx.request(method, served.url + path, content=body, headers=headers)
    assert 400 <= response.status_code < 500, response.text
    error = response.json()["error"]
    assert names in error and "\n" not in error
    assert served.client.status("ctl")["status"] == "InService"


def test_fault_injection_is_refused_unless_the_server_is_for_testing(served: Served) -> None:
    with pytest.raises(PermissionDeniedError, match="fault injection is off"):
        served.client.inject_fault("ctl", "v1", error_rate=1.0, seconds=30)
    # nor can a worker be told directly
    port = served.client.status("ctl")["variants"]["v1"]["instances"][0]["port"]
    response = httpx.post(
        f"http://127.0.0.1:{port}/_fault", content=b'{"error_rate": 1, "seconds": 30}'
    )
    assert response.status_code == 403
    answers = [served.client.invoke_detailed("ctl", ["love it"]).status for _ in range(10)]
    assert answers == [200] * 10


def test_openapi_describes_the_control_plane(served: Served) -> None:
    spec = httpx.get(f"{served.url}/_admin/openapi.json").json()
    paths = spec["paths"]
    assert {"/_admin/endpoints", "/_admin/endpoints/{name}", "/endpoints/{name}/rewards"} <= set(
        paths
    )
    assert "/endpoints/{name}/invocations" not in paths  # the fast path is not FastAPI's
    assert set(paths["/_admin/endpoints/{name}"]) == {"put", "patch", "delete"}
    assert paths["/_admin/endpoints/{name}/faults"]["post"]["security"]


def test_schemathesis_finds_no_server_error(served: Served) -> None:
    """Fuzz every operation of the published OpenAPI: no answer may be a 5xx."""
    import schemathesis
    from hypothesis.errors import Unsatisfiable
    from schemathesis.generation import GenerationMode

    schema = schemathesis.openapi.from_url(
        f"{served.url}/_admin/openapi.json", headers=served.auth, timeout=10
    )
    failures: list[str] = []
    calls = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            label = f"{operation.label} ({mode.value})"
            # Unsatisfiable: no invalid request exists for an operation without parameters
            with contextlib.suppress(Unsatisfiable):
                calls += _fuzz(served, operation.as_strategy(generation_mode=mode), label, failures)
    assert not failures, "\n".join(failures)
    assert calls > 100
    assert served.client.status("ctl")["status"] in ("InService", "Updating")


def _fuzz(served: Served, strategy: Any, label: str, failures: list[str]) -> int:
    """Send up to 20 generated requests; collect the 5xx; return how many were sent."""
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error

    sent = 0

    @settings(
        max_examples=20,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def fuzz(case: Any) -> None:
        nonlocal sent
        if _starts_workers(case):
            return  # a valid multi-model config starts real workers: not a fuzz target
        sent += 1
        response = case.call(base_url=served.url, headers=served.auth, timeout=30)
        try:
            case.validate_response(response, checks=[not_a_server_error])
        except Exception as exc:  # noqa: BLE001 - collect every operation's failures
            failures.append(f"{label}: {exc}"[:500])

    fuzz()
    return sent


def _starts_workers(case: object) -> bool:
    method = getattr(case, "method", "").upper()
    body = getattr(case, "body", None)
    return method in ("POST", "PUT") and "multi_model" in json.dumps(body, default=str)
