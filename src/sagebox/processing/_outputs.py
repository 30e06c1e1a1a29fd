"""Upload a processing job's outputs from its workers' directories to the lake.

``EndOfJob`` outputs are uploaded once, after every worker succeeded. ``Continuous`` outputs
are uploaded while the job runs: a file is uploaded when it has kept the same size and
modification time for one poll (so that a file still being written is not caught half-way),
and again whenever it changes; the rest is uploaded at the end.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sagebox.errors import JobError

if TYPE_CHECKING:
    from sagebox.jobs.context import JobContext
    from sagebox.processing._layout import WorkerLayout

__all__ = ["OutputUploader"]


class OutputUploader:
    """Knows each output's destination and which files went up already.

    Example:
        >>> uploader = OutputUploader(ctx, outputs, layouts)  # doctest: +SKIP
        >>> uploader.poll(); uploads = uploader.finish()  # doctest: +SKIP
    """

    def __init__(
        self, ctx: JobContext, outputs: list[dict[str, Any]], layouts: list[WorkerLayout]
    ) -> None:
        self.ctx = ctx
        self.outputs = outputs
        self.layouts = layouts
        self.prefixes = {
            o["output_name"]: self._prefix(o.get("destination"), o["output_name"]) for o in outputs
        }
        self._seen: dict[Path, tuple[int, int]] = {}
        self._uploaded: dict[Path, tuple[int, int]] = {}
        self._owner: dict[str, Path] = {}

    def _prefix(self, destination: str | None, name: str) -> str:
        if destination:
            return self.ctx.session.key_for(destination).rstrip("/")
        return f"jobs/{self.ctx.job.name}/output/{name}"

    def _files(self, names: set[str]) -> list[tuple[str, str, Path]]:
        """(output name, relative path, local file) of the outputs named."""
        found = []
        for layout in self.layouts:
            for name in sorted(names):
                directory = layout.outputs[name]
                for path in sorted(p for p in directory.rglob("*") if p.is_file()):
                    found.append((name, path.relative_to(directory).as_posix(), path))
        return found

    def _upload(self, name: str, relative: str, path: Path, stamp: tuple[int, int]) -> None:
        key = f"{self.prefixes[name]}/{relative}"
        owner = self._owner.setdefault(key, path)
        if owner != path:
            raise JobError(
                f"two workers wrote the same output file {name}/{relative}",
                hint="write worker-specific file names, e.g. include the host "
                "(SAGEBOX_PROCESSING_HOST) in the name",
            )
        self.ctx.session.storage.upload(path, key)
        self._uploaded[path] = stamp

    def poll(self) -> None:
        """Upload the continuous outputs' files that are complete and new or changed."""
        names = {o["output_name"] for o in self.outputs if o["upload_mode"] == "Continuous"}
        if not names:
            return
        for name, relative, path in self._files(names):
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            stamp = (stat.st_size, stat.st_mtime_ns)
            stable = self._seen.get(path) == stamp
            self._seen[path] = stamp
            if stable and self._uploaded.get(path) != stamp:
                self._upload(name, relative, path, stamp)

    def finish(self) -> dict[str, str]:
        """Upload what is left, record the outputs; return output name → lake URI."""
        from sagebox.backends.metadata.base import ArtifactRecord
        from sagebox.jobs.context import file_sha256

        storage = self.ctx.session.storage
        files = self._files({o["output_name"] for o in self.outputs})
        for name, relative, path in files:
            stat = path.stat()
            stamp = (stat.st_size, stat.st_mtime_ns)
            if self._uploaded.get(path) != stamp:
                self._upload(name, relative, path, stamp)
        metadata = self.ctx.session.metadata
        for name, relative, path in files:
            metadata.add_artifact(
                ArtifactRecord(
                    uri=storage.url(f"{self.prefixes[name]}/{relative}"),
                    kind="processing-output",
                    sha256=file_sha256(path),
                    size=path.stat().st_size,
                    producer_job=self.ctx.job.name,
                    properties={"output": name},
                )
            )
        uris = {name: storage.url(prefix) + "/" for name, prefix in self.prefixes.items()}
        job = metadata.get_job(self.ctx.job.name)
        self.ctx.job = metadata.update_job(job.name, outputs={**job.outputs, **uris})
        counts: dict[str, int] = {}
        for name, _, _ in files:
            counts[name] = counts.get(name, 0) + 1
        for name in self.prefixes:
            self.ctx.log(f"output {name}: {counts.get(name, 0)} file(s) → {uris[name]}")
        return uris
