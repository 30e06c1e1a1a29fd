"""What a job's processes need when they run on other machines than the submitter.

On a compute backend that does not share the submitter's file system
(:attr:`ComputeBackend.shares_filesystem` is False: a Ray cluster), three rules hold:

- every node reaches the same lake and metadata store: :func:`check_cluster_settings` refuses
  a local ``file://`` lake or a ``sqlite`` database before a job is created;
- a task gets the submitter's settings in its environment (:func:`task_env`) except
  ``SAGEBOX_HOME``, a local directory of the submitter's machine;
- a task makes itself a private, node-local home (:func:`node_home`) for its logs and work
  directories and removes it when it exits, so nothing it does touches the submitter's home.

Example:
    >>> from sagebox.config import load_settings
    >>> settings = load_settings(env={"SAGEBOX_HOME": "/tmp/sb"}, toml_path=None)
    >>> task_env(settings, shares_filesystem=True)["SAGEBOX_HOME"]
    '/tmp/sb'
    >>> "SAGEBOX_HOME" in task_env(settings, shares_filesystem=False)
    False
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from sagebox.config import PRIVATE_DIR_MODE, Settings
from sagebox.errors import ConfigError

__all__ = [
    "NODE_HOME_FLAG",
    "ONLINE_STORE_KINDS",
    "check_cluster_settings",
    "node_home",
    "node_log_path",
    "task_env",
]

#: the command-line flag with which a runner or node task makes its own node-local home
NODE_HOME_FLAG = "--node-home"

#: job kinds that write to the feature store's online store
ONLINE_STORE_KINDS = frozenset({"review-features"})

#: settings that name a place on the submitter's machine, never given to a cluster task
_LOCAL_ONLY = frozenset({"home"})


def check_cluster_settings(settings: Settings, *, online_store: bool = False) -> None:
    """Refuse settings that nodes of a cluster cannot share.

    Args:
        settings: the submitter's settings.
        online_store: also check the online store (for kinds in :data:`ONLINE_STORE_KINDS`).

    Raises:
        ConfigError: naming the setting, why nodes cannot share it and the fix.
    """
    scheme = settings.storage_uri.partition("://")[0].lower()
    if scheme == "file" or "://" not in settings.storage_uri:
        raise ConfigError(
            f"storage_uri={settings.storage_uri} is a local folder, which the nodes of the "
            f"cluster {settings.compute} cannot share",
            hint="set SAGEBOX_STORAGE_URI to an S3 lake (s3://bucket/prefix, with "
            "SAGEBOX_S3_ENDPOINT_URL for MinIO or another S3-compatible server)",
        )
    if settings.metadata_uri.lower().startswith("sqlite"):
        raise ConfigError(
            f"metadata_uri={settings.metadata_uri} is a SQLite file, which the nodes of the "
            f"cluster {settings.compute} cannot share",
            hint="set SAGEBOX_METADATA_URI to a PostgreSQL store (postgresql://user@host:5432/db)",
        )
    if online_store and settings.online_store_uri.lower().startswith("sqlite"):
        raise ConfigError(
            f"online_store_uri={settings.online_store_uri} is a SQLite file, which the nodes "
            f"of the cluster {settings.compute} cannot share",
            hint="set SAGEBOX_ONLINE_STORE_URI to a Redis store (redis://host:6379/0)",
        )


def task_env(settings: Settings, *, shares_filesystem: bool) -> dict[str, str]:
    """The ``SAGEBOX_*`` environment that gives a task the submitter's settings.

    Every setting with a value is passed, so that a task reads neither a ``sagebox.toml`` of
    its own working directory nor a default. ``SAGEBOX_HOME`` is passed only when the task
    shares the submitter's file system; elsewhere the task makes its own
    (:func:`node_home`).

    Args:
        settings: the submitter's settings.
        shares_filesystem: whether the task sees the submitter's files (the compute
            backend's :attr:`~sagebox.backends.compute.base.ComputeBackend.shares_filesystem`).
    """
    env: dict[str, str] = {}
    for name, value in settings.model_dump().items():
        if value is None or (not shares_filesystem and name in _LOCAL_ONLY):
            continue
        env[f"SAGEBOX_{name.upper()}"] = str(value)
    return env


def node_log_path(name: str) -> Path:
    """The :attr:`TaskSpec.log_path` of a cluster task: a file of its node's temp dir.

    A cluster backend may keep a copy of a task's output there, on whichever node runs it;
    the job's log proper is the one in the lake. ``name`` is a job name, or a job name plus
    a suffix of name characters.
    """
    return Path(tempfile.gettempdir()) / f"sagebox-task-{name}.log"


@contextlib.contextmanager
def node_home(prefix: str = "sagebox-node-") -> Iterator[Path]:
    """A private (0700) temporary ``SAGEBOX_HOME`` for this process, removed at exit.

    ``os.environ["SAGEBOX_HOME"]`` points at it while the context lasts, so a
    :class:`~sagebox.session.Session` made inside, and every child process, use it. It lies in
    the node's temp dir (``TMPDIR``).
    """
    home = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(home, PRIVATE_DIR_MODE)
    previous = os.environ.get("SAGEBOX_HOME")
    os.environ["SAGEBOX_HOME"] = str(home)
    try:
        yield home
    finally:
        if previous is None:
            os.environ.pop("SAGEBOX_HOME", None)
        else:
            os.environ["SAGEBOX_HOME"] = previous
        shutil.rmtree(home, ignore_errors=True)
