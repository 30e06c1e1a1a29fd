"""Local real-time endpoints: the client side of ``sagebox serve``.

:class:`EndpointClient` talks to the supervisor serving a host and port (starting one in the
background through the compute backend when none runs there), and reads endpoint records from
the metadata store. An auto-started supervisor exits when its last endpoint is deleted.

The supervisor is the endpoint's front door at a stable address, and it keeps its admin token
under the client's ``SAGEBOX_HOME``: it always runs on the machine of the client that starts it,
also when jobs run on a cluster (a compute backend that does not share the file system); its
models come from the lake (S3 on a cluster) like every other artifact. On a cluster the
endpoint's workers run on the cluster's nodes as tasks bound to the supervisor (see
:mod:`sagebox.serving._control.launcher`), so the profile must be one the nodes share (an S3
lake and a PostgreSQL store): a local lake is refused when the endpoint is created.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from dataclasses import dataclass, replace
from typing import Any

from sagebox.backends.compute import ComputeBackend, open_compute
from sagebox.backends.compute.base import TaskSpec, TaskState
from sagebox.backends.metadata.base import EndpointRecord
from sagebox.errors import AlreadyExistsError, JobError, NotFoundError, ServiceUnavailableError
from sagebox.names import check_resource_name
from sagebox.serving._client.admin import ServerConnection, ensure_port_free
from sagebox.serving._http.auth import FAULT_INJECTION_ENV
from sagebox.serving.config import (
    DeploymentConfig,
    EndpointConfig,
    ProductionVariant,
    parse_config,
)
from sagebox.session import Session

__all__ = ["EndpointClient", "Invocation"]

_STARTUP_TIMEOUT_S = 180.0
_LIVE = ("Creating", "InService", "Updating")


@dataclass
class Invocation:
    """One answered request with the gateway's headers."""

    status: int
    body: Any
    variant: str
    inference_id: str
    model_latency_ms: float


class EndpointClient:
    """Create, update, invoke, observe and delete local endpoints.

    Example:
        >>> endpoints = EndpointClient(Session())
        >>> endpoints.create("reviews", model_name="reviews-model", port=8085)
        >>> endpoints.invoke("reviews", ["Love this dress!"])["predictions"][0]["label"]
        1
        >>> endpoints.update("reviews", model_name="reviews-model-v2",
        ...                  deployment={"traffic_routing": {"type": "CANARY"}})
        >>> endpoints.delete("reviews")
    """

    def __init__(self, session: Session | None = None) -> None:
        self.session = session or Session()
        self._servers: dict[tuple[str, int], ServerConnection] = {}

    # lifecycle
    def create(
        self,
        name: str,
        model_name: str | None = None,
        port: int = 8080,
        host: str = "127.0.0.1",
        config: EndpointConfig | dict[str, Any] | None = None,
        instance_count: int = 1,
        wait: bool = True,
        fault_injection: bool = False,
    ) -> EndpointRecord:
        """Serve ``model_name`` (or a full ``config``) as endpoint ``name`` on ``host:port``.

        With ``fault_injection`` a server started here allows :meth:`inject_fault` (drills
        and tests); a server already running keeps the setting it was started with.

        Raises:
            AlreadyExistsError: if an endpoint with this name is live.
            PortInUseError: if the port is taken by something other than sagebox.
            NotFoundError: if a model is not registered.
            InputDataError: if the config is invalid.
            JobError: if the workers do not come up (the reason names the log).
        """
        check_resource_name("endpoint", name)
        if model_name is not None:
            check_resource_name("model", model_name)
        spec = self._config(config, model_name, instance_count)
        if not self.session.compute.shares_filesystem:
            # the workers run on the cluster's nodes and fetch their models from the lake
            from sagebox.jobs.cluster import check_cluster_settings

            check_cluster_settings(self.session.settings)
        for model in spec.model_names():
            self.session.metadata.get_model(model)
        try:
            existing = self.session.metadata.get_endpoint(name)
        except NotFoundError:
            existing = None
        if existing is not None and existing.status in _LIVE and self._alive(existing):
            raise AlreadyExistsError(
                f"endpoint {name} already exists at {existing.url}",
                hint=f"delete it first: sagebox endpoints delete {name}",
            )
        server = self._server(host, port, start=True, fault_injection=fault_injection)
        server.call("POST", "/_admin/endpoints", {"name": name, "config": spec.to_json()})
        if not wait:
            return self.describe(name)
        self.wait(name, server=server)
        deadline = time.monotonic() + 30  # the supervisor writes the record just after
        while True:
            record = self.describe(name)
            if record.status == "InService" or time.monotonic() > deadline:
                return record
            time.sleep(0.05)

    def update(
        self,
        name: str,
        config: EndpointConfig | dict[str, Any] | None = None,
        model_name: str | None = None,
        deployment: DeploymentConfig | dict[str, Any] | None = None,
        wait: bool = True,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Blue/green update to a new config (or a new model for a one-variant endpoint).

        Returns:
            The deployment record (``status`` Succeeded, RolledBack or Failed when waited).
        """
        record = self.describe(name)
        if model_name is not None:
            check_resource_name("model", model_name)
        if config is None and model_name is not None:
            current = parse_config(EndpointConfig, record.config.get("spec", {}))
            first = current.variants[0]
            config = current.model_copy(
                update={
                    "variants": [
                        ProductionVariant(
                            name=first.name, model=model_name, instance_count=first.instance_count
                        )
                    ]
                }
            )
        spec = self._config(config, None, 1)
        policy = (
            deployment
            if isinstance(deployment, DeploymentConfig)
            else parse_config(DeploymentConfig, deployment or {}, "deployment config")
        )
        server = self._connect(record)
        server.call(
            "PUT",
            f"/_admin/endpoints/{name}",
            {"config": spec.to_json(), "deployment": policy.model_dump(mode="json")},
        )
        if not wait:
            return dict(server.call("GET", f"/endpoints/{name}").get("deployment") or {})
        info = self.wait(name, server=server, timeout=timeout)
        return dict(info.get("deployment") or {})

    def update_weights(
        self,
        name: str,
        weights: dict[str, float] | None = None,
        instances: dict[str, int] | None = None,
    ) -> dict[str, Any]:
        """Change variant weights and/or instance counts in place."""
        server = self._connect(self.describe(name))
        return dict(
            server.call(
                "PATCH",
                f"/_admin/endpoints/{name}",
                {"weights": weights or {}, "instances": instances or {}},
            )
        )

    def wait(
        self, name: str, server: ServerConnection | None = None, timeout: float | None = None
    ) -> dict[str, Any]:
        """Block until the endpoint is InService (created or done updating); return its state.

        Raises:
            JobError: if it fails, or is not ready within ``timeout`` seconds.
        """
        server = server or self._connect(self.describe(name))
        deadline = time.monotonic() + (timeout or _STARTUP_TIMEOUT_S)
        while True:
            try:
                info = server.call("GET", f"/endpoints/{name}")
            except NotFoundError:
                record = self.session.metadata.get_endpoint(name)
                raise JobError(
                    f"endpoint {name} failed: {record.config.get('failure_reason')}",
                    hint=f"see the worker logs under {self._workdir(name) / 'logs'}",
                ) from None
            if info["status"] == "InService":
                return dict(info)
            if time.monotonic() > deadline:
                raise JobError(
                    f"endpoint {name} is still {info['status']}",
                    hint="wait longer or describe it for events",
                )
            time.sleep(0.1)

    def delete(self, name: str) -> None:
        """Stop the endpoint's workers and delete its record.

        Raises:
            InputDataError: if ``name`` breaks the resource-name rule.
            NotFoundError: if there is no such endpoint.
            ServiceUnavailableError: if its server still serves it after the call (the record
                is kept, so ``delete`` can be tried again).
        """
        check_resource_name("endpoint", name)
        record = self.session.metadata.get_endpoint(name)
        if self._alive(record):
            server = self._connect(record)
            try:
                server.call("DELETE", f"/_admin/endpoints/{name}")
            except NotFoundError:
                # Deleted already, or the answer came from elsewhere: only the check below
                # tells which, so "deleted" is never said of an endpoint still served.
                pass
            except ServiceUnavailableError:
                # A server that exits once idle may close before answering; only a live one
                # that does not answer is an error.
                deadline = time.monotonic() + 10
                while self._alive(record) and time.monotonic() < deadline:
                    time.sleep(0.05)
                if self._alive(record):
                    raise
            info = server.ping() if self._alive(record) else None
            if info is not None and name in info.get("endpoints", []):
                raise ServiceUnavailableError(
                    f"the server at {server.url} did not delete endpoint {name}"
                    " (it still serves it)",
                    hint=f"try again: sagebox endpoints delete {name}; its log is under "
                    f"{self.session.settings.home / 'serving'}",
                )
            self._wait_idle_exit(server, record)
        with contextlib.suppress(NotFoundError):
            self.session.metadata.delete_endpoint(name)

    # data plane
    def invoke(
        self,
        name: str,
        body: Any,
        content_type: str = "application/json",
        accept: str = "application/json",
        target_variant: str | None = None,
        target_model: str | None = None,
    ) -> Any:
        """Send one request; return the decoded JSON (or text for other answers)."""
        return self.invoke_detailed(
            name, body, content_type, accept, target_variant, target_model
        ).body

    def invoke_detailed(
        self,
        name: str,
        body: Any,
        content_type: str = "application/json",
        accept: str = "application/json",
        target_variant: str | None = None,
        target_model: str | None = None,
        inference_id: str | None = None,
    ) -> Invocation:
        """Like :meth:`invoke`, also returning which variant answered and the inference id."""
        endpoint = self.describe(name)
        if endpoint.status not in ("InService", "Updating"):
            raise NotFoundError(
                f"endpoint {name} is {endpoint.status}",
                hint=f"recreate it: sagebox endpoints create {name} ...",
            )
        headers = {"Content-Type": content_type, "Accept": accept}
        for header, value in (
            ("X-Sagebox-Target-Variant", target_variant),
            ("X-Sagebox-Target-Model", target_model),
            ("X-Sagebox-Inference-Id", inference_id),
        ):
            if value:
                headers[header] = value
        response = self._connect(endpoint).post(f"/endpoints/{name}/invocations", body, headers)
        kind = response.headers.get("content-type", "").split(";")[0]
        return Invocation(
            status=response.status_code,
            body=response.json() if kind == "application/json" else response.text,
            variant=response.headers.get("x-sagebox-variant", ""),
            inference_id=response.headers.get("x-sagebox-inference-id", ""),
            model_latency_ms=float(response.headers.get("x-sagebox-model-latency-ms", 0) or 0),
        )

    def reward(self, name: str, inference_id: str, reward: float) -> dict[str, Any]:
        """Feed a bandit reward in [0, 1] back for one answered inference."""
        server = self._connect(self.describe(name))
        return dict(
            server.call(
                "POST",
                f"/endpoints/{name}/rewards",
                {"inference_id": inference_id, "reward": reward},
            )
        )

    def inject_fault(
        self,
        name: str,
        variant: str,
        error_rate: float = 1.0,
        seconds: float = 10.0,
        fleet: str | None = None,
    ) -> dict[str, Any]:
        """Make one fleet's variant answer 500 to ``error_rate`` of requests for ``seconds``.

        ``fleet`` is ``production`` (or ``blue``), ``green`` (the new fleet of an update) or
        ``shadow``; it is needed when the variant name is in two fleets. Only a server started
        for testing (``sagebox serve --enable-fault-injection``) accepts faults.

        Raises:
            PermissionDeniedError: if the server does not allow fault injection.
            InputDataError: if the variant (in that fleet) does not exist or is ambiguous.
        """
        server = self._connect(self.describe(name))
        payload: dict[str, Any] = {"variant": variant, "error_rate": error_rate}
        payload["seconds"] = seconds
        if fleet is not None:
            payload["fleet"] = {"blue": "production"}.get(fleet, fleet)
        return dict(server.call("POST", f"/_admin/endpoints/{name}/faults", payload))

    # observation
    def describe(self, name: str) -> EndpointRecord:
        """The endpoint's record, marking it Failed if its server has died."""
        endpoint = self.session.metadata.get_endpoint(name)
        if endpoint.status in _LIVE and not self._alive(endpoint):
            endpoint = self.session.metadata.put_endpoint(replace(endpoint, status="Failed"))
        return endpoint

    def status(self, name: str) -> dict[str, Any]:
        """Live state from the server: variants, instances, metrics, deployment, events."""
        return dict(self._connect(self.describe(name)).call("GET", f"/endpoints/{name}"))

    def metrics(self, name: str, prometheus: bool = False) -> Any:
        """Per-variant metrics as a dict, or Prometheus text."""
        server = self._connect(self.describe(name))
        if prometheus:
            return server.get_text(f"/endpoints/{name}/metrics?format=prometheus")
        return server.call("GET", f"/endpoints/{name}/metrics")

    def list(self) -> list[EndpointRecord]:
        """All endpoints."""
        return [self.describe(e.name) for e in self.session.metadata.list_endpoints()]

    # helpers
    def _config(
        self, config: EndpointConfig | dict[str, Any] | None, model: str | None, count: int
    ) -> EndpointConfig:
        if isinstance(config, EndpointConfig):
            return config
        if config is not None:
            return parse_config(EndpointConfig, config)
        if model is None:
            from sagebox.errors import InputDataError

            raise InputDataError(
                "give a model or an endpoint config", hint="--model NAME or --config FILE.json"
            )
        return parse_config(
            EndpointConfig, {"variants": [{"model": model, "instance_count": count}]}
        )

    def _alive(self, endpoint: EndpointRecord) -> bool:
        return bool(endpoint.handle) and (
            self._server_compute.state(str(endpoint.handle)) is TaskState.RUNNING
        )

    @property
    def _server_compute(self) -> ComputeBackend:
        """Where supervisors run: this machine (the session's backend when it is local)."""
        compute = self.session.compute
        return compute if compute.shares_filesystem else open_compute("local")

    def _connect(self, endpoint: EndpointRecord) -> ServerConnection:
        cfg = endpoint.config or {}
        key = (str(cfg.get("host", "127.0.0.1")), int(cfg.get("port", 8080)))
        if key not in self._servers:
            self._servers[key] = ServerConnection(*key, home=self.session.settings.home)
        return self._servers[key]

    def _workdir(self, name: str) -> Any:
        return self.session.settings.home / "endpoints" / check_resource_name("endpoint", name)

    def _server(
        self, host: str, port: int, start: bool, fault_injection: bool = False
    ) -> ServerConnection:
        server = self._servers.setdefault(
            (host, port), ServerConnection(host, port, home=self.session.settings.home)
        )
        if server.is_sagebox():
            return server
        ensure_port_free(host, port)
        log_path = self.session.settings.home / "serving" / f"server-{port}.log"
        env = {
            f"SAGEBOX_{k.upper()}": str(v)
            for k, v in self.session.settings.model_dump().items()
            if v is not None
        }
        if os.environ.get(FAULT_INJECTION_ENV):
            env[FAULT_INJECTION_ENV] = os.environ[FAULT_INJECTION_ENV]
        compute = self._server_compute
        handle = compute.submit(
            TaskSpec(
                argv=[
                    sys.executable,
                    "-m",
                    "sagebox.serving._control.server",
                    "--host",
                    host,
                    "--port",
                    str(port),
                    "--exit-when-idle",
                    *(["--enable-fault-injection"] if fault_injection else []),
                ],
                log_path=log_path,
                env=env,
            )
        )
        deadline = time.monotonic() + _STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if server.is_sagebox():
                return server
            if compute.state(handle) is TaskState.EXITED:
                if server.is_sagebox():  # another client started one first
                    return server
                tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
                raise JobError(
                    f"the serving process exited during start-up: {' | '.join(tail)}",
                    hint=f"see {log_path}",
                )
            time.sleep(0.05)
        compute.stop(handle, grace_seconds=5)
        raise JobError(
            f"no server answered at {server.url} within {_STARTUP_TIMEOUT_S:.0f} s",
            hint=f"see {log_path}",
        )

    def _wait_idle_exit(self, server: ServerConnection, record: EndpointRecord) -> None:
        ping = server.ping()
        server.close()
        if ping is None or ping.get("endpoints") or not ping.get("exit_when_idle"):
            return
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self._alive(record):
            time.sleep(0.05)
