"""Registry of job kinds: a kind names the function the job runner calls with a JobContext."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sagebox._registry import Registry

if TYPE_CHECKING:
    from sagebox.jobs.context import JobContext

__all__ = ["COORDINATOR_KINDS", "JobFunction", "job_kinds"]

JobFunction = Callable[["JobContext"], None]

job_kinds: Registry[None] = Registry("job kind")
job_kinds.register("command", "sagebox.jobs.command:run_command_job")
job_kinds.register("prepare-reviews", "sagebox.processing.reviews:run_prepare_job")
job_kinds.register("processing", "sagebox.processing.job:run_processing_job")
job_kinds.register("review-features", "sagebox.processing.review_features:run_review_features_job")
job_kinds.register("training", "sagebox.training.job:run_training_job")
job_kinds.register("evaluation", "sagebox.evaluation.job:run_evaluation_job")
job_kinds.register("clarify", "sagebox.clarify.job:run_clarify_job")
job_kinds.register("crawler", "sagebox.catalog.crawler.job:run_crawler_job")
job_kinds.register("batch-transform", "sagebox.serving._transform.job:run_transform_job")
job_kinds.register("tuning", "sagebox.tuning.job:run_tuning_job")

#: kinds that only start and follow other jobs: they hold no worker slot (their children
#: would wait for it), see :meth:`MetadataStore.claim_job_slot`
COORDINATOR_KINDS = frozenset({"tuning"})
