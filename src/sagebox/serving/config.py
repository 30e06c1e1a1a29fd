"""Endpoint configuration: production variants, shadows, routing, capture, scaling, deployment.

The names follow SageMaker's ``CreateEndpointConfig`` and ``UpdateEndpoint`` (production
variants with an instance count and an initial weight, shadow production variants, a data
capture config, blue/green deployment with CANARY / LINEAR / ALL_AT_ONCE traffic shifting and
automatic rollback on alarms) in snake_case. Every config round-trips through JSON, which is how
it is stored on the endpoint's record and sent to ``sagebox serve``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from sagebox.errors import InputDataError
from sagebox.names import RESOURCE

__all__ = [
    "Alarm",
    "AutoScalingPolicy",
    "BanditConfig",
    "BatchingConfig",
    "DataCaptureConfig",
    "DeploymentConfig",
    "EndpointConfig",
    "MultiModelConfig",
    "PipelineStep",
    "ProductionVariant",
    "ShadowVariant",
    "TrafficRouting",
    "TransformConfig",
    "parse_config",
]

BUILTIN_STEPS = ("normalize-text", "label-names")


def _resource_name(value: str) -> str:
    # Variant and model names become file names of specs, logs and unpacked models.
    if not RESOURCE.matches(value):
        raise ValueError(f"invalid name {value!r}: use {RESOURCE.text}")
    return value


#: a variant or model name (:data:`sagebox.names.RESOURCE`)
_Name = Annotated[str, AfterValidator(_resource_name)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PipelineStep(_Model):
    """One step of an inference pipeline: a registered model or a built-in step.

    Built-in steps: ``normalize-text`` (strip HTML, unescape entities, NFKC, collapse spaces)
    and ``label-names`` (the inverse label transform: labels to sentiment names).

    Example:
        >>> PipelineStep(builtin="normalize-text")
        PipelineStep(model=None, builtin='normalize-text')
    """

    model: _Name | None = None
    builtin: Literal["normalize-text", "label-names"] | None = None

    @model_validator(mode="after")
    def _one_source(self) -> PipelineStep:
        if (self.model is None) == (self.builtin is None):
            raise ValueError("a pipeline step names exactly one of model or builtin")
        return self


class MultiModelConfig(_Model):
    """Serve many models from one variant, loaded on first request from a lake prefix.

    The target model of a request (header ``X-Sagebox-Target-Model``) is a key relative to
    ``model_prefix`` (e.g. ``reviews-v2.tar.gz``) or the name of a registered model.

    Example:
        >>> MultiModelConfig(model_prefix="models/mme/", memory_budget_mb=256)
        MultiModelConfig(model_prefix='models/mme/', memory_budget_mb=256.0, max_models=None)
    """

    model_prefix: str
    memory_budget_mb: float = Field(default=512.0, gt=0)
    max_models: int | None = Field(default=None, ge=1)


class BatchingConfig(_Model):
    """Server-side dynamic batching in each worker (most useful for neural models).

    Requests are collected for up to ``max_delay_ms`` or ``max_batch_size`` records; with
    ``chunk_size`` the batch is predicted in length-sorted chunks (less padding on a CPU).

    Example:
        >>> BatchingConfig(max_batch_size=32, max_delay_ms=5, chunk_size=8)
        BatchingConfig(max_batch_size=32, max_delay_ms=5.0, chunk_size=8)
    """

    max_batch_size: int = Field(default=32, ge=1)
    max_delay_ms: float = Field(default=5.0, ge=0)
    chunk_size: int | None = Field(default=None, ge=1)


class AutoScalingPolicy(_Model):
    """Target tracking on invocations per instance per minute (and optionally CPU).

    Desired instances = ceil(current x metric / target), within ``[min, max]``; scale-out waits
    ``scale_out_cooldown_s`` after the last scale-out, scale-in waits ``scale_in_cooldown_s``
    after any scaling. The metric is averaged over the last ``window_s`` seconds.

    Example:
        >>> AutoScalingPolicy(max_instances=4, target_invocations_per_instance_per_minute=600)
        ... # doctest: +ELLIPSIS
        AutoScalingPolicy(min_instances=1, max_instances=4, ...)
    """

    min_instances: int = Field(default=1, ge=1)
    max_instances: int = Field(default=4, ge=1)
    target_invocations_per_instance_per_minute: float | None = Field(default=None, gt=0)
    target_cpu_percent: float | None = Field(default=None, gt=0, le=100)
    scale_out_cooldown_s: float = Field(default=30.0, ge=0)
    scale_in_cooldown_s: float = Field(default=60.0, ge=0)
    window_s: float = Field(default=30.0, gt=0)

    @model_validator(mode="after")
    def _check(self) -> AutoScalingPolicy:
        if self.min_instances > self.max_instances:
            raise ValueError(
                f"min_instances {self.min_instances} > max_instances {self.max_instances}"
            )
        if (
            self.target_invocations_per_instance_per_minute is None
            and self.target_cpu_percent is None
        ):
            raise ValueError(
                "give target_invocations_per_instance_per_minute and/or target_cpu_percent"
            )
        return self


class ProductionVariant(_Model):
    """A variant: a model (or pipeline, or multi-model set) served by N worker processes.

    Args:
        name: the variant name (``X-Sagebox-Target-Variant`` selects it).
        model: a registered model; or give ``pipeline`` or ``multi_model`` instead.
        pipeline: an inference pipeline (steps run in order, served as one model).
        multi_model: many models behind this variant, loaded on demand.
        instance_count: worker processes.
        instance_type: what each worker asks of a cluster node when the compute backend is a
            cluster (``local`` = 1 CPU, the default; ``local:N``; or an ``ml.*`` type, see
            :func:`sagebox.jobs.instances.resources_for`). Ignored when workers run locally.
        initial_weight: share of traffic relative to the other variants' weights.
        batching: server-side dynamic batching in each worker.
        autoscaling: a target-tracking policy for ``instance_count``.

    Example:
        >>> ProductionVariant(name="v1", model="reviews-v1", instance_count=2).initial_weight
        1.0
    """

    name: _Name = "AllTraffic"
    model: _Name | None = None
    pipeline: list[PipelineStep] | None = None
    multi_model: MultiModelConfig | None = None
    instance_count: int = Field(default=1, ge=1, le=64)
    instance_type: str | None = None
    initial_weight: float = Field(default=1.0, ge=0)
    batching: BatchingConfig | None = None
    autoscaling: AutoScalingPolicy | None = None

    @field_validator("instance_type")
    @classmethod
    def _known_type(cls, value: str | None) -> str | None:
        if value is not None:
            from sagebox.jobs.instances import resources_for

            try:
                resources_for(value)
            except InputDataError as exc:
                raise ValueError(f"{exc.message} ({exc.hint})") from None
        return value

    @model_validator(mode="after")
    def _one_source(self) -> ProductionVariant:
        given = [x is not None for x in (self.model, self.pipeline, self.multi_model)]
        if sum(given) != 1:
            raise ValueError(
                f"variant {self.name} needs exactly one of model, pipeline, multi_model"
            )
        if self.pipeline is not None and not any(s.model for s in self.pipeline):
            raise ValueError(f"the pipeline of variant {self.name} has no model step")
        return self

    def model_names(self) -> list[str]:
        """Registered models this variant serves (pipeline steps included)."""
        if self.model is not None:
            return [self.model]
        return [s.model for s in self.pipeline or [] if s.model]


class ShadowVariant(ProductionVariant):
    """A variant that receives a mirrored share of live traffic; its answers are never returned.

    Example:
        >>> ShadowVariant(name="v2-shadow", model="reviews-v2", sampling_percentage=50)
        ... # doctest: +ELLIPSIS
        ShadowVariant(name='v2-shadow', ...)
    """

    sampling_percentage: float = Field(default=100.0, gt=0, le=100)


class BanditConfig(_Model):
    """Multi-armed bandit routing over the production variants.

    ``thompson`` samples a Beta(successes + 1, failures + 1) per variant; ``epsilon-greedy``
    explores with probability ``epsilon``. Rewards in [0, 1] are posted per inference id.

    Example:
        >>> BanditConfig(algorithm="epsilon-greedy", epsilon=0.2).epsilon
        0.2
    """

    algorithm: Literal["thompson", "epsilon-greedy"] = "thompson"
    epsilon: float = Field(default=0.1, ge=0, le=1)
    seed: int | None = None


class DataCaptureConfig(_Model):
    """Capture a sample of requests and responses as JSON lines in the lake.

    Records land under ``{destination}/{endpoint}/{variant}/YYYY/MM/DD/HH/``.

    Example:
        >>> DataCaptureConfig(sampling_percentage=20).destination
        'datacapture'
    """

    enabled: bool = True
    sampling_percentage: float = Field(default=100.0, ge=0, le=100)
    destination: str = "datacapture"
    capture_input: bool = True
    capture_output: bool = True
    flush_records: int = Field(default=200, ge=1)
    flush_seconds: float = Field(default=1.0, gt=0)


class Alarm(_Model):
    """An alarm on the new fleet's metrics during a deployment's bake time.

    ``error_rate`` is the share of 5xx answers; latencies are milliseconds. The alarm fires when
    the value over the last ``window_s`` seconds exceeds ``threshold`` with at least
    ``min_invocations`` requests in that window.

    Example:
        >>> Alarm(metric="error_rate", threshold=0.05).min_invocations
        10
    """

    name: str = ""
    metric: Literal["error_rate", "p99_latency_ms", "model_latency_p99_ms"] = "error_rate"
    threshold: float = Field(ge=0)
    window_s: float = Field(default=10.0, gt=0)
    min_invocations: int = Field(default=10, ge=1)


class TrafficRouting(_Model):
    """How traffic moves to the new fleet: at once, a canary then the rest, or linear steps.

    Sizes are fractions of traffic in (0, 1]; waits are seconds of bake time per step.

    Example:
        >>> TrafficRouting(type="CANARY", canary_size=0.1, wait_interval_s=30).type
        'CANARY'
    """

    type: Literal["ALL_AT_ONCE", "CANARY", "LINEAR"] = "ALL_AT_ONCE"
    canary_size: float = Field(default=0.1, gt=0, le=1)
    linear_step_size: float = Field(default=0.25, gt=0, le=1)
    wait_interval_s: float = Field(default=10.0, ge=0)

    def fractions(self) -> list[float]:
        """The traffic shares of the new fleet, step by step, ending at 1.0."""
        if self.type == "ALL_AT_ONCE":
            return [1.0]
        if self.type == "CANARY":
            return [self.canary_size, 1.0] if self.canary_size < 1 else [1.0]
        steps, share = [], 0.0
        while share < 1.0 - 1e-9:
            share = min(1.0, share + self.linear_step_size)
            steps.append(round(share, 6))
        return steps


class DeploymentConfig(_Model):
    """Blue/green update policy with automatic rollback.

    Example:
        >>> policy = DeploymentConfig(
        ...     traffic_routing=TrafficRouting(type="CANARY", canary_size=0.2, wait_interval_s=5),
        ...     alarms=[Alarm(metric="error_rate", threshold=0.05)],
        ... )
    """

    traffic_routing: TrafficRouting = TrafficRouting()
    termination_wait_s: float = Field(default=0.0, ge=0)
    alarms: list[Alarm] = []
    auto_rollback: bool = True
    maximum_execution_timeout_s: float = Field(default=900.0, gt=0)


class EndpointConfig(_Model):
    """Everything an endpoint serves and how.

    Example:
        >>> config = EndpointConfig(
        ...     variants=[
        ...         ProductionVariant(name="v1", model="reviews-v1", initial_weight=1),
        ...         ProductionVariant(name="v2", model="reviews-v2", initial_weight=1),
        ...     ],
        ...     data_capture=DataCaptureConfig(sampling_percentage=10),
        ... )
        >>> [v.name for v in config.variants]
        ['v1', 'v2']
    """

    variants: list[ProductionVariant] = Field(min_length=1)
    shadow_variants: list[ShadowVariant] = []
    routing: Literal["weighted", "bandit"] = "weighted"
    bandit: BanditConfig = BanditConfig()
    data_capture: DataCaptureConfig | None = None
    max_payload_bytes: int = Field(default=6 * 1024 * 1024, ge=1)
    request_timeout_s: float = Field(default=60.0, gt=0)

    @model_validator(mode="after")
    def _check(self) -> EndpointConfig:
        names = [v.name for v in [*self.variants, *self.shadow_variants]]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate variant name(s): {', '.join(duplicates)}")
        if sum(v.initial_weight for v in self.variants) <= 0:
            raise ValueError("at least one production variant needs a weight > 0")
        return self

    def variant(self, name: str) -> ProductionVariant:
        """The production or shadow variant called ``name``. Raises KeyError."""
        for v in [*self.variants, *self.shadow_variants]:
            if v.name == name:
                return v
        raise KeyError(name)

    def model_names(self) -> list[str]:
        """Every registered model the config refers to."""
        out: list[str] = []
        for v in [*self.variants, *self.shadow_variants]:
            out.extend(m for m in v.model_names() if m not in out)
        return out

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (what is stored on the record)."""
        return self.model_dump(mode="json", exclude_none=True)


M = TypeVar("M", bound=BaseModel)


class TransformConfig(BaseModel):
    """A batch transform, in SageMaker's terms.

    Locally, ``max_concurrent_transforms`` worker processes answer the requests. On a cluster
    (a compute backend with a data engine: Ray), ``instance_count`` pool workers (Ray actors,
    each holding what ``instance_type`` reserves: ``local`` is one CPU, see
    :func:`sagebox.jobs.instances.resources_for`; spread over the nodes) each load the model
    once and answer them.

    Example:
        >>> TransformConfig(model="reviews-v1", input="raw/reviews.csv", output="scored/",
        ...                 content_type="text/csv", header=True, input_filter="$[4]",
        ...                 join_source="Input").batch_strategy
        'MultiRecord'
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str
    input: str
    output: str
    content_type: Literal["text/csv", "application/jsonlines", "text/plain"] | None = None
    split_type: Literal["Line", "None"] = "Line"
    batch_strategy: Literal["MultiRecord", "SingleRecord"] = "MultiRecord"
    max_payload_mb: float = Field(default=6.0, gt=0, le=100)
    max_records_per_request: int = Field(default=500, ge=1)
    max_concurrent_transforms: int = Field(default=2, ge=1, le=32)
    instance_count: int = Field(default=1, ge=1, le=64)
    instance_type: str = "local"
    header: bool = False
    join_source: Literal["None", "Input"] = "None"
    input_filter: str = "$"
    output_filter: str = "$"
    request_timeout_s: float = Field(default=300.0, gt=0)


def parse_config(kind: type[M], data: Any, what: str = "endpoint config") -> M:
    """Validate ``data`` (a dict or a JSON string) as ``kind``.

    Raises:
        InputDataError: naming the first bad field and why.
    """
    try:
        if isinstance(data, str | bytes):
            return kind.model_validate_json(data)
        return kind.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        message = str(err["msg"]).removeprefix("Value error, ")
        raise InputDataError(
            f"invalid {what} at {where}: {message}",
            hint="see docs/serving.md for the fields and their allowed values",
        ) from exc
