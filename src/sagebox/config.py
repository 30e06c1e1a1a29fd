"""Settings: environment ``SAGEBOX_*`` > ``./sagebox.toml`` (its profile) > defaults.

``sagebox.toml`` holds settings at its top level (or in a ``[sagebox]`` table) and may name
*profiles*, tables ``[profiles.NAME]`` of settings that override the top level when the profile
is chosen with ``SAGEBOX_PROFILE=NAME``: one file describes the laptop and the cluster::

    max_workers = 2                      # the laptop: everything local, no service

    [profiles.cluster]                   # SAGEBOX_PROFILE=cluster
    storage_uri = "s3://reviews-lake/sagebox"
    metadata_uri = "postgresql+psycopg://sagebox@db.internal:5432/sagebox"
    online_store_uri = "redis://cache.internal:6379/0"
    compute = "ray://ray-head.internal:8265"

Example:
    >>> from sagebox.config import load_settings
    >>> settings = load_settings(env={"SAGEBOX_HOME": "/tmp/sb"}, toml_path=None)
    >>> settings.storage_uri
    'file:///tmp/sb/lake'
"""

from __future__ import annotations

import contextlib
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from sagebox.errors import ConfigError

__all__ = [
    "PRIVATE_DIR_MODE",
    "PRIVATE_FILE_MODE",
    "Settings",
    "create_private_file",
    "create_private_database",
    "load_settings",
    "make_private_dir",
    "settings_sources",
]

#: what sagebox creates under ``SAGEBOX_HOME`` (and in a local lake) is owner-only
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600

ENV_PREFIX = "SAGEBOX_"
TOML_NAME = "sagebox.toml"
#: environment variable choosing a ``[profiles.NAME]`` table of ``sagebox.toml``
PROFILE_ENV = "SAGEBOX_PROFILE"


class Settings(BaseModel):
    """Where sagebox keeps its data and which backends it uses.

    Attributes:
        home: local working directory for logs, the default lake and the default database.
        storage_uri: root of the data lake: ``file:///path`` or ``s3://bucket/prefix``.
        metadata_uri: SQLAlchemy URL of the metadata store: ``sqlite:///path`` or
            ``postgresql://user@host:port/db``.
        compute: compute backend: ``local`` (process pool) or ``ray://host:port``.
        max_workers: parallel jobs (worker slots), claimed atomically in the metadata store.
        job_lease_seconds: how long a job runner's lease lasts without renewal; a job whose
            runner has not renewed it for this long is marked Failed by whoever looks next.
        job_heartbeat_seconds: how often a job runner renews its lease (below the lease).
        log_upload_seconds: on a cluster (a compute backend that does not share the
            submitter's files), how often a running job's log and its synced directories
            (checkpoints, debugger output) are uploaded to the lake when they changed.
        capacity_timeout_seconds: on a cluster, how long a multi-node job waits for its
            ``instance_count`` slots (distinct nodes with the instance type's CPUs, memory and
            GPUs free) before it fails, naming what it asked and what the cluster has.
        s3_endpoint_url: endpoint of an S3-compatible server (MinIO, moto, Ceph); empty for AWS.
        s3_region: region passed to the S3 client.
        online_store_uri: the feature store's online store: ``sqlite:///path`` or
            ``redis://host:port/db``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    home: Path
    storage_uri: str
    metadata_uri: str
    compute: str = "local"
    max_workers: int = 2
    job_lease_seconds: float = Field(default=30.0, gt=0)
    job_heartbeat_seconds: float = Field(default=5.0, gt=0)
    log_upload_seconds: float = Field(default=5.0, gt=0)
    capacity_timeout_seconds: float = Field(default=600.0, gt=0)
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    online_store_uri: str = ""

    @field_validator("job_heartbeat_seconds")
    @classmethod
    def _heartbeat_within_lease(cls, value: float, info: ValidationInfo) -> float:
        lease = info.data.get("job_lease_seconds")
        if lease is not None and value >= lease:
            raise ValueError(
                f"must be below job_lease_seconds ({lease}), or leases expire between beats"
            )
        return value

    @property
    def jobs_dir(self) -> Path:
        """Local directory holding job working directories and logs."""
        return self.home / "jobs"


_FIELDS = (
    "home",
    "storage_uri",
    "metadata_uri",
    "compute",
    "max_workers",
    "job_lease_seconds",
    "job_heartbeat_seconds",
    "log_upload_seconds",
    "capacity_timeout_seconds",
    "s3_endpoint_url",
    "s3_region",
    "online_store_uri",
)


def settings_sources(
    env: Mapping[str, str] | None = None, toml_path: Path | None = Path(TOML_NAME)
) -> dict[str, tuple[Any, str]]:
    """Resolve every setting and say where its value came from.

    The source is ``env``, ``toml``, ``profile NAME`` (a ``[profiles.NAME]`` table chosen by
    ``SAGEBOX_PROFILE``) or ``default``.

    Args:
        env: environment to read (defaults to ``os.environ``).
        toml_path: config file to read; ``None`` skips it.

    Raises:
        ConfigError: if the TOML file is malformed, names unknown settings, or the chosen
            profile is not in it.
    """
    env = os.environ if env is None else env
    profile = env.get(PROFILE_ENV) or None
    file_values = _read_toml(toml_path, profile) if toml_path is not None else {}
    if profile is not None and toml_path is None:
        raise ConfigError(
            f"{PROFILE_ENV}={profile!r} is set but no {TOML_NAME} is read",
            hint=f"unset {PROFILE_ENV}, or run where {TOML_NAME} defines [profiles.{profile}]",
        )
    resolved: dict[str, tuple[Any, str]] = {}
    for name in _FIELDS:
        env_value = env.get(ENV_PREFIX + name.upper())
        if env_value not in (None, ""):
            resolved[name] = (env_value, "env")
        elif name in file_values:
            resolved[name] = file_values[name]
    home = Path(str(resolved.get("home", ("./.sagebox", "default"))[0])).expanduser().absolute()
    resolved["home"] = (home, resolved.get("home", (None, "default"))[1])
    resolved.setdefault("storage_uri", (f"file://{home / 'lake'}", "default"))
    resolved.setdefault("metadata_uri", (f"sqlite:///{home / 'sagebox.db'}", "default"))
    resolved.setdefault("online_store_uri", (f"sqlite:///{home / 'online_store.db'}", "default"))
    for name, field in Settings.model_fields.items():
        if name not in resolved:
            resolved[name] = (field.default, "default")
    return resolved


def load_settings(
    env: Mapping[str, str] | None = None, toml_path: Path | None = Path(TOML_NAME)
) -> Settings:
    """Build :class:`Settings` from the environment, ``sagebox.toml`` and defaults.

    Raises:
        ConfigError: if a value is invalid (names the setting and how to fix it).
    """
    values = {name: value for name, (value, _) in settings_sources(env, toml_path).items()}
    try:
        return Settings(**values)
    except ValidationError as exc:
        err = exc.errors()[0]
        name = ".".join(str(p) for p in err["loc"])
        raise ConfigError(
            f"invalid setting {name}={err.get('input')!r}: {err['msg']}",
            hint=f"fix {ENV_PREFIX}{name.upper()} or '{name}' in {TOML_NAME}",
        ) from exc


def _read_toml(path: Path, profile: str | None = None) -> dict[str, tuple[Any, str]]:
    """The file's settings (with the chosen profile's on top), each with its source."""
    if not path.is_file():
        if profile is not None:
            raise ConfigError(
                f"{PROFILE_ENV}={profile!r} is set but {path} does not exist",
                hint=f"create {path} with a [profiles.{profile}] table, or unset {PROFILE_ENV}",
            )
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot parse {path}: {exc}", hint="fix the TOML syntax") from exc
    profiles = data.pop("profiles", {})
    data = dict(data.get("sagebox", data))
    profiles = data.pop("profiles", profiles)
    if not isinstance(profiles, dict) or not all(isinstance(v, dict) for v in profiles.values()):
        raise ConfigError(
            f"'profiles' in {path} must be tables [profiles.NAME]",
            hint="write each profile as [profiles.NAME] followed by its settings",
        )
    _check_known(data, str(path))
    values: dict[str, tuple[Any, str]] = {k: (v, "toml") for k, v in data.items()}
    if profile is None:
        return values
    if profile not in profiles:
        raise ConfigError(
            f"profile {profile!r} ({PROFILE_ENV}) is not in {path}",
            hint=f"its profiles: {', '.join(sorted(profiles)) or 'none'}; "
            f"add [profiles.{profile}] or fix {PROFILE_ENV}",
        )
    _check_known(profiles[profile], f"[profiles.{profile}] of {path}")
    values.update({k: (v, f"profile {profile}") for k, v in profiles[profile].items()})
    return values


def _check_known(values: Mapping[str, Any], where: str) -> None:
    unknown = sorted(set(values) - set(_FIELDS))
    if unknown:
        raise ConfigError(
            f"unknown setting(s) {', '.join(unknown)} in {where}",
            hint=f"known settings: {', '.join(_FIELDS)}",
        )


def make_private_dir(path: Path) -> Path:
    """``mkdir -p path``, every directory it creates owner-only (0700) whatever the umask.

    Directories that exist already keep their mode (the user may have made them).

    Returns:
        ``path``.
    """
    path = Path(path)
    missing: list[Path] = []
    probe = path
    while not probe.is_dir() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, PRIVATE_DIR_MODE)
        except FileExistsError:
            if not directory.is_dir():
                raise
            continue  # made meanwhile by another process, which made it private too
        os.chmod(directory, PRIVATE_DIR_MODE)  # mkdir's mode went through the umask
    return path


def create_private_file(path: Path, flags: int = os.O_WRONLY | os.O_APPEND) -> int:
    """Open ``path`` (created owner-only, 0600, if missing, its directory too); a descriptor.

    An existing file is made owner-only as well where the user may change its mode: it is one
    of sagebox's own (logs, specs, databases).

    Args:
        path: the file.
        flags: ``os.open`` flags besides ``O_CREAT`` (default: append for writing).
    """
    path = Path(path)
    make_private_dir(path.parent)
    fd = os.open(path, flags | os.O_CREAT, PRIVATE_FILE_MODE)
    with contextlib.suppress(OSError):  # not ours to change (another owner): leave it
        os.fchmod(fd, PRIVATE_FILE_MODE)
    return fd


def create_private_database(path: Path) -> None:
    """Create an empty owner-only (0600) database file at ``path`` unless one exists.

    SQLite then keeps the mode, and gives it to the database's ``-wal`` and ``-shm`` files. An
    existing file is never opened here: closing any descriptor of a database file drops every
    POSIX lock this process holds on it, its SQLite connections' locks included.
    """
    path = Path(path)
    make_private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, PRIVATE_FILE_MODE)
    finally:
        os.close(fd)
