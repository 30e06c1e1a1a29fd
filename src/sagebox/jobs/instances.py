"""What one instance of a job asks of a cluster node, read from its ``instance_type``.

A job's ``instance_type`` becomes the :class:`~sagebox.backends.compute.base.Resources` of each
of its ``instance_count`` slots when the job runs on a cluster:

- ``local``: 1 CPU (the cheapest slot; on the local backend nothing is reserved anyway);
- ``local:N``: N CPUs;
- ``ml.*``: the CPUs, memory and GPUs of that SageMaker instance type, from
  :data:`ML_INSTANCE_TYPES` (AWS's published sizes of the common types; a type not in the
  table is refused with the list, give ``local:N`` instead).

Example:
    >>> resources_for("local:2")
    Resources(cpus=2.0, memory_bytes=0, gpus=0.0)
    >>> resources_for("ml.g5.xlarge").gpus
    1.0
"""

from __future__ import annotations

from sagebox.backends.compute.base import Resources
from sagebox.errors import InputDataError

__all__ = ["ML_INSTANCE_TYPES", "resources_for"]

_GIB = 1024**3

#: SageMaker's published sizes of common instance types: (vCPUs, memory GiB, GPUs).
#: Source: the "Amazon SageMaker pricing" instance tables (vCPU, memory and accelerator
#: columns); sagebox does not emulate the hardware, it reserves that much on a node.
ML_INSTANCE_TYPES: dict[str, tuple[int, int, int]] = {
    "ml.t3.medium": (2, 4, 0),
    "ml.t3.large": (2, 8, 0),
    "ml.t3.xlarge": (4, 16, 0),
    "ml.m5.large": (2, 8, 0),
    "ml.m5.xlarge": (4, 16, 0),
    "ml.m5.2xlarge": (8, 32, 0),
    "ml.m5.4xlarge": (16, 64, 0),
    "ml.m5.12xlarge": (48, 192, 0),
    "ml.m5.24xlarge": (96, 384, 0),
    "ml.c5.large": (2, 4, 0),
    "ml.c5.xlarge": (4, 8, 0),
    "ml.c5.2xlarge": (8, 16, 0),
    "ml.c5.4xlarge": (16, 32, 0),
    "ml.c5.9xlarge": (36, 72, 0),
    "ml.c5.18xlarge": (72, 144, 0),
    "ml.r5.large": (2, 16, 0),
    "ml.r5.xlarge": (4, 32, 0),
    "ml.r5.2xlarge": (8, 64, 0),
    "ml.g4dn.xlarge": (4, 16, 1),
    "ml.g4dn.2xlarge": (8, 32, 1),
    "ml.g4dn.12xlarge": (48, 192, 4),
    "ml.g5.xlarge": (4, 16, 1),
    "ml.g5.2xlarge": (8, 32, 1),
    "ml.g5.12xlarge": (48, 192, 4),
    "ml.g5.48xlarge": (192, 768, 8),
    "ml.p3.2xlarge": (8, 61, 1),
    "ml.p3.8xlarge": (32, 244, 4),
    "ml.p3.16xlarge": (64, 488, 8),
    "ml.p4d.24xlarge": (96, 1152, 8),
    "ml.p5.48xlarge": (192, 2048, 8),
}


def resources_for(instance_type: str) -> Resources:
    """The resources one instance of ``instance_type`` reserves on a cluster node.

    Raises:
        InputDataError: if the type is not ``local``, ``local:N`` or an ``ml.*`` type of
            :data:`ML_INSTANCE_TYPES`.
    """
    if instance_type == "local":
        return Resources(cpus=1.0)
    name, sep, count = instance_type.partition(":")
    if name == "local" and sep and count.isdigit() and int(count) >= 1:
        return Resources(cpus=float(int(count)))
    if instance_type in ML_INSTANCE_TYPES:
        cpus, gib, gpus = ML_INSTANCE_TYPES[instance_type]
        return Resources(cpus=float(cpus), memory_bytes=gib * _GIB, gpus=float(gpus))
    known = ", ".join(sorted(ML_INSTANCE_TYPES))
    raise InputDataError(
        f"instance_type={instance_type!r} has no known size on a cluster",
        hint=f"use 'local' (1 CPU), 'local:N' (N CPUs) or one of: {known}",
    )
