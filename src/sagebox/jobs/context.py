"""What a running job sees: its record, the session, a work directory and ways to report."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sagebox.backends.metadata.base import ArtifactRecord, JobRecord, MetricPoint
from sagebox.names import check_resource_name
from sagebox.session import Session

__all__ = ["JobContext", "lake_log_key", "local_log_path"]


@dataclass
class JobContext:
    """Passed to every job function by the job runner.

    Example:
        >>> def run_my_job(ctx: JobContext) -> None:
        ...     ctx.log_metric("rows", 42)
        ...     ctx.put_output("result", ctx.workdir / "result.json", "jobs/me/result.json")
    """

    job: JobRecord
    session: Session
    workdir: Path

    @property
    def parameters(self) -> dict[str, Any]:
        """The job's parameters."""
        return self.job.parameters

    def log(self, message: str) -> None:
        """Write one line to the job log."""
        print(message, flush=True)

    def log_metric(self, name: str, value: float, step: int | None = None) -> None:
        """Record a metric point on the job's time series (and print it to the log)."""
        self.log(f"metric {name}={value:.6g}" + (f" step={step}" if step is not None else ""))
        metadata = self.session.metadata
        metadata.add_metric_points(self.job.name, [MetricPoint(name, float(value), step)])
        self.job = metadata.get_job(self.job.name)

    def input_path(self, channel: str) -> Path:
        """Download input ``channel`` (a lake key or URI) into the work dir; return its path."""
        uri = self.job.inputs[channel]
        key = self.session.key_for(uri)
        local = self.workdir / "input" / channel / Path(key).name
        self.session.storage.download(key, local)
        return local

    def input_dir(self, channel: str) -> Path:
        """Download input ``channel`` into ``<workdir>/input/data/<channel>/``; return the dir.

        The channel is a lake key or URI of one object or of a prefix ("directory"), whose
        objects are downloaded with their paths below the prefix (SageMaker's channel layout).

        Raises:
            InputDataError: if the channel is not an input of the job or holds no data.
        """
        from sagebox.errors import InputDataError

        if channel not in self.job.inputs:
            raise InputDataError(
                f"the job has no input channel {channel!r}",
                hint=f"its channels are: {', '.join(sorted(self.job.inputs)) or 'none'}",
            )
        uri = self.job.inputs[channel]
        key = self.session.key_for(uri)
        storage = self.session.storage
        dest = self.workdir / "input" / "data" / channel
        if key and storage.exists(key):
            storage.download(key, dest / Path(key).name)
            return dest
        prefix = key.rstrip("/") + "/" if key else ""
        infos = [i for i in storage.list(prefix) if not i.key.endswith("/")]
        if not infos:
            raise InputDataError(
                f"input channel {channel!r} has no data at {uri}",
                hint="check the URI (sagebox lake ls) or upload the data first",
            )
        for info in infos:
            storage.download(info.key, dest / info.key[len(prefix) :])
        return dest

    def put_output(self, name: str, local_path: Path, key: str, kind: str = "file") -> str:
        """Upload a local file to the lake, record it as an output artifact; return its URI."""
        storage = self.session.storage
        storage.upload(local_path, key)
        uri = storage.url(key)
        self.session.metadata.add_artifact(
            ArtifactRecord(
                uri=uri,
                kind=kind,
                sha256=file_sha256(local_path),
                size=local_path.stat().st_size,
                producer_job=self.job.name,
            )
        )
        self.job = self.session.metadata.update_job(
            self.job.name, outputs={**self.job.outputs, name: uri}
        )
        return uri

    def output_key(self, filename: str) -> str:
        """The conventional lake key for this job's output ``filename``."""
        return f"jobs/{self.job.name}/output/{filename}"


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's content."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def local_log_path(session: Session, name: str) -> Path:
    """Where the local compute backend writes a job's combined output.

    Raises:
        InputDataError: if ``name`` is not a valid job name (it must not leave ``jobs_dir``).
    """
    return session.settings.jobs_dir / check_resource_name("job", name) / "output.log"


def lake_log_key(name: str) -> str:
    """The lake key of a job's log (uploaded by its runner; on a cluster, also while it runs).

    Raises:
        InputDataError: if ``name`` is not a valid job name.
    """
    return f"jobs/{check_resource_name('job', name)}/output.log"
