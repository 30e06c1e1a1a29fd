"""The control plane of ``sagebox serve``: a FastAPI app with pydantic models and OpenAPI.

Everything but the invocation fast path (``POST /endpoints/{name}/invocations``,
``POST /invocations``) and ``GET /ping`` is answered here; the gateway calls this ASGI app
in-process (:func:`call_asgi`) for those paths, on the same event loop, without a second
server. Routes:

- open (read-only and bandit feedback, as the data plane): ``GET /endpoints``,
  ``GET /endpoints/{name}``, ``GET /endpoints/{name}/metrics``, ``GET /metrics``,
  ``POST /endpoints/{name}/rewards``;
- admin, behind ``Authorization: Bearer <token>`` (see :mod:`sagebox.serving._http.auth`):
  ``POST /_admin/endpoints``, ``PUT|PATCH|DELETE /_admin/endpoints/{name}`` and
  ``POST /_admin/endpoints/{name}/faults`` (refused with 403 unless the server was started
  for testing);
- ``GET /_admin/openapi.json``: the OpenAPI description of all of the above.

Every error, a malformed request included, is a 4xx (5xx only for a server fault) with the
one-line JSON body ``{"error", "hint"}`` of the data plane.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import unquote

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from sagebox.errors import AuthenticationError, PermissionDeniedError, SageboxError
from sagebox.serving._control.metrics import prometheus_text
from sagebox.serving._http.errors import error_status
from sagebox.serving.config import DeploymentConfig, EndpointConfig

if TYPE_CHECKING:
    from sagebox.serving._control.supervisor import Supervisor
    from sagebox.serving._http.server import Request as LeanRequest
    from sagebox.serving._http.server import Response

__all__ = ["MAX_JSON_DEPTH", "call_asgi", "create_control_app", "json_depth"]

MAX_JSON_DEPTH = 32
"""Deeper request bodies are refused before parsing (no endpoint config nests that deep)."""

_PROMETHEUS = "text/plain; version=0.0.4"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateEndpoint(_Body):
    """``POST /_admin/endpoints``: a new endpoint."""

    # Checked by the supervisor against sagebox.names' rule, so the error names the rule.
    name: str = Field(description="the endpoint name: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
    config: EndpointConfig


class UpdateEndpoint(_Body):
    """``PUT /_admin/endpoints/{name}``: a blue/green update to a new config."""

    config: EndpointConfig
    deployment: DeploymentConfig = DeploymentConfig()


Weight = Annotated[float, Field(ge=0, allow_inf_nan=False)]
InstanceCount = Annotated[int, Field(ge=1, le=64)]


class PatchEndpoint(_Body):
    """``PATCH /_admin/endpoints/{name}``: weights and/or instance counts, in place."""

    weights: dict[str, Weight] = {}
    instances: dict[str, InstanceCount] = {}


class Fault(_Body):
    """``POST /_admin/endpoints/{name}/faults``: make one fleet's variant fail for a while.

    ``fleet`` picks the production (blue), green (the new fleet of an update in progress) or
    shadow variant called ``variant``; it is required when that name is in two fleets, as
    during a blue/green update that keeps the variant name.
    """

    variant: str = Field(min_length=1, max_length=63)
    fleet: Literal["production", "green", "shadow"] | None = None
    error_rate: float = Field(default=1.0, ge=0, le=1)
    seconds: float = Field(default=10.0, ge=0, le=3600)


class Reward(_Body):
    """``POST /endpoints/{name}/rewards``: a bandit reward for one answered inference."""

    inference_id: str = Field(min_length=1, max_length=200)
    reward: float = Field(ge=0, le=1)


class EndpointState(BaseModel):
    """The live state of one endpoint (variants, instances, metrics, deployment, events)."""

    model_config = ConfigDict(extra="allow")

    name: str
    status: str
    failure_reason: str | None = None


class EndpointList(BaseModel):
    """Every endpoint this server serves."""

    endpoints: list[EndpointState]


class Deleted(BaseModel):
    """The endpoint that was deleted."""

    deleted: str


class FaultInjected(BaseModel):
    """Where the fault went: one fleet's variant and how many workers."""

    variant: str
    fleet: str
    instances: int


class RewardCredited(BaseModel):
    """The variant credited and the bandit's state after the reward."""

    variant: str
    bandit: dict[str, Any]


class ErrorBody(BaseModel):
    """Every error answer."""

    error: str
    hint: str | None = None


_BEARER = HTTPBearer(
    auto_error=False, description="the admin token in $SAGEBOX_HOME/serving/admin-token"
)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)]

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (400, 404, 409, 413, 503)
}
_ADMIN_ERRORS: dict[int | str, dict[str, Any]] = {**_ERRORS, 401: {"model": ErrorBody}}


def create_control_app(
    supervisor: Supervisor, token: str, fault_injection: bool = False
) -> FastAPI:
    """The control-plane app of ``supervisor``; admin routes require ``token``.

    Example:
        >>> app = create_control_app(supervisor, admin_token(home))
        >>> status, headers, body = await call_asgi(app, request)
    """
    app = FastAPI(
        title="sagebox serve control plane",
        version="1",
        openapi_url="/_admin/openapi.json",
        docs_url=None,
        redoc_url=None,
    )

    async def authorized(credentials: Credentials) -> None:
        if credentials is None:
            raise AuthenticationError(
                "the admin API needs a token",
                hint="send Authorization: Bearer <the token in $SAGEBOX_HOME/serving/admin-token>",
            )
        if not secrets.compare_digest(credentials.credentials.encode(), token.encode()):
            raise AuthenticationError(
                "the admin token is wrong",
                hint="use the token in $SAGEBOX_HOME/serving/admin-token of the server's home",
            )

    admin = [Depends(authorized)]

    @app.exception_handler(SageboxError)
    async def _sagebox_error(request: Request, exc: SageboxError) -> JSONResponse:
        return _error(error_status(exc), exc.message, exc.hint)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(400, _validation_message(exc), "see GET /_admin/openapi.json")

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
        hint = "see GET /_admin/openapi.json" if exc.status_code in (404, 405) else None
        message = str(exc.detail) if exc.status_code != 404 else f"no route {request.url.path}"
        return _error(exc.status_code, message, hint)

    # Every handler is a coroutine: FastAPI runs plain functions in a thread pool, where they
    # would read (and, for rewards, change) the supervisor's state while the event loop changes
    # it. On the loop they see each change whole.

    # open: read-only views and bandit feedback
    @app.get("/endpoints", response_model=EndpointList, tags=["endpoints"])
    async def list_endpoints() -> dict[str, Any]:
        """Every endpoint served here, with its live state."""
        return {"endpoints": [r.describe() for r in supervisor.endpoints.values()]}

    @app.get(
        "/endpoints/{name}", response_model=EndpointState, responses=_ERRORS, tags=["endpoints"]
    )
    async def describe_endpoint(name: str) -> dict[str, Any]:
        """One endpoint's live state."""
        return supervisor.runtime(name).describe()

    @app.get("/endpoints/{name}/metrics", responses=_ERRORS, tags=["endpoints"])
    async def endpoint_metrics(
        name: str, format: Literal["json", "prometheus"] = Query("json")
    ) -> Any:
        """Per-variant invocations, errors and latency percentiles (JSON or Prometheus text)."""
        info = supervisor.runtime(name).describe()
        if format == "prometheus":
            return PlainTextResponse(prometheus_text({name: info}), media_type=_PROMETHEUS)
        return metrics_view(info)

    @app.get("/metrics", response_class=PlainTextResponse, tags=["endpoints"])
    async def metrics() -> PlainTextResponse:
        """Every endpoint's metrics in Prometheus text format."""
        text = prometheus_text({n: r.describe() for n, r in supervisor.endpoints.items()})
        return PlainTextResponse(text, media_type=_PROMETHEUS)

    @app.post(
        "/endpoints/{name}/rewards",
        response_model=RewardCredited,
        responses=_ERRORS,
        tags=["endpoints"],
    )
    async def reward(name: str, body: Reward) -> dict[str, Any]:
        """Credit a bandit reward in [0, 1] to the variant that answered ``inference_id``."""
        return supervisor.reward(name, body.inference_id, body.reward)

    # admin
    @app.post(
        "/_admin/endpoints",
        response_model=EndpointState,
        responses=_ADMIN_ERRORS,
        dependencies=admin,
        tags=["admin"],
    )
    async def create_endpoint(body: CreateEndpoint) -> dict[str, Any]:
        """Start an endpoint; answers at once with status Creating."""
        return await supervisor.create(body.name, body.config)

    @app.put(
        "/_admin/endpoints/{name}",
        response_model=EndpointState,
        responses=_ADMIN_ERRORS,
        dependencies=admin,
        tags=["admin"],
    )
    async def update_endpoint(name: str, body: UpdateEndpoint) -> dict[str, Any]:
        """Start a blue/green update to a new config; answers at once with status Updating."""
        return await supervisor.update(name, body.config, body.deployment)

    @app.patch(
        "/_admin/endpoints/{name}",
        response_model=EndpointState,
        responses=_ADMIN_ERRORS,
        dependencies=admin,
        tags=["admin"],
    )
    async def patch_endpoint(name: str, body: PatchEndpoint) -> dict[str, Any]:
        """Change production weights and/or instance counts in place."""
        return await supervisor.patch(name, body.weights, body.instances)

    @app.delete(
        "/_admin/endpoints/{name}",
        response_model=Deleted,
        responses=_ADMIN_ERRORS,
        dependencies=admin,
        tags=["admin"],
    )
    async def delete_endpoint(name: str) -> dict[str, Any]:
        """Stop the endpoint's workers and delete its record."""
        await supervisor.delete(name)
        return {"deleted": name}

    @app.post(
        "/_admin/endpoints/{name}/faults",
        response_model=FaultInjected,
        responses={**_ADMIN_ERRORS, 403: {"model": ErrorBody}},
        dependencies=admin,
        tags=["admin"],
    )
    async def inject_fault(name: str, body: Fault) -> dict[str, Any]:
        """Make one fleet's variant answer 500 to a share of requests (servers for testing)."""
        if not fault_injection:
            raise PermissionDeniedError(
                "fault injection is off on this server",
                hint="it is for tests and drills: start one with `sagebox serve "
                "--enable-fault-injection` (or SAGEBOX_ENABLE_FAULT_INJECTION=1)",
            )
        return await supervisor.inject_fault(
            name, body.variant, body.fleet, body.error_rate, body.seconds
        )

    return app


def metrics_view(info: dict[str, Any]) -> dict[str, Any]:
    """The JSON of ``GET /endpoints/{name}/metrics``: one entry per variant and fleet.

    A green variant that has the name of a production one (a blue/green update that keeps
    the name) is listed as ``NAME@green`` so that neither hides the other.
    """
    groups = ("variants", "green_variants", "shadow_variants")
    out: dict[str, Any] = {"endpoint": info["name"], "status": info["status"]}
    variants: dict[str, Any] = {}
    for group in groups:
        for name, v in info.get(group, {}).items():
            entry = {
                "role": v["role"],
                "traffic_share": v["traffic_share"],
                "instances": v["instance_count"],
                **v["metrics"],
            }
            for extra in ("agreement", "batching"):
                if extra in v:
                    entry[extra] = v[extra]
            variants[name if name not in variants else f"{name}@{v['role']}"] = entry
    if variants:
        out["variants"] = variants
    return out


def json_depth(body: bytes) -> int:
    """How deeply arrays and objects nest in a JSON text (strings skipped)."""
    if body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH:
        return 0  # cannot be deeper than that: skip the scan
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


async def call_asgi(app: Any, request: LeanRequest) -> Response:
    """Answer a request of the lean server with an ASGI app, in-process; the whole answer."""
    if json_depth(request.body) > MAX_JSON_DEPTH:
        return _lean_error(
            400,
            f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels",
            "send a flat JSON object as documented in GET /_admin/openapi.json",
        )
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": "http",
        "path": unquote(request.path),
        "raw_path": request.path.encode("utf-8", "replace"),
        "query_string": request.query.encode("utf-8", "replace"),
        "root_path": "",
        "headers": list(request.headers.items()),
        "client": None,
        "server": None,
    }
    answered = asyncio.Event()
    received = False
    status = 500
    headers: list[tuple[bytes, bytes]] = []
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal received
        if not received:
            received = True
            return {"type": "http.request", "body": request.body, "more_body": False}
        await answered.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status = int(message["status"])
            headers = [
                (bytes(k), bytes(v))
                for k, v in message.get("headers", [])
                if bytes(k).lower() != b"content-length"
            ]
        elif message["type"] == "http.response.body":
            chunks.append(bytes(message.get("body", b"")))
            if not message.get("more_body", False):
                answered.set()

    try:
        await app(scope, receive, send)
    finally:
        answered.set()
    return status, headers, b"".join(chunks)


def _validation_message(exc: RequestValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return "invalid request"
    err = errors[0]
    where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "(body)"
    message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return " ".join(f"invalid request at {where}: {message}{more}".split())


def _error(status: int, message: str, hint: str | None) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"error": message, "hint": hint}, status_code=status, headers=headers)


def _lean_error(status: int, message: str, hint: str) -> Response:
    import json

    body = json.dumps({"error": message, "hint": hint}).encode()
    return status, [(b"content-type", b"application/json")], body
