"""Verified model archives: every load of a ``model.tar.gz`` from the lake goes through here.

A model package holds code (``code/inference.py``) and model files, so loading one runs what
it holds. Its SHA-256 is recorded in the metadata store when it is registered
(:meth:`ModelClient.create <sagebox.models.ModelClient.create>`) or written by a job (the
lineage record of ``JobContext.put_output``); :func:`fetch_verified` and
:func:`fetch_verified_uri` download the archive, hash it, and unpack it only if the digest is
the recorded one. A mismatch raises :class:`~sagebox.errors.ArtifactIntegrityError` and nothing
is unpacked or loaded. The trust model is in ``docs/security.md``.

Example:
    >>> model_dir = fetch_verified(session, "reviews-model", Path("work"))  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from sagebox.backends.metadata.base import ModelRecord
from sagebox.config import make_private_dir
from sagebox.errors import ArtifactIntegrityError, SageboxError
from sagebox.models.package import unpack_model
from sagebox.session import Session

__all__ = [
    "fetch_verified",
    "fetch_verified_uri",
    "recorded_sha256",
    "sha256_file",
    "verify_archive",
    "written_sha256",
]

ARCHIVE_NAME = "model.tar.gz"


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's content."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_archive(archive: Path, expected: str, what: str, hint: str) -> None:
    """Raise :class:`ArtifactIntegrityError` unless ``archive`` hashes to ``expected``.

    Args:
        archive: the downloaded file.
        expected: the hex SHA-256 recorded for it.
        what: how to name it in the error (``model 'reviews' (lake://...)``).
        hint: what to do on a mismatch.
    """
    actual = sha256_file(archive)
    if actual != expected:
        raise ArtifactIntegrityError(
            f"{what} is not the archive that was recorded: SHA-256 {actual} where "
            f"{expected} was recorded; it was not loaded",
            hint=hint,
        )


def recorded_sha256(session: Session, uri: str) -> str | None:
    """The SHA-256 recorded for the archive at ``uri``, or None.

    ``uri`` may be a lake key or a URI in the lake. The newest registered model of that
    archive wins; else the newest lineage record (a job's output, an upload recorded by the
    CLI) of that URI.
    """
    key = session.key_for(uri)
    for model in session.metadata.list_models():  # newest first
        if model.sha256 and _key_or_none(session, model.artifact_uri) == key:
            return model.sha256
    return written_sha256(session, uri)


def written_sha256(session: Session, uri: str) -> str | None:
    """The SHA-256 of the newest lineage record of ``uri`` (what a job wrote there), or None."""
    url = session.storage.url(session.key_for(uri))
    for artifact in reversed(session.metadata.list_artifacts(uri=url)):  # newest first
        if artifact.sha256:
            return artifact.sha256
    return None


def _key_or_none(session: Session, uri: str) -> str | None:
    try:
        return session.key_for(uri)
    except SageboxError:  # a record of a URI outside today's lake
        return None


def fetch_verified(session: Session, model: str | ModelRecord, workdir: Path) -> Path:
    """Download registered ``model``'s archive into ``workdir``, verify it, unpack it.

    Returns ``workdir/model`` (the unpacked package). ``workdir`` is emptied first; the
    archive itself is removed once unpacked.

    Raises:
        NotFoundError: if no such model is registered.
        ArtifactIntegrityError: if the archive's SHA-256 is not the recorded one (or none was
            recorded), before anything is unpacked.
        InputDataError: if the archive is not a model package.
    """
    record = model if isinstance(model, ModelRecord) else session.metadata.get_model(model)
    expected = record.sha256 or recorded_sha256(session, record.artifact_uri)
    register = (
        f"re-register the model: sagebox models delete {record.name} && sagebox models create "
        f"{record.name} --artifact <the archive you trust>"
    )
    if expected is None:
        raise ArtifactIntegrityError(
            f"model {record.name!r} ({record.artifact_uri}) has no recorded SHA-256 (registered "
            "by an older sagebox); it was not loaded",
            hint=register,
        )
    return _fetch(
        session,
        record.artifact_uri,
        expected,
        f"model {record.name!r} ({record.artifact_uri})",
        register,
        workdir,
    )


def fetch_verified_uri(session: Session, uri: str, workdir: Path) -> Path:
    """Like :func:`fetch_verified` for an archive known by URI (a job output, a lake key).

    The expected digest is :func:`recorded_sha256` of the URI.

    Raises:
        ArtifactIntegrityError: if no SHA-256 is recorded for ``uri`` or the archive differs.
        InputDataError: if the archive is not a model package.
    """
    expected = recorded_sha256(session, uri)
    hint = f"register it (sagebox models create NAME --artifact {uri}) or re-run its job"
    if expected is None:
        raise ArtifactIntegrityError(
            f"the model archive {uri} has no recorded SHA-256: sagebox loads only archives that "
            "a job wrote or that were registered; it was not loaded",
            hint=hint,
        )
    return _fetch(session, uri, expected, f"the model archive {uri}", hint, workdir)


def _fetch(session: Session, uri: str, expected: str, what: str, hint: str, workdir: Path) -> Path:
    shutil.rmtree(workdir, ignore_errors=True)
    make_private_dir(workdir)  # owner-only, like everything under SAGEBOX_HOME
    archive = session.storage.download(session.key_for(uri), workdir / ARCHIVE_NAME)
    try:
        verify_archive(archive, expected, what, hint)
        # unpacked aside, then renamed: a crash leaves no half-unpacked "model" to reuse
        unpack_model(archive, workdir / ".model.partial").rename(workdir / "model")
        return workdir / "model"
    finally:
        archive.unlink(missing_ok=True)
