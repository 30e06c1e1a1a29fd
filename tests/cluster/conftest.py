"""The services of the cluster-profile tests: moto S3, PostgreSQL and a two-node Ray cluster.

Registered once here for every module of ``tests/cluster`` (a module that imported the fixture
functions itself would get a session-scoped cluster of its own, alive beside this one). A test
asks for ``s3_server`` before ``ray_cluster``: the Ray nodes inherit the dummy AWS credentials
that the S3 fixture puts in the environment when they start after it, as a real cluster's
nodes have credentials of their own.
"""

from tests.fixtures.postgres import postgres_server, postgres_url  # noqa: F401
from tests.fixtures.ray import ray_cluster  # noqa: F401
from tests.fixtures.s3 import s3_server  # noqa: F401
