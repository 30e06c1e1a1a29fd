"""Register packaged models by name (the SageMaker ``CreateModel`` equivalent)."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

from sagebox.backends.metadata.base import ModelRecord
from sagebox.errors import InputDataError
from sagebox.models.artifacts import sha256_file, verify_archive, written_sha256
from sagebox.models.package import read_manifest, unpack_model
from sagebox.names import check_resource_name
from sagebox.session import Session

__all__ = ["ModelClient"]


class ModelClient:
    """Create, list, describe and delete model records.

    Example:
        >>> models = ModelClient(Session())
        >>> models.create("reviews-model", training_job="training-20261127-...")
    """

    def __init__(self, session: Session | None = None) -> None:
        self.session = session or Session()

    def create(
        self, name: str, training_job: str | None = None, artifact_uri: str | None = None
    ) -> ModelRecord:
        """Register the model.tar.gz of ``training_job`` (or at ``artifact_uri``) as ``name``.

        The archive is opened and its manifest checked before anything is recorded; its
        SHA-256 is recorded with it, and every later load (endpoints, batch transform,
        evaluation, clarify, edge export) refuses an archive that no longer matches. An archive
        a job wrote must still be the one the job recorded.

        Raises:
            InputDataError: if ``name`` breaks the resource-name rule (:mod:`sagebox.names`),
                neither or both sources are given, or the job has no model.
            AlreadyExistsError: if the name is taken.
            ArtifactIntegrityError: if the archive differs from the one its job wrote.
        """
        check_resource_name("model", name)
        if (training_job is None) == (artifact_uri is None):
            raise InputDataError(
                "give exactly one of a training job or an artifact URI",
                hint="use --job NAME or --artifact URI",
            )
        if training_job is not None:
            job = self.session.metadata.get_job(training_job)
            artifact_uri = job.outputs.get("model")
            if artifact_uri is None:
                raise InputDataError(
                    f"job {training_job} produced no model (status {job.status.value})",
                    hint="pick a completed training job",
                )
        assert artifact_uri is not None
        with tempfile.TemporaryDirectory() as tmp:
            archive = self.session.storage.download(
                self.session.key_for(artifact_uri), Path(tmp) / "model.tar.gz"
            )
            digest = sha256_file(archive)
            written = written_sha256(self.session, artifact_uri)
            if written is not None:
                verify_archive(
                    archive,
                    written,
                    f"the model archive {artifact_uri}",
                    "re-run the job that wrote it (the lake copy changed since)",
                )
            manifest = read_manifest(unpack_model(archive, Path(tmp) / "model"))
        return self.session.metadata.create_model(
            ModelRecord(
                name=name,
                artifact_uri=artifact_uri,
                manifest=manifest,
                source_job=training_job,
                created_at=datetime.now(UTC),
                sha256=digest,
            )
        )

    def get(self, name: str) -> ModelRecord:
        """One model record. Raises NotFoundError."""
        return self.session.metadata.get_model(name)

    def list(self) -> list[ModelRecord]:
        """All model records, newest first."""
        return self.session.metadata.list_models()

    def delete(self, name: str) -> None:
        """Delete the record (the artifact stays in the lake)."""
        check_resource_name("model", name)
        self.session.metadata.delete_model(name)
