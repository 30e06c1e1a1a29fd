"""The admin token of ``sagebox serve``: made at first start, kept owner-only under the home.

Every server and client sharing a ``SAGEBOX_HOME`` share one token, in
``$SAGEBOX_HOME/serving/admin-token`` (mode 0600). The server requires it on the admin API as
``Authorization: Bearer <token>``; the CLI and :class:`~sagebox.serving.EndpointClient` read it
from the same file. Whoever can read that file can administer the endpoints.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

__all__ = ["FAULT_INJECTION_ENV", "admin_token", "read_admin_token", "token_path"]

FAULT_INJECTION_ENV = "SAGEBOX_ENABLE_FAULT_INJECTION"
"""Set to 1 (in the server's environment) to allow fault injection, as for tests and drills."""


def token_path(home: Path) -> Path:
    """Where the admin token of servers using ``home`` is kept."""
    return home / "serving" / "admin-token"


def read_admin_token(home: Path) -> str | None:
    """The admin token, or None if no server has made one yet."""
    try:
        token = token_path(home).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return token or None


def admin_token(home: Path) -> str:
    """The admin token, made (owner-only, atomically) if there is none yet."""
    token = read_admin_token(home)
    if token is not None:
        return token
    path = token_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        path.parent.chmod(0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_urlsafe(32) + "\n")
        # A link fails if another server made the token first: then both use that one.
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    token = read_admin_token(home)
    assert token is not None
    return token
