"""The two-node Ray cluster for the Ray compute-backend tests."""

from tests.fixtures.ray import ray_cluster  # noqa: F401
