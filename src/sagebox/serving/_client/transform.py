"""Batch transform, client side: submit a ``batch-transform`` job (``CreateTransformJob``).

The job runner runs it with :func:`sagebox.serving._transform.job.run_transform_job`.
"""

from __future__ import annotations

from typing import Any

from sagebox.serving.config import TransformConfig
from sagebox.session import Session

__all__ = ["TransformClient"]


class TransformClient:
    """Start batch transform jobs.

    Example:
        >>> job = TransformClient(Session()).run(
        ...     "reviews-v1", "raw/reviews.csv", "scored/", content_type="text/csv",
        ...     header=True, input_filter="$[4]", join_source="Input")
        >>> job.status
        <JobStatus.COMPLETED: 'Completed'>
    """

    def __init__(self, session: Session | None = None) -> None:
        self.session = session or Session()

    def run(self, model: str, input: str, output: str, wait: bool = True, **options: Any) -> Any:
        """Submit a ``batch-transform`` job (and wait for it unless ``wait=False``).

        Raises:
            InputDataError: on invalid options or filters (or, on a cluster, an
                ``instance_type`` without a known size).
            NotFoundError: if the model is not registered.
        """
        from sagebox.jobs import JobClient
        from sagebox.serving._transform.records import JsonPath
        from sagebox.serving.config import parse_config

        config = parse_config(
            TransformConfig,
            {"model": model, "input": input, "output": output, **options},
            "transform config",
        )
        JsonPath(config.input_filter)
        JsonPath(config.output_filter)
        if not self.session.compute.shares_filesystem:  # the pool's workers reserve this much
            from sagebox.jobs.instances import resources_for

            resources_for(config.instance_type)
        self.session.metadata.get_model(model)
        jobs = JobClient(self.session)
        job = jobs.submit(
            "batch-transform", parameters={"transform": config.model_dump(mode="json")}
        )
        return jobs.wait(job.name) if wait else job
