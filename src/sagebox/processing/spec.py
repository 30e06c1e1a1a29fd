"""What a processing job reads and writes: SageMaker's ``ProcessingInput``/``ProcessingOutput``.

Container paths (``/opt/ml/processing/input/<name>``, ``/opt/ml/processing/output/<name>``)
are where a processing script expects its data, as in a SageMaker container; sagebox maps
them to a local directory per worker (see :mod:`sagebox.processing.job`).

Example:
    >>> ProcessingInput("raw/reviews/", input_name="data", distribution="ShardedByKey")
    ProcessingInput(source='raw/reviews/', destination='/opt/ml/processing/input/data', ...)
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sagebox.errors import InputDataError

__all__ = [
    "CONTAINER_ROOT",
    "DISTRIBUTIONS",
    "UPLOAD_MODES",
    "ProcessingEnvironment",
    "ProcessingInput",
    "ProcessingOutput",
    "container_to_local",
    "normal_distribution",
]

#: every input and output path of a processing container lies below this
CONTAINER_ROOT = "/opt/ml/processing"
DISTRIBUTIONS = ("FullyReplicated", "ShardedByKey")
#: SageMaker's spellings, accepted wherever a distribution is read
_DISTRIBUTION_ALIASES = {"ShardedByS3Key": "ShardedByKey"}
UPLOAD_MODES = ("EndOfJob", "Continuous")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def _container_path(path: str, what: str) -> str:
    normal = posixpath.normpath(path)
    if not normal.startswith(CONTAINER_ROOT + "/") or ".." in normal.split("/"):
        raise InputDataError(
            f"{what} {path!r} is not below {CONTAINER_ROOT}/",
            hint=f"use a container path such as {CONTAINER_ROOT}/input/data",
        )
    return normal


def _check_name(name: str, what: str) -> str:
    if not _NAME.match(name):
        raise InputDataError(
            f"invalid {what} name {name!r}",
            hint="use letters, digits, - and _ (starting with a letter or digit)",
        )
    return name


@dataclass
class ProcessingInput:
    """Data copied into every worker (or split among them) before the script starts.

    Args:
        source: lake key, URI or prefix of the data (an object or a "folder"), or a local
            file or directory (uploaded to ``jobs/<job>/input/<name>/`` on submission).
        destination: container path (default ``/opt/ml/processing/input/<name>``).
        input_name: the input's name (default: the destination's last part, or ``input-N``).
        distribution: ``FullyReplicated`` (every worker gets everything) or ``ShardedByKey``
            (the objects are dealt out among the workers, by sorted key); SageMaker's
            ``ShardedByS3Key`` is accepted as ``ShardedByKey``.
        s3_data_distribution_type: SageMaker's name for ``distribution``.

    Example:
        >>> ProcessingInput("raw/", destination="/opt/ml/processing/input/data").input_name
        'data'
    """

    source: str
    destination: str | None = None
    input_name: str | None = None
    distribution: str = "FullyReplicated"
    s3_data_distribution_type: str | None = None

    def __post_init__(self) -> None:
        if self.s3_data_distribution_type is not None:
            self.distribution = self.s3_data_distribution_type
            self.s3_data_distribution_type = None
        self.distribution = normal_distribution(self.distribution)
        if not isinstance(self.source, str) or not self.source:
            raise InputDataError("a processing input needs a source", hint="give a lake URI")
        if self.destination is not None:
            self.destination = _container_path(self.destination, "input destination")
            self.input_name = self.input_name or posixpath.basename(self.destination)
        if self.input_name is not None:
            _check_name(self.input_name, "input")


@dataclass
class ProcessingOutput:
    """Files a worker writes below a container path, uploaded to the lake.

    Args:
        source: container path the script writes to (default
            ``/opt/ml/processing/output/<name>``).
        destination: lake key or URI prefix (default ``jobs/<job>/output/<name>/``).
        output_name: the output's name (default: the source's last part, or ``output-N``).
        upload_mode: ``EndOfJob`` (upload once every worker succeeded) or ``Continuous``
            (upload each file as soon as it is complete, while the job runs).
        s3_upload_mode: SageMaker's name for ``upload_mode``.

    Example:
        >>> ProcessingOutput(output_name="train", upload_mode="Continuous").source
        '/opt/ml/processing/output/train'
    """

    source: str | None = None
    destination: str | None = None
    output_name: str | None = None
    upload_mode: str = "EndOfJob"
    s3_upload_mode: str | None = None

    def __post_init__(self) -> None:
        if self.s3_upload_mode is not None:
            self.upload_mode = self.s3_upload_mode
            self.s3_upload_mode = None
        if self.upload_mode not in UPLOAD_MODES:
            raise InputDataError(
                f"unknown output upload mode {self.upload_mode!r}",
                hint=f"use one of: {', '.join(UPLOAD_MODES)}",
            )
        if self.source is not None:
            self.source = _container_path(self.source, "output source")
            self.output_name = self.output_name or posixpath.basename(self.source)
        if self.output_name is not None:
            _check_name(self.output_name, "output")
            self.source = self.source or f"{CONTAINER_ROOT}/output/{self.output_name}"


def normal_distribution(distribution: str) -> str:
    """``distribution`` in sagebox's spelling (``ShardedByS3Key`` → ``ShardedByKey``).

    Raises:
        InputDataError: if it is not a known distribution.
    """
    normal = _DISTRIBUTION_ALIASES.get(distribution, distribution)
    if normal not in DISTRIBUTIONS:
        raise InputDataError(
            f"unknown input distribution {distribution!r}",
            hint=f"use one of: {', '.join(DISTRIBUTIONS)} (or ShardedByS3Key)",
        )
    return normal


def complete(
    inputs: list[ProcessingInput], outputs: list[ProcessingOutput]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Fill in default names and paths; check names and paths are unique.

    Returns:
        The inputs and outputs as JSON-friendly dicts (job parameters).

    Raises:
        InputDataError: duplicate names, or a path used twice.
    """
    ins, outs = [], []
    for n, item in enumerate(inputs, start=1):
        name = item.input_name or f"input-{n}"
        dest = item.destination or f"{CONTAINER_ROOT}/input/{name}"
        ins.append({**asdict(item), "input_name": name, "destination": dest})
    for n, out in enumerate(outputs, start=1):
        name = out.output_name or f"output-{n}"
        src = out.source or f"{CONTAINER_ROOT}/output/{name}"
        outs.append({**asdict(out), "output_name": name, "source": src})
    for kind, items, key in (("input", ins, "input_name"), ("output", outs, "output_name")):
        names = [i[key] for i in items]
        dupes = sorted({x for x in names if names.count(x) > 1})
        if dupes:
            raise InputDataError(
                f"duplicate {kind} name(s) {', '.join(dupes)}", hint=f"name each {kind} once"
            )
    paths = [i["destination"] for i in ins] + [o["source"] for o in outs]
    for i, a in enumerate(paths):
        for b in paths[i + 1 :]:
            if a == b or a.startswith(b + "/") or b.startswith(a + "/"):
                raise InputDataError(
                    f"container paths {a} and {b} overlap",
                    hint="give every input and output its own directory",
                )
    return ins, outs


def container_to_local(root: Path, path: str) -> Path:
    """Where container path ``path`` (``/opt/ml/...``) lives under a worker's ``root``."""
    return root / path.lstrip("/")


@dataclass
class ProcessingEnvironment:
    """What a processing function (``Processor.run(code=callable)``) receives.

    Attributes:
        job_name: the processing job.
        host: this worker's name (``algo-1``, ``algo-2``, ...).
        hosts: every worker's name.
        inputs: input name → local directory holding this worker's share of it.
        outputs: output name → local directory to write into.
        arguments: the job's arguments.
        root: local directory standing for the container's ``/``.

    Example:
        >>> def count_rows(env: ProcessingEnvironment) -> None:
        ...     import pandas as pd
        ...     files = sorted(env.inputs["data"].glob("*.csv"))
        ...     n = sum(len(pd.read_csv(f)) for f in files)
        ...     (env.outputs["counts"] / f"{env.host}.txt").write_text(str(n))
    """

    job_name: str
    host: str
    hosts: list[str]
    inputs: dict[str, Path] = field(default_factory=dict)
    outputs: dict[str, Path] = field(default_factory=dict)
    arguments: list[str] = field(default_factory=list)
    root: Path = Path("/")

    @property
    def rank(self) -> int:
        """This worker's index in ``hosts``."""
        return self.hosts.index(self.host)

    @property
    def instance_count(self) -> int:
        """How many workers the job has."""
        return len(self.hosts)
