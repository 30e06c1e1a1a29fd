"""The Ray Data batch mapper (``backends/compute/ray_data.py``) on a one-CPU local Ray.

A local Ray instance of this test process (``ray.init(address="local", num_cpus=1)``, its own
temp dir, no dashboard) stands in for the cluster: the mapper's mechanics (dataset, actor pool,
order, errors) are the same; tests/cluster/test_transform_cluster.py runs it on two nodes.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from sagebox.backends.compute.base import Resources
from sagebox.errors import InputDataError, JobError
from tests.fixtures.local_ray import local_ray  # noqa: F401

pytestmark = pytest.mark.usefixtures("local_ray")


class Upper:
    """A predictor that names the object that built it (to see one build per actor)."""

    def __init__(self) -> None:
        self.token = b"%d-%d" % (os.getpid(), id(self))

    def __call__(self, payload: bytes) -> bytes:
        if payload == b"bad":
            raise InputDataError("payload 'bad' is bad", hint="send a good one")
        return self.token + b":" + payload.upper()


def upper_factory() -> Callable[[bytes], bytes]:
    return Upper()


def failing_factory() -> Callable[[bytes], bytes]:
    raise InputDataError("the model cannot load", hint="fix the package")


def test_answers_come_back_in_order_from_one_predictor_per_actor() -> None:
    from sagebox.backends.compute.ray_data import RayDataMapper

    payloads = [b"record %d" % i for i in range(40)]
    answers = RayDataMapper().map(payloads, upper_factory, 1, Resources(cpus=1))
    assert [a.split(b":", 1)[1] for a in answers] == [p.upper() for p in payloads]
    assert len({a.split(b":", 1)[0] for a in answers}) == 1  # built once, on the one actor


def test_a_predictor_error_reaches_the_caller_as_itself() -> None:
    from sagebox.backends.compute.ray_data import RayDataMapper

    # half a CPU each: pytest's log capture keeps Ray Data's error records, whose tracebacks
    # hold a failed execution and so its pool's actor until the test session ends (a job
    # runner keeps no such records; run with -p no:logging and they go at once)
    with pytest.raises(InputDataError, match="payload 'bad' is bad") as raised:
        RayDataMapper().map([b"ok", b"bad"], upper_factory, 1, Resources(cpus=0.5))
    assert raised.value.hint == "send a good one"
    with pytest.raises(JobError, match="InputDataError: the model cannot load"):
        RayDataMapper().map([b"ok"], failing_factory, 1, Resources(cpus=0.5))


def test_nothing_to_map_and_a_bad_pool_size() -> None:
    from sagebox.backends.compute.ray_data import RayDataMapper

    assert RayDataMapper().map([], upper_factory, 1, Resources()) == []
    with pytest.raises(JobError, match="0 workers"):
        RayDataMapper().map([b"x"], upper_factory, 0, Resources())


def test_a_pool_the_cluster_cannot_hold_fails_with_what_it_asked() -> None:
    from sagebox.backends.compute.ray_data import RayDataMapper

    mapper = RayDataMapper(start_timeout=5)
    with pytest.raises(JobError, match=r"1 x \(1 CPU, 1 GPU\) did not start within 5 s"):
        mapper.map([b"x"], upper_factory, 1, Resources(cpus=1, gpus=1))
