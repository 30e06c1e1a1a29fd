"""Local real-time endpoints: one server process per endpoint, recorded in the metadata store."""

from __future__ import annotations

import errno
import shutil
import socket
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sagebox.backends.compute.base import TaskSpec, TaskState
from sagebox.backends.metadata.base import EndpointRecord
from sagebox.errors import AlreadyExistsError, JobError, NotFoundError, PortInUseError
from sagebox.models.package import unpack_model
from sagebox.session import Session

__all__ = ["EndpointClient"]

_STARTUP_TIMEOUT_SECONDS = 120.0


class EndpointClient:
    """Create, invoke and delete local endpoints.

    Example:
        >>> endpoints = EndpointClient(Session())
        >>> endpoints.create("reviews", model_name="reviews-model", port=8085)
        >>> endpoints.invoke("reviews", ["Love this dress!"])["predictions"][0]["label"]
        1
        >>> endpoints.delete("reviews")
    """

    def __init__(self, session: Session | None = None) -> None:
        self.session = session or Session()

    def create(
        self, name: str, model_name: str, port: int = 8080, host: str = "127.0.0.1"
    ) -> EndpointRecord:
        """Start serving ``model_name`` on ``host:port`` and wait until it answers /ping.

        Raises:
            AlreadyExistsError: if an endpoint with this name is running.
            PortInUseError: if the port is taken.
            NotFoundError: if the model is not registered.
            JobError: if the server does not come up (its log tail is in the message).
        """
        metadata = self.session.metadata
        try:
            existing = metadata.get_endpoint(name)
        except NotFoundError:
            existing = None
        if existing is not None and self._alive(existing):
            raise AlreadyExistsError(
                f"endpoint {name} already exists at {existing.url}",
                hint=f"delete it first: sagebox endpoints delete {name}",
            )
        model = metadata.get_model(model_name)
        ensure_port_free(host, port)
        workdir = self.session.settings.home / "endpoints" / name
        shutil.rmtree(workdir, ignore_errors=True)
        archive = self.session.storage.download(
            self.session.key_for(model.artifact_uri), workdir / "model.tar.gz"
        )
        model_dir = unpack_model(archive, workdir / "model")
        log_path = workdir / "server.log"
        handle = self.session.compute.submit(
            TaskSpec(
                argv=[
                    sys.executable,
                    "-m",
                    "sagebox.serving.server",
                    "--model-dir",
                    str(model_dir),
                    "--port",
                    str(port),
                    "--host",
                    host,
                    "--name",
                    name,
                ],
                log_path=log_path,
            )
        )
        url = f"http://{host}:{port}"
        record = EndpointRecord(
            name=name,
            model_name=model_name,
            status="Creating",
            url=url,
            handle=handle,
            config={"port": port, "host": host},
            created_at=datetime.now(UTC),
        )
        metadata.put_endpoint(record)
        try:
            self._wait_until_healthy(url, handle, log_path)
        except BaseException:
            self.session.compute.stop(handle, grace_seconds=5)
            metadata.put_endpoint(_with(record, status="Failed"))
            raise
        return metadata.put_endpoint(_with(record, status="InService"))

    def invoke(
        self,
        name: str,
        body: Any,
        content_type: str = "application/json",
        accept: str = "application/json",
    ) -> Any:
        """Send one request; return the decoded JSON (or text for JSON lines)."""
        import json

        import httpx

        endpoint = self.describe(name)
        if endpoint.status != "InService":
            raise NotFoundError(
                f"endpoint {name} is {endpoint.status}",
                hint=f"recreate it: sagebox endpoints create {name} ...",
            )
        data = body if isinstance(body, bytes | str) else json.dumps(body)
        response = httpx.post(
            f"{endpoint.url}/invocations",
            content=data,
            timeout=60,
            headers={"Content-Type": content_type, "Accept": accept},
        )
        if response.status_code == 400:
            from sagebox.errors import InputDataError

            err = response.json()
            raise InputDataError(err["error"], hint=err.get("hint"))
        response.raise_for_status()
        if response.headers.get("content-type", "").split(";")[0] == "application/json":
            return response.json()
        return response.text

    def describe(self, name: str) -> EndpointRecord:
        """The endpoint's record, marking it Failed if its process has died."""
        endpoint = self.session.metadata.get_endpoint(name)
        if endpoint.status == "InService" and not self._alive(endpoint):
            endpoint = self.session.metadata.put_endpoint(_with(endpoint, status="Failed"))
        return endpoint

    def list(self) -> list[EndpointRecord]:
        """All endpoints."""
        return [self.describe(e.name) for e in self.session.metadata.list_endpoints()]

    def delete(self, name: str) -> None:
        """Stop the endpoint's server and delete its record."""
        endpoint = self.session.metadata.get_endpoint(name)
        if endpoint.handle:
            self.session.compute.stop(endpoint.handle, grace_seconds=10)
        self.session.metadata.delete_endpoint(name)

    def _alive(self, endpoint: EndpointRecord) -> bool:
        return bool(endpoint.handle) and (
            self.session.compute.state(str(endpoint.handle)) is TaskState.RUNNING
        )

    def _wait_until_healthy(self, url: str, handle: str, log_path: Path) -> None:
        import httpx

        deadline = time.monotonic() + _STARTUP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.session.compute.state(handle) is TaskState.EXITED:
                tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
                raise JobError(
                    f"the endpoint server exited during start-up: {' | '.join(tail)}",
                    hint=f"see {log_path}",
                )
            try:
                if httpx.get(f"{url}/ping", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise JobError(
            f"the endpoint at {url} did not answer within {_STARTUP_TIMEOUT_SECONDS:.0f} s",
            hint=f"see {log_path}",
        )


def ensure_port_free(host: str, port: int) -> None:
    """Raise PortInUseError naming the port unless ``host:port`` can be bound now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                raise PortInUseError(
                    f"port {port} on {host} is already in use",
                    hint="choose another with --port or stop what listens there",
                ) from exc
            raise


def _with(record: EndpointRecord, **changes: Any) -> EndpointRecord:
    from dataclasses import replace

    return replace(record, **changes)
