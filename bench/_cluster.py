"""The cluster profile of the scale-out benchmarks: moto S3, PostgreSQL, two-node Ray.

The same services as the cluster tests (the classes of ``tests/fixtures``), started on this
machine: moto's S3 server, a throwaway PostgreSQL and a two-node Ray cluster on 127.0.0.1 with
one CPU per node. Needs ``ray``, ``moto[server]`` and PostgreSQL's binaries (as ``make test``);
run the benchmarks from the repository root.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

__all__ = ["cluster_profile"]


@contextlib.contextmanager
def cluster_profile() -> Iterator[dict[str, str]]:
    """Start moto S3, PostgreSQL and a two-node Ray cluster (1 CPU each); yield the settings.

    The settings are the environment variables of the cluster profile (``SAGEBOX_*``, with a
    throwaway ``SAGEBOX_HOME``). Uses the test fixtures' classes, so it runs from a checkout.
    """
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from tests.fixtures.postgres import PostgresServer, find_postgres_bin
    from tests.fixtures.ray import RayCluster
    from tests.fixtures.s3 import DUMMY_CREDENTIALS, MotoServer

    ray_program = shutil.which("ray", path=str(Path(sys.executable).parent)) or shutil.which("ray")
    bin_dir = find_postgres_bin()
    if ray_program is None or bin_dir is None:
        raise SystemExit("the bench's own cluster needs 'ray' and PostgreSQL; or give --compute")
    os.environ.update(DUMMY_CREDENTIALS)  # before the Ray nodes start: they inherit them
    home = Path(tempfile.mkdtemp(prefix="sb-bench-home-"))
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, home, True)
        s3 = MotoServer()
        s3.start()
        stack.callback(s3.stop)
        postgres = PostgresServer(bin_dir)
        postgres.start()
        stack.callback(postgres.stop)
        cluster = RayCluster(ray_program)
        stack.callback(cluster.stop)
        cluster.start()
        yield {
            "SAGEBOX_HOME": str(home),
            "SAGEBOX_STORAGE_URI": f"s3://sb-bench-{secrets.token_hex(4)}/lake",
            "SAGEBOX_S3_ENDPOINT_URL": s3.endpoint_url,
            "SAGEBOX_METADATA_URI": postgres.create_database("sb_bench"),
            "SAGEBOX_COMPUTE": cluster.uri,
        }
