"""Crafted endpoint and model names over HTTP, against a real ``sagebox serve`` (issue 15,
defect 3): the admin API refuses them with a 400 naming the name and the rule, writes nothing
outside SAGEBOX_HOME, and ``delete`` never says "deleted" of an endpoint it did not delete."""

from __future__ import annotations

import http.client
import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sagebox.errors import InputDataError
from sagebox.serving import EndpointClient
from sagebox.serving._http.auth import read_admin_token
from sagebox.session import Session
from tests.conftest import free_port

BAD_NAMES = ["../../x", "..", "a/b", "", "a" * 64, "é", "a.b", "a\x00b"]
CONFIG = {"variants": [{"model": "tiny-v1"}]}


@pytest.fixture(scope="module")
def served(serving_session: Session) -> Iterator[tuple[EndpointClient, int]]:
    client = EndpointClient(serving_session)
    port = free_port()
    client.create("names-ok", model_name="tiny-v1", port=port)
    yield client, port


def _files(root: Path) -> set[str]:
    return {
        str(Path(d, n).relative_to(root)) for d, dirs, files in os.walk(root) for n in dirs + files
    }


def _outside_home(session: Session) -> set[str]:
    home = session.settings.home
    return {p for p in _files(home.parent) if not p.startswith(home.name)}


def _raw(
    client: EndpointClient,
    port: int,
    method: str,
    path: str,
    body: dict[str, object] | None = None,
) -> tuple[int, dict]:
    # http.client sends the path as given: httpx would resolve "../" before sending. The admin
    # token is sent, so what is checked is the name rule, not the authentication.
    token = read_admin_token(client.session.settings.home)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        conn.close()


def _still_served(port: int) -> bool:
    answer = httpx.get(f"http://127.0.0.1:{port}/endpoints/names-ok", timeout=30)
    return answer.status_code == 200 and answer.json()["status"] == "InService"


@pytest.mark.parametrize("name", BAD_NAMES)
def test_admin_api_refuses_crafted_endpoint_names(
    served: tuple[EndpointClient, int], name: str
) -> None:
    client, port = served
    before = _outside_home(client.session)
    status, body = _raw(client, port, "POST", "/_admin/endpoints", {"name": name, "config": CONFIG})
    assert status == 400, body
    assert body["error"] == f"invalid endpoint name {name!r}"
    assert "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$" in body["hint"]
    config = {"variants": [{"model": name}]}
    status, body = _raw(
        client, port, "POST", "/_admin/endpoints", {"name": "fine", "config": config}
    )
    assert status == 400 and "variants.0.model" in body["error"], body
    assert _outside_home(client.session) == before
    assert _still_served(port)


@pytest.mark.parametrize(
    "path",
    [
        "/_admin/endpoints/../../x",
        "/_admin/endpoints/..",
        "/_admin/endpoints/a.b",
        "/_admin/endpoints/%2e%2e",
        "/_admin/endpoints/../names-ok",
    ],
)
@pytest.mark.parametrize("method", ["DELETE", "PUT", "PATCH"])
def test_admin_paths_with_crafted_names_change_nothing(
    served: tuple[EndpointClient, int], method: str, path: str
) -> None:
    client, port = served
    before = _outside_home(client.session)
    status, body = _raw(client, port, method, path, {"config": CONFIG} if method == "PUT" else {})
    assert status in (400, 404), (status, body)
    assert _still_served(port)
    assert _outside_home(client.session) == before


def test_delete_of_a_crafted_record_never_reports_deleted(
    served: tuple[EndpointClient, int],
) -> None:
    """Records named before names were checked: ``delete`` refuses, deleting nothing.

    Before the fix, ``delete("x/../names-ok")`` sent DELETE /_admin/endpoints/x/../names-ok,
    which httpx resolves to .../names-ok: it deleted another endpoint and said it deleted this
    one; ``delete("../x")`` got a 404 it took for "already gone" and dropped the record.
    """
    client, port = served
    database = client.session.settings.home / "sagebox.db"
    with sqlite3.connect(database) as conn:
        for legacy in ("x/../names-ok", "../x"):
            conn.execute(
                "INSERT INTO endpoints (name, model_name, status, url, handle, config, created_at,"
                " updated_at) SELECT ?, model_name, status, url, handle, config, created_at,"
                " updated_at FROM endpoints WHERE name = 'names-ok'",
                (legacy,),
            )
    for legacy in ("x/../names-ok", "../x"):
        with pytest.raises(InputDataError, match="invalid endpoint name"):
            client.delete(legacy)
        assert _still_served(port)
        assert any(e.name == legacy for e in client.session.metadata.list_endpoints())
    assert "names-ok" in [e.name for e in client.list()]  # listing copes with old records
    with sqlite3.connect(database) as conn:
        conn.execute("DELETE FROM endpoints WHERE name IN ('x/../names-ok', '../x')")


def test_delete_of_a_served_endpoint_deletes_it(served: tuple[EndpointClient, int]) -> None:
    client, port = served
    client.create("names-gone", model_name="tiny-v1", port=port)
    client.delete("names-gone")
    answer = httpx.get(f"http://127.0.0.1:{port}/ping", timeout=30).json()
    assert "names-gone" not in answer["endpoints"]
    assert _still_served(port)
